"""virtio-rng (virtio 1.1 §5.4): fills the driver's buffers from the host's random source."""

from __future__ import annotations

import os

from .virtio_mmio import VirtioDevice


class VirtioRng(VirtioDevice):
    device_id = 4
    queue_count = 1

    def process(self, queue: int) -> None:
        ram = self.transport.ram
        while (chain := self.transport.queues[0].pop(ram)) is not None:
            self.transport.complete(0, chain, chain.write_all(ram, os.urandom(chain.writable_size())))
