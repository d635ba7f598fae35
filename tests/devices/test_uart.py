"""The NS16550A, driven with the register sequences of the 8250 datasheet and Linux's 8250 driver."""

from vmstack.devices.uart import IER, IIR_FCR, LCR, LSR, MCR, MSR, RBR_THR, SCR, Uart16550


class Line:
    def __init__(self):
        self.level = False

    def __call__(self, level):
        self.level = level


def make():
    out, irq = bytearray(), Line()
    return Uart16550(irq, out.extend), out, irq


def test_divisor_latch_and_transmit():
    uart, out, irq = make()
    uart.write(LCR, 1, 0x80)                 # DLAB
    uart.write(RBR_THR, 1, 0x01)
    uart.write(IER, 1, 0x00)
    assert (uart.read(RBR_THR, 1), uart.read(IER, 1)) == (0x01, 0x00)
    uart.write(LCR, 1, 0x03)                 # 8N1
    uart.write(IIR_FCR, 1, 0x07)             # FIFO on, clear both
    assert uart.read(LSR, 1) == 0x60         # THRE | TEMT, no data
    for byte in b"OK\n":
        uart.write(RBR_THR, 1, byte)
    assert bytes(out) == b"OK\n" and not irq.level
    uart.write(SCR, 1, 0x5A)
    assert uart.read(SCR, 1) == 0x5A


def test_receive_interrupt_and_fifo():
    uart, _out, irq = make()
    uart.write(IIR_FCR, 1, 0x01)
    uart.write(IER, 1, 0x01)                 # receive data interrupt
    assert uart.read(IIR_FCR, 1) == 0xC1 and not irq.level
    uart.receive(b"ab")
    assert irq.level and uart.read(IIR_FCR, 1) == 0xC4 and uart.read(LSR, 1) & 1
    assert uart.read(RBR_THR, 1) == ord("a") and irq.level
    assert uart.read(RBR_THR, 1) == ord("b")
    assert not irq.level and not uart.read(LSR, 1) & 1


def test_thre_interrupt_cleared_by_reading_iir():
    uart, out, irq = make()
    uart.write(IER, 1, 0x02)                 # enabling THRI with an empty THR interrupts at once
    assert irq.level
    assert uart.read(IIR_FCR, 1) == 0x02
    assert not irq.level and uart.read(IIR_FCR, 1) == 0x01
    uart.write(RBR_THR, 1, ord("z"))         # the byte goes out, THR empties again
    assert irq.level and bytes(out) == b"z"
    uart.write(IER, 1, 0x00)
    assert not irq.level


def test_loopback_and_modem_status():
    uart, out, _irq = make()
    assert uart.read(MSR, 1) == 0xB0
    uart.write(MCR, 1, 0x10 | 0x03)
    assert uart.read(MSR, 1) >> 4 == 0x3
    uart.write(RBR_THR, 1, 0x42)
    assert out == b"" and uart.read(RBR_THR, 1) == 0x42
