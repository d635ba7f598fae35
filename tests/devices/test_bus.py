"""The bus: RAM pages, device ranges, unmapped accesses."""

import pytest

from vmstack.devices.bus import Bus, BusError, GuestRam


class Register:
    def __init__(self):
        self.writes = []

    def read(self, offset, width):
        return 0x1000 + offset + width

    def write(self, offset, width, value):
        self.writes.append((offset, width, value))


def test_ram_little_endian_across_pages():
    ram = GuestRam(0x8000_0000, 2 * 4096)
    ram.store(0x8000_0FFE, 4, 0x11223344)
    assert ram.read(0x8000_0FFE, 4) == bytes.fromhex("44332211")
    assert ram.page(0x80000)[4094:] == b"\x44\x33" and ram.page(0x80001)[:2] == b"\x22\x11"
    assert ram.page(0x80002) is None
    with pytest.raises(BusError):
        ram.read(0x8000_1FFF, 2)


def test_dispatch_to_devices_by_range():
    bus = Bus(GuestRam(0x8000_0000, 4096))
    low, high = Register(), Register()
    bus.attach(0x1000_0000, 0x100, low)
    bus.attach(0x0200_0000, 0x10000, high)
    assert bus.read(0x1000_0005, 1) == 0x1000 + 5 + 1
    bus.write(0x0200_4000, 8, -1)
    assert high.writes == [(0x4000, 8, (1 << 64) - 1)]
    bus.write(0x8000_0010, 8, 0x55)
    assert bus.read(0x8000_0010, 8) == 0x55
    for addr in (0x1000_0100, 0x0, 0x8000_1000):
        with pytest.raises(BusError):
            bus.read(addr, 4)


def test_overlapping_ranges_refused():
    bus = Bus(GuestRam(0x8000_0000, 4096))
    bus.attach(0x1000, 0x1000, Register())
    for base, size in ((0x1800, 0x100), (0x0800, 0x1000), (0x7FFF_F000, 0x2000)):
        with pytest.raises(ValueError):
            bus.attach(base, size, Register())
