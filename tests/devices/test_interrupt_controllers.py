"""CLINT timer/software lines and the PLIC's claim/complete protocol."""

from vmstack.devices.clint import Clint
from vmstack.devices.plic import Plic


class Line:
    def __init__(self):
        self.level = False

    def __call__(self, level):
        self.level = level


class FakeClock:
    def __init__(self):
        self.ticks = 0

    def __call__(self):
        return self.ticks


def test_clint_timer_and_software_interrupts():
    msip, mtip, clock = Line(), Line(), FakeClock()
    clint = Clint([msip], [mtip], clock)
    clint.update()
    assert not mtip.level                       # mtimecmp resets to all ones
    clock.ticks = 1000
    assert clint.read(0xBFF8, 8) == 1000 and clint.read(0xBFFC, 4) == 0
    clint.write(0x4000, 4, 1500)                # low half then high half, as 32-bit code does
    clint.write(0x4004, 4, 0)
    assert clint.read(0x4000, 8) == 1500 and not mtip.level
    clock.ticks = 1500
    clint.update()
    assert mtip.level
    clint.write(0x4000, 8, 10_000)
    assert not mtip.level
    clint.write(0x0, 4, 1)
    assert msip.level and clint.read(0x0, 4) == 1
    clint.write(0x0, 4, 0)
    assert not msip.level
    clint.write(0xBFF8, 8, 20_000)              # mtime is writable
    assert clint.read(0xBFF8, 8) == 20_000 and mtip.level


def test_plic_claim_complete_priority_threshold():
    m_ext, s_ext = Line(), Line()
    plic = Plic(95, [m_ext, s_ext])
    uart, disk = plic.irq(10), plic.irq(1)
    plic.write(10 * 4, 4, 1)
    plic.write(1 * 4, 4, 3)
    plic.write(0x2080, 4, 1 << 10 | 1 << 1)     # context 1 (S mode) enables sources 1 and 10
    uart(True)
    assert s_ext.level and not m_ext.level
    assert plic.read(0x1000, 4) == 1 << 10
    disk(True)
    assert plic.read(0x201004, 4) == 1          # the higher priority first
    assert plic.read(0x201004, 4) == 10
    assert plic.read(0x201004, 4) == 0 and not s_ext.level
    plic.write(0x201004, 4, 10)                 # complete: the line is still high, pending again
    assert s_ext.level and plic.read(0x1000, 4) == 1 << 10
    plic.write(0x201000, 4, 1)                  # threshold 1 masks priority 1
    assert not s_ext.level and plic.read(0x201004, 4) == 0
    plic.write(0x201000, 4, 0)
    uart(False)                                 # a level source that drops withdraws its request (as QEMU)
    assert not s_ext.level and plic.read(0x201004, 4) == 0
    disk(False)
    plic.write(0x201004, 4, 1)
    plic.write(0x2080, 4, 0)                    # disabled sources do not interrupt
    disk(True)
    assert plic.read(0x1000, 4) == 1 << 1 and not s_ext.level
