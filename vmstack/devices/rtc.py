"""The goldfish RTC: wall-clock nanoseconds since the epoch, and one alarm interrupt.

Reading TIME_LOW latches the high half for the next TIME_HIGH read. The alarm fires (its line rises)
once the clock passes it; the board calls ``update`` between CPU quanta.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .bus import IrqLine

TIME_LOW, TIME_HIGH, ALARM_LOW, ALARM_HIGH = 0x00, 0x04, 0x08, 0x0C
IRQ_ENABLED, CLEAR_ALARM, ALARM_STATUS, CLEAR_INTERRUPT = 0x10, 0x14, 0x18, 0x1C
RTC_SIZE = 0x1000


class GoldfishRtc:
    """The RTC on ``irq``; ``clock`` gives nanoseconds since the epoch (host wall clock by default)."""

    def __init__(self, irq: IrqLine, clock: Callable[[], int] = time.time_ns) -> None:
        self.irq, self.clock = irq, clock
        self.offset = 0
        self.latched_high = 0
        self.alarm: int | None = None
        self.alarm_high = 0
        self.irq_enabled = False
        self.interrupt = False

    def now(self) -> int:
        return self.clock() + self.offset

    def update(self) -> None:
        if self.alarm is not None and self.now() >= self.alarm:
            self.alarm = None
            self.interrupt = True
        self.irq(self.interrupt and self.irq_enabled)

    def read(self, offset: int, width: int) -> int:
        if offset == TIME_LOW:
            now = self.now()
            self.latched_high = now >> 32
            return now & 0xFFFFFFFF
        if offset == TIME_HIGH:
            return self.latched_high
        if offset == ALARM_STATUS:
            return int(self.alarm is not None)
        if offset == IRQ_ENABLED:
            return int(self.irq_enabled)
        return 0

    def write(self, offset: int, width: int, value: int) -> None:
        if offset == TIME_HIGH:
            self.latched_high = value
        elif offset == TIME_LOW:
            self.offset = (self.latched_high << 32 | value) - self.clock()
        elif offset == ALARM_HIGH:
            self.alarm_high = value
        elif offset == ALARM_LOW:
            self.alarm = self.alarm_high << 32 | value
        elif offset == IRQ_ENABLED:
            self.irq_enabled = bool(value & 1)
        elif offset == CLEAR_ALARM:
            self.alarm = None
        elif offset == CLEAR_INTERRUPT:
            self.interrupt = False
        self.update()
