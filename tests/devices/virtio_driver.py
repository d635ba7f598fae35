"""A minimal virtio-mmio driver following virtio 1.1 §3.1.1 and §2.6, for the device tests."""

from vmstack.devices import virtio_mmio as mmio
from vmstack.devices.bus import GuestRam

RAM_BASE = 0x8000_0000
QUEUE_SIZE = 8


class Line:
    def __init__(self):
        self.level = False

    def __call__(self, level):
        self.level = level


class Driver:
    """Initialises the device, sets up its queues in RAM and submits buffer chains."""

    def __init__(self, make_device, extra_features=0):
        self.ram = GuestRam(RAM_BASE, 64 * 4096)
        self.irq = Line()
        self.device = make_device()
        self.slot = mmio.VirtioMmio(self.ram, self.irq, self.device)
        self.next_free = RAM_BASE + 16 * 4096         # buffers are carved from here
        self.queues = {}
        self.used_seen = {}
        self.negotiated = self.initialise(extra_features)

    def reg(self, offset, value=None):
        if value is None:
            return self.slot.read(offset, 4)
        self.slot.write(offset, 4, value)

    def initialise(self, extra_features):
        assert self.reg(mmio.MAGIC_VALUE) == 0x74726976 and self.reg(mmio.VERSION_REG) == 2
        self.reg(mmio.STATUS, 0)
        self.reg(mmio.STATUS, mmio.STATUS_ACKNOWLEDGE)
        self.reg(mmio.STATUS, mmio.STATUS_ACKNOWLEDGE | mmio.STATUS_DRIVER)
        offered = 0
        for select in (0, 1):
            self.reg(mmio.DEVICE_FEATURES_SEL, select)
            offered |= self.reg(mmio.DEVICE_FEATURES) << (32 * select)
        wanted = offered & (mmio.VIRTIO_F_VERSION_1 | extra_features)
        for select in (0, 1):
            self.reg(mmio.DRIVER_FEATURES_SEL, select)
            self.reg(mmio.DRIVER_FEATURES, wanted >> (32 * select) & 0xFFFFFFFF)
        self.reg(mmio.STATUS, mmio.STATUS_ACKNOWLEDGE | mmio.STATUS_DRIVER | mmio.STATUS_FEATURES_OK)
        assert self.reg(mmio.STATUS) & mmio.STATUS_FEATURES_OK
        for index in range(self.device.queue_count):
            self.setup_queue(index)
        self.reg(mmio.STATUS, self.reg(mmio.STATUS) | mmio.STATUS_DRIVER_OK)
        return offered

    def alloc(self, size, align=16):
        self.next_free = (self.next_free + align - 1) & -align
        addr, self.next_free = self.next_free, self.next_free + size
        return addr

    def setup_queue(self, index):
        self.reg(mmio.QUEUE_SEL, index)
        assert self.reg(mmio.QUEUE_READY) == 0 and self.reg(mmio.QUEUE_NUM_MAX) >= QUEUE_SIZE
        self.reg(mmio.QUEUE_NUM, QUEUE_SIZE)
        desc, avail, used = self.alloc(16 * QUEUE_SIZE), self.alloc(6 + 2 * QUEUE_SIZE, 2), self.alloc(
            6 + 8 * QUEUE_SIZE, 4)
        for low, addr in ((mmio.QUEUE_DESC_LOW, desc), (mmio.QUEUE_DRIVER_LOW, avail), (mmio.QUEUE_DEVICE_LOW, used)):
            self.reg(low, addr & 0xFFFFFFFF)
            self.reg(low + 4, addr >> 32)
        self.reg(mmio.QUEUE_READY, 1)
        self.queues[index] = (desc, avail, used)
        self.used_seen[index] = 0

    def submit(self, index, buffers, notify=True):
        """Make a chain of (bytes to send | int size of a device-writable buffer) available."""
        desc, avail, _ = self.queues[index]
        heads, addresses = [], []
        avail_idx = self.ram.load(avail + 2, 2)
        first = (avail_idx * 3) % QUEUE_SIZE
        for n, buffer in enumerate(buffers):
            slot = (first + n) % QUEUE_SIZE
            writable = isinstance(buffer, int)
            size = buffer if writable else len(buffer)
            addr = self.alloc(size)
            if not writable:
                self.ram.write(addr, buffer)
            flags = (mmio.DESC_F_WRITE if writable else 0) | (mmio.DESC_F_NEXT if n + 1 < len(buffers) else 0)
            entry = addr.to_bytes(8, "little") + size.to_bytes(4, "little") + flags.to_bytes(2, "little")
            self.ram.write(desc + 16 * slot, entry + ((slot + 1) % QUEUE_SIZE).to_bytes(2, "little"))
            heads.append(slot)
            addresses.append((addr, size))
        self.ram.store(avail + 4 + 2 * (avail_idx % QUEUE_SIZE), 2, heads[0])
        self.ram.store(avail + 2, 2, avail_idx + 1)
        if notify:
            self.reg(mmio.QUEUE_NOTIFY, index)
        return heads[0], addresses

    def used(self, index):
        """The (head, written length) pairs the device has returned since the last call."""
        _, _, used = self.queues[index]
        out = []
        while self.used_seen[index] != self.ram.load(used + 2, 2):
            slot = used + 4 + 8 * (self.used_seen[index] % QUEUE_SIZE)
            out.append((self.ram.load(slot, 4), self.ram.load(slot + 4, 4)))
            self.used_seen[index] += 1
        return out

    def ack(self):
        status = self.reg(mmio.INTERRUPT_STATUS)
        self.reg(mmio.INTERRUPT_ACK, status)
        return status
