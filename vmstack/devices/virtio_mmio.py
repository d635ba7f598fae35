"""The virtio-mmio transport, version 2 (virtio 1.1 §4.2.2, legacy-free), and split virtqueues (§2.6).

A ``VirtioMmio`` slot holds one ``VirtioDevice`` (or none: device ID 0, as an empty slot on QEMU's
virt board). The driver negotiates features (VIRTIO_F_VERSION_1 is always offered), sets up queues by
their three guest-physical areas and notifies; the device then walks the available ring, gets each
descriptor chain as readable and writable buffers in guest RAM, and puts the chain on the used ring,
raising the slot's interrupt line unless the driver suppressed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .bus import BusError, GuestRam, IrqLine

MAGIC, VERSION, VENDOR_ID = 0x74726976, 2, 0x554D4551
VIRTIO_F_VERSION_1 = 1 << 32
STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK = 1, 2, 4, 8
STATUS_NEEDS_RESET, STATUS_FAILED = 0x40, 0x80
INTERRUPT_USED_BUFFER, INTERRUPT_CONFIG_CHANGE = 1, 2
DESC_F_NEXT, DESC_F_WRITE, DESC_F_INDIRECT = 1, 2, 4
AVAIL_F_NO_INTERRUPT = 1
QUEUE_SIZE_MAX = 256
VIRTIO_MMIO_SIZE = 0x1000

# register offsets (§4.2.2)
(MAGIC_VALUE, VERSION_REG, DEVICE_ID, VENDOR_ID_REG, DEVICE_FEATURES, DEVICE_FEATURES_SEL) = (
    0x000, 0x004, 0x008, 0x00C, 0x010, 0x014)
DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM = 0x020, 0x024, 0x030, 0x034, 0x038
QUEUE_READY, QUEUE_NOTIFY, INTERRUPT_STATUS, INTERRUPT_ACK, STATUS = 0x044, 0x050, 0x060, 0x064, 0x070
QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH = 0x080, 0x084, 0x090, 0x094
QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, CONFIG_GENERATION, CONFIG = 0x0A0, 0x0A4, 0x0FC, 0x100


class VirtioError(Exception):
    """The driver broke the virtqueue protocol (a bad descriptor); the device then needs a reset."""


@dataclass
class Chain:
    """One descriptor chain: its head index, the driver's buffers and the device's buffers."""

    head: int
    readable: list[tuple[int, int]] = field(default_factory=list)   # (guest address, length)
    writable: list[tuple[int, int]] = field(default_factory=list)

    def read_all(self, ram: GuestRam) -> bytes:
        return b"".join(ram.read(addr, length) for addr, length in self.readable)

    def writable_size(self) -> int:
        return sum(length for _, length in self.writable)

    def write_all(self, ram: GuestRam, data: bytes) -> int:
        """Copy ``data`` into the writable buffers in order; returns the bytes written."""
        done = 0
        for addr, length in self.writable:
            if done >= len(data):
                break
            piece = data[done:done + length]
            ram.write(addr, piece)
            done += len(piece)
        return done


class Virtqueue:
    """A split virtqueue in guest RAM, as the driver set it up."""

    def __init__(self) -> None:
        self.size = 0
        self.ready = False
        self.desc = self.driver = self.device = 0
        self.last_avail = 0

    def reset(self) -> None:
        self.__init__()

    def pending(self, ram: GuestRam) -> bool:
        return self.ready and ram.load(self.driver + 2, 2) != self.last_avail

    def pop(self, ram: GuestRam) -> Chain | None:
        """The next available chain, or None when the driver has made none available."""
        if not self.pending(ram):
            return None
        head = ram.load(self.driver + 4 + 2 * (self.last_avail % self.size), 2)
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        return self._chain(ram, head)

    def _chain(self, ram: GuestRam, head: int) -> Chain:
        chain = Chain(head)
        table, count, index = self.desc, self.size, head
        for _ in range(QUEUE_SIZE_MAX * 2):
            if index >= count:
                raise VirtioError(f"descriptor index {index} out of range")
            addr, length, flags, following = _descriptor(ram, table + 16 * index)
            if flags & DESC_F_INDIRECT:
                table, count, index = addr, length // 16, 0
                continue
            (chain.writable if flags & DESC_F_WRITE else chain.readable).append((addr, length))
            if not flags & DESC_F_NEXT:
                return chain
            index = following
        raise VirtioError("descriptor chain loops")

    def push(self, ram: GuestRam, chain: Chain, written: int) -> None:
        """Return a chain to the driver on the used ring with the number of bytes written to it."""
        used_idx = ram.load(self.device + 2, 2)
        slot = self.device + 4 + 8 * (used_idx % self.size)
        ram.store(slot, 4, chain.head)
        ram.store(slot + 4, 4, written)
        ram.store(self.device + 2, 2, (used_idx + 1) & 0xFFFF)

    def wants_interrupt(self, ram: GuestRam) -> bool:
        return not ram.load(self.driver, 2) & AVAIL_F_NO_INTERRUPT


def _descriptor(ram: GuestRam, at: int) -> tuple[int, int, int, int]:
    raw = ram.read(at, 16)
    return (int.from_bytes(raw[0:8], "little"), int.from_bytes(raw[8:12], "little"),
            int.from_bytes(raw[12:14], "little"), int.from_bytes(raw[14:16], "little"))


class VirtioDevice:
    """What a device type defines; the transport does the rest. Subclasses set the class attributes,
    implement ``config`` and ``process`` (and ``poll`` when input arrives from the host)."""

    device_id = 0
    queue_count = 0
    features = 0
    transport: VirtioMmio

    def config(self) -> bytes:
        """The device-specific configuration space."""
        return b""

    def process(self, queue: int) -> None:
        """The driver notified ``queue``: consume what is available."""

    def poll(self) -> None:
        """Host-side input may have arrived (called by the board between CPU quanta)."""

    def reset(self) -> None:
        """The driver reset the device."""


class VirtioMmio:
    """One virtio-mmio slot: the registers of §4.2.2, ``device`` behind them (None: an empty slot)."""

    def __init__(self, ram: GuestRam, irq: IrqLine, device: VirtioDevice | None = None) -> None:
        self.ram, self.irq, self.device = ram, irq, device
        self.queues = [Virtqueue() for _ in range(device.queue_count if device else 0)]
        if device is not None:
            device.transport = self
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.device_features_sel = self.driver_features_sel = 0
        self.driver_features = 0
        self.queue_sel = 0
        self.interrupt_status = 0
        for queue in self.queues:
            queue.reset()
        if self.device is not None:
            self.device.reset()
        self.irq(False)

    @property
    def offered(self) -> int:
        return (self.device.features | VIRTIO_F_VERSION_1) if self.device else 0

    @property
    def driver_ok(self) -> bool:
        return bool(self.status & STATUS_DRIVER_OK)

    def _queue(self) -> Virtqueue | None:
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    def read(self, offset: int, width: int) -> int:
        if offset >= CONFIG:
            config = self.device.config() if self.device else b""
            return int.from_bytes(config[offset - CONFIG:offset - CONFIG + width].ljust(width, b"\0"), "little")
        queue = self._queue()
        if offset == MAGIC_VALUE:
            return MAGIC
        if offset == VERSION_REG:
            return VERSION
        if offset == DEVICE_ID:
            return self.device.device_id if self.device else 0
        if offset == VENDOR_ID_REG:
            return VENDOR_ID
        if offset == DEVICE_FEATURES:
            return self.offered >> (32 * self.device_features_sel) & 0xFFFFFFFF if self.device_features_sel < 2 else 0
        if offset == QUEUE_NUM_MAX:
            return QUEUE_SIZE_MAX if queue else 0
        if offset == QUEUE_READY:
            return int(queue.ready) if queue else 0
        if offset == INTERRUPT_STATUS:
            return self.interrupt_status
        if offset == STATUS:
            return self.status
        return 0

    def write(self, offset: int, width: int, value: int) -> None:
        queue = self._queue()
        if offset == DEVICE_FEATURES_SEL:
            self.device_features_sel = value
        elif offset == DRIVER_FEATURES_SEL:
            self.driver_features_sel = value
        elif offset == DRIVER_FEATURES and self.driver_features_sel < 2:
            shift = 32 * self.driver_features_sel
            self.driver_features = self.driver_features & ~(0xFFFFFFFF << shift) | value << shift
        elif offset == QUEUE_SEL:
            self.queue_sel = value
        elif offset == QUEUE_NOTIFY:
            self._notify(value)
        elif offset == INTERRUPT_ACK:
            self.interrupt_status &= ~value
            self.irq(bool(self.interrupt_status))
        elif offset == STATUS:
            self._set_status(value)
        elif queue is not None:
            self._write_queue(queue, offset, value)

    def _write_queue(self, queue: Virtqueue, offset: int, value: int) -> None:
        if offset == QUEUE_NUM:
            queue.size = value if 0 < value <= QUEUE_SIZE_MAX and not value & (value - 1) else 0
        elif offset == QUEUE_READY:
            queue.ready = bool(value & 1) and queue.size > 0
        elif offset in (QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH,
                        QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH):
            name = {QUEUE_DESC_LOW: "desc", QUEUE_DESC_HIGH: "desc", QUEUE_DRIVER_LOW: "driver",
                    QUEUE_DRIVER_HIGH: "driver", QUEUE_DEVICE_LOW: "device", QUEUE_DEVICE_HIGH: "device"}[offset]
            shift = 32 if offset & 4 else 0
            setattr(queue, name, getattr(queue, name) & ~(0xFFFFFFFF << shift) | value << shift)

    def _set_status(self, value: int) -> None:
        if value == 0:
            self._reset()
            return
        refused = self.driver_features & ~self.offered or not self.driver_features & VIRTIO_F_VERSION_1
        if value & STATUS_FEATURES_OK and not self.status & STATUS_FEATURES_OK and refused:
            value &= ~STATUS_FEATURES_OK     # the driver asked for what was not offered
        self.status = value

    def _notify(self, index: int) -> None:
        if self.device is None or not self.driver_ok or index >= len(self.queues):
            return
        try:
            self.device.process(index)
        except (VirtioError, BusError) as error:
            self.fail(str(error))

    def fail(self, reason: str) -> None:
        """The driver misused the device: set DEVICE_NEEDS_RESET and tell it (a config change)."""
        self.status |= STATUS_NEEDS_RESET
        self.interrupt(INTERRUPT_CONFIG_CHANGE)

    def interrupt(self, kind: int = INTERRUPT_USED_BUFFER) -> None:
        self.interrupt_status |= kind
        self.irq(True)

    def complete(self, index: int, chain: Chain, written: int) -> None:
        """Put ``chain`` on queue ``index``'s used ring and interrupt the driver unless suppressed."""
        queue = self.queues[index]
        queue.push(self.ram, chain, written)
        if queue.wants_interrupt(self.ram):
            self.interrupt()
