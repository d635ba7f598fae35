"""An NS16550A UART: the registers a driver uses (8250 datasheet), FIFOs, receive and THRE interrupts.

Transmitted bytes go straight to ``output`` (the line never stalls, so LSR always shows the
transmitter empty); received bytes are handed in by ``receive`` (from the host terminal).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from .bus import IrqLine

# register offsets (DLAB=0 unless noted)
RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
IER_RDI, IER_THRI = 0x01, 0x02
IIR_NONE, IIR_THRI, IIR_RDI = 0x01, 0x02, 0x04
IIR_FIFO_ENABLED = 0xC0
LCR_DLAB = 0x80
LSR_DR, LSR_THRE, LSR_TEMT = 0x01, 0x20, 0x40
MCR_LOOP = 0x10
MSR_DCD_DSR_CTS = 0xB0
FCR_ENABLE, FCR_CLEAR_RX = 0x01, 0x02
RX_FIFO_SIZE = 16


class Uart16550:
    """One NS16550A at a 1-byte register stride."""

    def __init__(self, irq: IrqLine, output: Callable[[bytes], None]) -> None:
        self.irq, self.output = irq, output
        self.rx: deque[int] = deque()
        self.ier = self.lcr = self.mcr = self.scr = self.fcr = 0
        self.divisor = 1
        self.thr_pending = False   # the transmitter-empty interrupt, cleared by reading IIR or writing THR

    def receive(self, data: bytes) -> None:
        """Bytes arriving on the line (a full FIFO drops the excess, as on the chip)."""
        self.rx.extend(data[:max(0, RX_FIFO_SIZE * 64 - len(self.rx))])
        self._update()

    def _interrupt_id(self) -> int:
        if self.ier & IER_RDI and self.rx:
            return IIR_RDI
        if self.ier & IER_THRI and self.thr_pending:
            return IIR_THRI
        return IIR_NONE

    def _update(self) -> None:
        self.irq(self._interrupt_id() != IIR_NONE)

    def read(self, offset: int, width: int) -> int:
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR:
            if dlab:
                return self.divisor & 0xFF
            value = self.rx.popleft() if self.rx else 0
            self._update()
            return value
        if offset == IER:
            return self.divisor >> 8 if dlab else self.ier
        if offset == IIR_FCR:
            ident = self._interrupt_id()
            if ident == IIR_THRI:
                self.thr_pending = False
                self._update()
            return ident | (IIR_FIFO_ENABLED if self.fcr & FCR_ENABLE else 0)
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            return LSR_THRE | LSR_TEMT | (LSR_DR if self.rx else 0)
        if offset == MSR:
            return (self.mcr & 0x0F) << 4 if self.mcr & MCR_LOOP else MSR_DCD_DSR_CTS
        if offset == SCR:
            return self.scr
        return 0

    def write(self, offset: int, width: int, value: int) -> None:
        value &= 0xFF
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR:
            if dlab:
                self.divisor = self.divisor & 0xFF00 | value
                return
            if self.mcr & MCR_LOOP:
                self.rx.append(value)
            else:
                self.output(bytes([value]))
            self.thr_pending = True
        elif offset == IER:
            if dlab:
                self.divisor = self.divisor & 0xFF | value << 8
                return
            if value & IER_THRI and not self.ier & IER_THRI:
                self.thr_pending = True      # enabling THRI with the transmitter empty interrupts at once
            self.ier = value & 0x0F
        elif offset == IIR_FCR:
            self.fcr = value & 0xC9
            if value & FCR_CLEAR_RX:
                self.rx.clear()
        elif offset == LCR:
            self.lcr = value
        elif offset == MCR:
            self.mcr = value & 0x1F
        elif offset == SCR:
            self.scr = value
        self._update()
