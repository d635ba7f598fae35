"""The CLINT (SiFive core-local interruptor, as ACLINT MSWI + MTIMER): msip, mtimecmp and mtime.

mtime counts at ``frequency`` (10 MHz on the virt board) from a clock the board supplies. The CLINT
drives two lines per hart, machine software (msip) and machine timer (mtime >= mtimecmp); the board
calls ``update`` between CPU quanta so that the timer line follows the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .bus import IrqLine

MSIP_BASE, MTIMECMP_BASE, MTIME = 0x0, 0x4000, 0xBFF8
CLINT_SIZE = 0x10000
TIMEBASE_FREQUENCY = 10_000_000


def host_ticks(frequency: int = TIMEBASE_FREQUENCY) -> Callable[[], int]:
    """A clock counting ``frequency`` ticks a second of host monotonic time, from 0 now."""
    start = time.monotonic_ns()
    return lambda: (time.monotonic_ns() - start) * frequency // 1_000_000_000


def _merge(old: int, offset: int, width: int, value: int) -> int:
    """``old`` (a 64-bit register) with ``width`` bytes at byte ``offset`` replaced by value."""
    shift, mask = 8 * offset, (1 << (8 * width)) - 1
    return old & ~(mask << shift) & ((1 << 64) - 1) | (value & mask) << shift


class Clint:
    """msip and mtimecmp for ``len(software_lines)`` harts, and the shared mtime."""

    def __init__(self, software_lines: list[IrqLine], timer_lines: list[IrqLine],
                 clock: Callable[[], int]) -> None:
        self.software_lines, self.timer_lines, self.clock = software_lines, timer_lines, clock
        self.msip = [0] * len(software_lines)
        self.mtimecmp = [(1 << 64) - 1] * len(timer_lines)
        self.mtime_offset = 0

    @property
    def mtime(self) -> int:
        return (self.clock() + self.mtime_offset) & ((1 << 64) - 1)

    def update(self) -> None:
        """Drive the timer lines from the clock."""
        now = self.mtime
        for hart, line in enumerate(self.timer_lines):
            line(now >= self.mtimecmp[hart])

    def _register(self, offset: int) -> tuple[str, int, int] | None:
        """(kind, hart, byte offset within the register) for an offset, None when unused."""
        if offset < MTIMECMP_BASE:
            hart, sub = divmod(offset - MSIP_BASE, 4)
            return ("msip", hart, sub) if hart < len(self.msip) else None
        if offset >= MTIME:
            return "mtime", 0, offset - MTIME
        hart, sub = divmod(offset - MTIMECMP_BASE, 8)
        return ("mtimecmp", hart, sub) if hart < len(self.mtimecmp) else None

    def read(self, offset: int, width: int) -> int:
        found = self._register(offset)
        if found is None:
            return 0
        kind, hart, sub = found
        value = {"msip": lambda: self.msip[hart], "mtime": lambda: self.mtime,
                 "mtimecmp": lambda: self.mtimecmp[hart]}[kind]()
        return value >> (8 * sub) & ((1 << (8 * width)) - 1)

    def write(self, offset: int, width: int, value: int) -> None:
        found = self._register(offset)
        if found is None:
            return
        kind, hart, sub = found
        if kind == "msip":
            if sub == 0:
                self.msip[hart] = value & 1
                self.software_lines[hart](bool(value & 1))
        elif kind == "mtimecmp":
            self.mtimecmp[hart] = _merge(self.mtimecmp[hart], sub, width, value)
            self.update()
        else:
            self.mtime_offset = (_merge(self.mtime, sub, width, value) - self.clock()) & ((1 << 64) - 1)
            self.update()
