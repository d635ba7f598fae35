"""sifive_test poweroff/reset codes and the goldfish RTC."""

from vmstack.devices.rtc import GoldfishRtc
from vmstack.devices.syscon import SifiveTest


def test_sifive_test_codes():
    events = []
    syscon = SifiveTest(lambda kind, status: events.append((kind, status)))
    syscon.write(0, 4, 0x5555)
    syscon.write(0, 4, 3 << 16 | 0x3333)
    syscon.write(0, 4, 0x7777)
    syscon.write(0, 4, 0x1234)
    assert events == [("poweroff", 0), ("poweroff", 3), ("reset", 0)]


def test_goldfish_rtc_time_and_alarm():
    now = [1_700_000_000_123_456_789]
    level = []
    rtc = GoldfishRtc(level.append, clock=lambda: now[0])
    low = rtc.read(0x00, 4)
    assert (rtc.read(0x04, 4) << 32 | low) == now[0]
    rtc.write(0x10, 4, 1)
    rtc.write(0x0C, 4, (now[0] + 1000) >> 32)
    rtc.write(0x08, 4, (now[0] + 1000) & 0xFFFFFFFF)
    assert rtc.read(0x18, 4) == 1 and level[-1] is False
    now[0] += 1000
    rtc.update()
    assert level[-1] is True and rtc.read(0x18, 4) == 0
    rtc.write(0x1C, 4, 1)
    assert level[-1] is False
    rtc.write(0x04, 4, 5_000_000_000 >> 32)     # set the time to 5 s after the epoch
    rtc.write(0x00, 4, 5_000_000_000 & 0xFFFFFFFF)
    assert rtc.read(0x00, 4) == 5_000_000_000 & 0xFFFFFFFF and rtc.read(0x04, 4) == 1
