"""virtio-console (virtio 1.1 §5.3), one port: transmitq to ``output``, host input to receiveq."""

from __future__ import annotations

from collections.abc import Callable

from .virtio_mmio import VirtioDevice

RECEIVEQ, TRANSMITQ = 0, 1


class VirtioConsole(VirtioDevice):
    device_id = 3
    queue_count = 2

    def __init__(self, output: Callable[[bytes], None]) -> None:
        self.output = output
        self.incoming = bytearray()

    def config(self) -> bytes:
        return (80).to_bytes(2, "little") + (25).to_bytes(2, "little") + (1).to_bytes(4, "little")

    def reset(self) -> None:
        self.incoming.clear()

    def receive(self, data: bytes) -> None:
        """Bytes typed for the guest: delivered as soon as it has posted receive buffers."""
        self.incoming += data
        self.poll()

    def process(self, queue: int) -> None:
        ram = self.transport.ram
        if queue == TRANSMITQ:
            while (chain := self.transport.queues[TRANSMITQ].pop(ram)) is not None:
                self.output(chain.read_all(ram))
                self.transport.complete(TRANSMITQ, chain, 0)
        else:
            self.poll()

    def poll(self) -> None:
        ram = self.transport.ram
        while self.incoming and self.transport.driver_ok:
            chain = self.transport.queues[RECEIVEQ].pop(ram)
            if chain is None:
                return
            written = chain.write_all(ram, bytes(self.incoming))
            del self.incoming[:written]
            self.transport.complete(RECEIVEQ, chain, written)
