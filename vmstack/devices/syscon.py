"""The sifive_test syscon: a 32-bit register whose writes power the machine off or reset it.

Low 16 bits 0x5555 = pass (power off, status 0), 0x3333 = fail (status in the high 16 bits),
0x7777 = reset. The board decides what each means through the ``power`` callback.
"""

from __future__ import annotations

from collections.abc import Callable

FINISHER_FAIL, FINISHER_PASS, FINISHER_RESET = 0x3333, 0x5555, 0x7777
SYSCON_SIZE = 0x1000


class SifiveTest:
    """Calls ``power("poweroff", status)`` or ``power("reset", 0)`` on the matching write."""

    def __init__(self, power: Callable[[str, int], None]) -> None:
        self.power = power

    def read(self, offset: int, width: int) -> int:
        return 0

    def write(self, offset: int, width: int, value: int) -> None:
        if offset != 0:
            return
        code = value & 0xFFFF
        if code == FINISHER_PASS:
            self.power("poweroff", 0)
        elif code == FINISHER_FAIL:
            self.power("poweroff", value >> 16 & 0xFFFF)
        elif code == FINISHER_RESET:
            self.power("reset", 0)
