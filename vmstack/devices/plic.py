"""The RISC-V PLIC (platform-level interrupt controller) as on SiFive parts and QEMU's virt board.

Level-triggered sources 1..N set pending through the gateway; per context (a hart's M or S mode) an
enable bitmap and a priority threshold; claim returns the highest-priority pending enabled source
above the threshold (ties to the lowest number), complete re-arms the gateway. Each context drives one
output line (MEIP or SEIP of a hart).
"""

from __future__ import annotations

from .bus import IrqLine

PRIORITY_BASE, PENDING_BASE, ENABLE_BASE, CONTEXT_BASE = 0x0, 0x1000, 0x2000, 0x200000
ENABLE_STRIDE, CONTEXT_STRIDE = 0x80, 0x1000
PLIC_SIZE = 0x600000
PRIORITY_MASK = 7


class Plic:
    """``sources`` interrupt sources (1..sources) routed to one output line per context."""

    def __init__(self, sources: int, context_lines: list[IrqLine]) -> None:
        self.sources = sources
        self.context_lines = context_lines
        self.priority = [0] * (sources + 1)
        self.level = [False] * (sources + 1)
        self.pending = [False] * (sources + 1)
        self.claimed = [False] * (sources + 1)
        self.enable = [[False] * (sources + 1) for _ in context_lines]
        self.threshold = [0] * len(context_lines)

    def irq(self, source: int) -> IrqLine:
        """The line a device drives to raise interrupt ``source``."""
        if not 1 <= source <= self.sources:
            raise ValueError(f"no PLIC source {source}")

        def set_level(high: bool) -> None:
            if high != self.level[source]:
                self.level[source] = high
                self._gateway(source)
        return set_level

    def _gateway(self, source: int) -> None:
        self.pending[source] = self.level[source] and not self.claimed[source]
        self._update()

    def _best(self, context: int) -> int:
        best, best_priority = 0, self.threshold[context]
        enabled = self.enable[context]
        for source in range(1, self.sources + 1):
            if self.pending[source] and enabled[source] and self.priority[source] > best_priority:
                best, best_priority = source, self.priority[source]
        return best

    def _update(self) -> None:
        for context, line in enumerate(self.context_lines):
            line(self._best(context) != 0)

    def read(self, offset: int, width: int) -> int:
        if offset < PENDING_BASE:
            source = offset // 4
            return self.priority[source] if source <= self.sources else 0
        if offset < ENABLE_BASE:
            return self._bits(self.pending, (offset - PENDING_BASE) // 4)
        if offset < CONTEXT_BASE:
            context, word = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
            return self._bits(self.enable[context], word // 4) if context < len(self.enable) else 0
        context, register = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
        if context >= len(self.threshold):
            return 0
        if register == 0:
            return self.threshold[context]
        if register == 4:
            source = self._best(context)
            if source:
                self.pending[source], self.claimed[source] = False, True
                self._update()
            return source
        return 0

    def _bits(self, flags: list[bool], word: int) -> int:
        return sum(1 << bit for bit in range(32) if 0 < 32 * word + bit <= self.sources and flags[32 * word + bit])

    def write(self, offset: int, width: int, value: int) -> None:
        if offset < PENDING_BASE:
            source = offset // 4
            if 0 < source <= self.sources:
                self.priority[source] = value & PRIORITY_MASK
        elif ENABLE_BASE <= offset < CONTEXT_BASE:
            context, word = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
            if context < len(self.enable):
                for bit in range(32):
                    source = 32 * (word // 4) + bit
                    if 0 < source <= self.sources:
                        self.enable[context][source] = bool(value >> bit & 1)
        elif offset >= CONTEXT_BASE:
            context, register = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
            if context >= len(self.threshold):
                return
            if register == 0:
                self.threshold[context] = value & PRIORITY_MASK
            elif register == 4 and 0 < value <= self.sources and self.enable[context][value]:
                self.claimed[value] = False
                self._gateway(value)
                return
        self._update()
