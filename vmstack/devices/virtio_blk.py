"""virtio-blk (virtio 1.1 §5.2) backed by a raw image file, optionally read-only."""

from __future__ import annotations

import os

from .virtio_mmio import Chain, VirtioDevice

SECTOR = 512
VIRTIO_BLK_F_RO, VIRTIO_BLK_F_FLUSH = 1 << 5, 1 << 9
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
ID_BYTES = 20


class VirtioBlk(VirtioDevice):
    """A disk of the image at ``path`` (its size rounded down to whole sectors)."""

    device_id = 2
    queue_count = 1

    def __init__(self, path: str, readonly: bool = False) -> None:
        self.path, self.readonly = path, readonly
        self.fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
        self.sectors = os.fstat(self.fd).st_size // SECTOR
        self.features = VIRTIO_BLK_F_FLUSH | (VIRTIO_BLK_F_RO if readonly else 0)

    def close(self) -> None:
        os.close(self.fd)

    def config(self) -> bytes:
        return self.sectors.to_bytes(8, "little")

    def process(self, queue: int) -> None:
        ram = self.transport.ram
        while (chain := self.transport.queues[0].pop(ram)) is not None:
            self.transport.complete(0, chain, self._request(chain))

    def _request(self, chain: Chain) -> int:
        ram = self.transport.ram
        request = chain.read_all(ram)
        if len(request) < 16 or not chain.writable:
            return 0
        kind, sector = int.from_bytes(request[0:4], "little"), int.from_bytes(request[8:16], "little")
        status_addr, _ = chain.writable[-1]
        data_out = Chain(chain.head, writable=chain.writable[:-1])
        written, status = 0, S_OK
        if kind == T_IN:
            length = data_out.writable_size()
            if sector * SECTOR + length > self.sectors * SECTOR:
                status = S_IOERR
            else:
                written = data_out.write_all(ram, os.pread(self.fd, length, sector * SECTOR))
        elif kind == T_OUT:
            data = request[16:]
            if self.readonly or sector * SECTOR + len(data) > self.sectors * SECTOR:
                status = S_IOERR
            else:
                os.pwrite(self.fd, data, sector * SECTOR)
        elif kind == T_FLUSH:
            if not self.readonly:
                os.fsync(self.fd)
        elif kind == T_GET_ID:
            written = data_out.write_all(ram, os.path.basename(self.path).encode()[:ID_BYTES].ljust(ID_BYTES, b"\0"))
        else:
            status = S_UNSUPP
        ram.store(status_addr, 1, status)
        return written + 1
