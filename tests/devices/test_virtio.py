"""virtio-mmio v2 and the virtio devices, driven as virtio 1.1 says a driver does."""

import os

import pytest

from vmstack.devices import virtio_mmio as mmio
from vmstack.devices.bus import GuestRam
from vmstack.devices.virtio_blk import VIRTIO_BLK_F_RO, VirtioBlk
from vmstack.devices.virtio_console import VirtioConsole
from vmstack.devices.virtio_net import NET_HDR_SIZE, VirtioNet
from vmstack.devices.virtio_rng import VirtioRng

from .virtio_driver import Driver, Line


def blk_request(kind, sector):
    return kind.to_bytes(4, "little") + bytes(4) + sector.to_bytes(8, "little")


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"".join(bytes([n]) * 512 for n in range(8)))
    return path


def test_empty_slot_reports_device_id_zero():
    slot = mmio.VirtioMmio(GuestRam(0x8000_0000, 4096), Line())
    assert (slot.read(0, 4), slot.read(4, 4), slot.read(8, 4)) == (0x74726976, 2, 0)


def test_features_not_offered_are_refused(disk):
    driver = Driver(lambda: VirtioBlk(str(disk)))
    driver.reg(mmio.STATUS, 0)
    driver.reg(mmio.STATUS, mmio.STATUS_ACKNOWLEDGE | mmio.STATUS_DRIVER)
    driver.reg(mmio.DRIVER_FEATURES_SEL, 0)
    driver.reg(mmio.DRIVER_FEATURES, 1 << 0)     # not offered; VERSION_1 missing too
    driver.reg(mmio.STATUS, mmio.STATUS_ACKNOWLEDGE | mmio.STATUS_DRIVER | mmio.STATUS_FEATURES_OK)
    assert not driver.reg(mmio.STATUS) & mmio.STATUS_FEATURES_OK


def test_blk_read_write_flush(disk):
    driver = Driver(lambda: VirtioBlk(str(disk)))
    assert driver.negotiated & mmio.VIRTIO_F_VERSION_1 and not driver.negotiated & VIRTIO_BLK_F_RO
    assert driver.slot.read(mmio.CONFIG, 8) == 8            # capacity in sectors
    head, bufs = driver.submit(0, [blk_request(0, 2), 1024, 1])
    assert driver.used(0) == [(head, 1025)] and driver.irq.level
    assert driver.ram.read(*bufs[1]) == bytes([2]) * 512 + bytes([3]) * 512
    assert driver.ram.read(*bufs[2]) == b"\0"
    assert driver.ack() == mmio.INTERRUPT_USED_BUFFER and not driver.irq.level
    head, bufs = driver.submit(0, [blk_request(1, 7), b"Z" * 512, 1])
    assert driver.used(0) == [(head, 1)] and driver.ram.read(*bufs[2]) == b"\0"
    head, bufs = driver.submit(0, [blk_request(4, 0), 1])
    assert driver.used(0) == [(head, 1)]
    assert disk.read_bytes()[7 * 512:] == b"Z" * 512
    head, bufs = driver.submit(0, [blk_request(0, 8), 512, 1])   # past the end
    driver.used(0)
    assert driver.ram.read(*bufs[2]) == b"\x01"
    driver.device.close()


def test_blk_read_only(disk):
    driver = Driver(lambda: VirtioBlk(str(disk), readonly=True), extra_features=VIRTIO_BLK_F_RO)
    assert driver.negotiated & VIRTIO_BLK_F_RO
    _head, bufs = driver.submit(0, [blk_request(1, 0), b"X" * 512, 1])
    driver.used(0)
    assert driver.ram.read(*bufs[2]) == b"\x01" and disk.read_bytes()[:512] == bytes(512)
    _head, bufs = driver.submit(0, [blk_request(99, 0), 1])
    driver.used(0)
    assert driver.ram.read(*bufs[1]) == b"\x02"                  # unsupported request type


def test_interrupt_suppressed_when_driver_asks():
    driver = Driver(VirtioRng)
    _, avail, _ = driver.queues[0]
    driver.ram.store(avail, 2, mmio.AVAIL_F_NO_INTERRUPT)
    head, bufs = driver.submit(0, [64])
    assert driver.used(0) == [(head, 64)] and not driver.irq.level
    assert len(set(driver.ram.read(*bufs[0]))) > 8


def test_bad_descriptor_needs_reset():
    driver = Driver(VirtioRng)
    _desc, avail, _ = driver.queues[0]
    driver.ram.store(avail + 4, 2, 200)       # a head beyond the queue size
    driver.ram.store(avail + 2, 2, 1)
    driver.reg(mmio.QUEUE_NOTIFY, 0)
    assert driver.reg(mmio.STATUS) & mmio.STATUS_NEEDS_RESET
    assert driver.reg(mmio.INTERRUPT_STATUS) & mmio.INTERRUPT_CONFIG_CHANGE


def test_console_transmit_and_receive():
    out = bytearray()
    driver = Driver(lambda: VirtioConsole(out.extend))
    driver.submit(1, [b"hello ", b"console\n"])
    assert bytes(out) == b"hello console\n" and len(driver.used(1)) == 1
    driver.device.receive(b"typed")                      # no receive buffer yet: kept
    head, bufs = driver.submit(0, [3])
    assert driver.used(0) == [(head, 3)] and driver.ram.read(*bufs[0]) == b"typ"
    head, bufs = driver.submit(0, [16])
    assert driver.used(0) == [(head, 2)] and driver.ram.read(bufs[0][0], 2) == b"ed"


class LoopTap:
    def __init__(self):
        self.sent, self.inbox = [], []

    def send(self, frame):
        self.sent.append(frame)

    def receive(self):
        return self.inbox.pop(0) if self.inbox else None


def test_net_frames_both_ways():
    tap = LoopTap()
    driver = Driver(lambda: VirtioNet(tap))
    assert driver.slot.read(mmio.CONFIG, 4) | driver.slot.read(mmio.CONFIG + 4, 2) << 32 == int.from_bytes(
        bytes.fromhex("525400123456"), "little")
    frame = os.urandom(60)
    driver.submit(1, [bytes(NET_HDR_SIZE) + frame])
    assert tap.sent == [frame]
    tap.inbox.append(b"\xff" * 42)
    driver.device.poll()                                 # no rx buffer posted: waits
    head, bufs = driver.submit(0, [1526])
    assert driver.used(0) == [(head, NET_HDR_SIZE + 42)]
    received = driver.ram.read(bufs[0][0], NET_HDR_SIZE + 42)
    assert received[10:12] == b"\x01\x00" and received[NET_HDR_SIZE:] == b"\xff" * 42


def test_net_without_backend_drops_frames():
    driver = Driver(lambda: VirtioNet(None))
    head, _ = driver.submit(1, [bytes(NET_HDR_SIZE) + b"x" * 60])
    assert driver.used(1) == [(head, 0)]
