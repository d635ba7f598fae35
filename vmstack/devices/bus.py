"""Guest physical address space: RAM as pages of bytes, MMIO devices at address ranges.

``GuestRam`` is the one abstraction of guest memory that boards, loaders and DMA-capable devices
share: a run of 4 KiB ``bytearray`` pages (so that a CPU's software TLB can hold a page itself).
``Bus`` dispatches a physical access to RAM or to the device whose range holds the address.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Protocol

PAGE_SIZE = 4096
PAGE_SHIFT = 12

IrqLine = Callable[[bool], None]
"""An interrupt line a device drives: called with True to raise it, False to lower it."""


class BusError(Exception):
    """A physical access that no RAM or device answers (an access fault for the CPU)."""

    def __init__(self, addr: int, access: str) -> None:
        super().__init__(f"no device at physical address {addr:#x} ({access})")
        self.addr = addr
        self.access = access


class MmioDevice(Protocol):
    def read(self, offset: int, width: int) -> int:
        """The value of a ``width``-byte register read at ``offset`` within the device's range."""

    def write(self, offset: int, width: int, value: int) -> None:
        """A ``width``-byte register write at ``offset``."""


class GuestRam:
    """``size`` bytes of guest RAM at physical address ``base``, as 4 KiB pages (each made, zeroed, when
    first asked for: a guest touches a small part of a large RAM)."""

    def __init__(self, base: int, size: int) -> None:
        if base % PAGE_SIZE or size % PAGE_SIZE or size <= 0:
            raise ValueError("guest RAM must be a positive whole number of pages at a page boundary")
        self.base, self.size, self.end = base, size, base + size
        self.first_page = base >> PAGE_SHIFT
        self.pages: list[bytearray | None] = [None] * (size >> PAGE_SHIFT)

    def contains(self, addr: int, n: int = 1) -> bool:
        return self.base <= addr and addr + n <= self.end

    def page(self, page_number: int) -> bytearray | None:
        """The page holding physical page number ``page_number``, or None outside RAM."""
        index = page_number - self.first_page
        if not 0 <= index < len(self.pages):
            return None
        data = self.pages[index]
        if data is None:
            data = self.pages[index] = bytearray(PAGE_SIZE)
        return data

    def _pieces(self, addr: int, n: int):
        if not self.contains(addr, n):
            raise BusError(addr, "dma")
        offset = addr - self.base
        while n > 0:
            index, start = divmod(offset, PAGE_SIZE)
            take = min(n, PAGE_SIZE - start)
            yield self.page(self.first_page + index), start, take
            offset += take
            n -= take

    def read(self, addr: int, n: int) -> bytes:
        return b"".join(bytes(page[start:start + take]) for page, start, take in self._pieces(addr, n))

    def write(self, addr: int, data: bytes) -> None:
        done = 0
        for page, start, take in self._pieces(addr, len(data)):
            page[start:start + take] = data[done:done + take]
            done += take

    def load(self, addr: int, width: int) -> int:
        return int.from_bytes(self.read(addr, width), "little")

    def store(self, addr: int, width: int, value: int) -> None:
        self.write(addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))


class Bus:
    """The physical address space of a board: one GuestRam plus MMIO devices at disjoint ranges."""

    def __init__(self, ram: GuestRam) -> None:
        self.ram = ram
        self._bases: list[int] = []
        self._ranges: list[tuple[int, int, MmioDevice]] = []

    def attach(self, base: int, size: int, device: MmioDevice) -> None:
        index = bisect.bisect(self._bases, base)
        neighbours = self._ranges[max(index - 1, 0):index + 1] + [(self.ram.base, self.ram.end, self.ram)]
        for start, end, _ in neighbours:
            if base < end and start < base + size:
                raise ValueError(f"device range {base:#x}+{size:#x} overlaps {start:#x}-{end:#x}")
        self._bases.insert(index, base)
        self._ranges.insert(index, (base, base + size, device))

    def device_at(self, addr: int) -> tuple[MmioDevice, int] | None:
        """The device whose range holds ``addr`` and the offset of addr in it."""
        index = bisect.bisect(self._bases, addr) - 1
        if index >= 0:
            start, end, device = self._ranges[index]
            if addr < end:
                return device, addr - start
        return None

    def read(self, addr: int, width: int) -> int:
        if self.ram.contains(addr, width):
            return self.ram.load(addr, width)
        found = self.device_at(addr)
        if found is None:
            raise BusError(addr, "r")
        return found[0].read(found[1], width)

    def write(self, addr: int, width: int, value: int) -> None:
        if self.ram.contains(addr, width):
            self.ram.store(addr, width, value)
            return
        found = self.device_at(addr)
        if found is None:
            raise BusError(addr, "w")
        found[0].write(found[1], width, value & ((1 << (8 * width)) - 1))
