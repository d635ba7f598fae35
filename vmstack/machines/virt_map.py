"""The physical memory map and interrupt numbers of the `virt` board, as on QEMU's virt machine."""

RESET_ROM, RESET_ROM_SIZE = 0x1000, 0x1000
TEST_SYSCON = 0x100000
RTC = 0x101000
CLINT = 0x2000000
PLIC = 0xC000000
UART0 = 0x10000000
UART_SIZE = 0x100
VIRTIO_BASE, VIRTIO_STRIDE, VIRTIO_SLOTS = 0x10001000, 0x1000, 8
DRAM_BASE = 0x80000000

UART0_IRQ = 10
RTC_IRQ = 11
VIRTIO_IRQ_BASE = 1          # slot n interrupts on PLIC source 1 + n
PLIC_SOURCES = 96            # riscv,ndev
UART_CLOCK = 3686400

# mip bit numbers the CLINT and PLIC lines drive
IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT = 1, 3, 5, 7, 9, 11


def virtio_slot(n: int) -> int:
    return VIRTIO_BASE + n * VIRTIO_STRIDE
