"""virtio-net (virtio 1.1 §5.1) on a host tap device, or on no network (transmitted frames dropped).

Frames carry the 12-byte virtio_net_hdr of VIRTIO_F_VERSION_1; no offloads are offered, so the
header is zeros both ways but for num_buffers = 1 on received frames. The board calls ``poll`` between CPU quanta to pick up received frames.
"""

from __future__ import annotations

import fcntl
import os
import struct

from .virtio_mmio import VirtioDevice

RECEIVEQ, TRANSMITQ = 0, 1
VIRTIO_NET_F_MAC = 1 << 5
NET_HDR_SIZE = 12
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
RX_HEADER = bytes(NET_HDR_SIZE - 2) + (1).to_bytes(2, "little")   # num_buffers = 1
DEFAULT_MAC = bytes.fromhex("525400123456")
MAX_FRAME = 65550


class TapBackend:
    """A host tap interface opened through /dev/net/tun (needs CAP_NET_ADMIN or an owned tap)."""

    def __init__(self, name: str) -> None:
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        try:
            fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
        except OSError:
            os.close(self.fd)
            raise

    def send(self, frame: bytes) -> None:
        try:
            os.write(self.fd, frame)
        except BlockingIOError:
            pass     # the host queue is full: the frame is lost, as on a real wire

    def receive(self) -> bytes | None:
        try:
            return os.read(self.fd, MAX_FRAME)
        except BlockingIOError:
            return None


class VirtioNet(VirtioDevice):
    """A network card with MAC ``mac`` on ``backend`` (None: not connected)."""

    device_id = 1
    queue_count = 2
    features = VIRTIO_NET_F_MAC

    def __init__(self, backend: TapBackend | None, mac: bytes = DEFAULT_MAC) -> None:
        self.backend, self.mac = backend, mac
        self.waiting: bytes | None = None

    def config(self) -> bytes:
        return self.mac

    def process(self, queue: int) -> None:
        ram = self.transport.ram
        if queue == TRANSMITQ:
            while (chain := self.transport.queues[TRANSMITQ].pop(ram)) is not None:
                frame = chain.read_all(ram)[NET_HDR_SIZE:]
                if self.backend is not None:
                    self.backend.send(frame)
                self.transport.complete(TRANSMITQ, chain, 0)
        else:
            self.poll()

    def poll(self) -> None:
        if self.backend is None or not self.transport.driver_ok:
            return
        ram, queue = self.transport.ram, self.transport.queues[RECEIVEQ]
        while True:
            frame = self.waiting if self.waiting is not None else self.backend.receive()
            if frame is None:
                return
            chain = queue.pop(ram)
            if chain is None:
                self.waiting = frame     # delivered once the driver posts a buffer
                return
            self.waiting = None
            self.transport.complete(RECEIVEQ, chain, chain.write_all(ram, RX_HEADER + frame))
