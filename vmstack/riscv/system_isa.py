"""The privileged architecture (RISC-V privileged spec 1.12) as the Environment of a system hart.

The core hands this environment every ecall, ebreak, fault and illegal instruction; privileged
instructions and non-user CSRs arrive as illegal instructions carrying their bits. ``SystemHart``
emulates what the current mode may do (Zicsr on the machine and supervisor CSRs, mret, sret, wfi,
sfence.vma) and turns everything else into a trap, delegated to S-mode by medeleg/mideleg. Interrupts
come from lines the devices drive (``line``) and are taken between CPU quanta by ``poll_interrupts``,
in the spec's priority order (MEI, MSI, MTI, SEI, SSI, STI).

Sstc: with menvcfg.STCE set, STIP is time >= stimecmp rather than a bit M-mode software writes.
What the core runs itself is checked through ``CORE_CHECKS``, decided when an instruction is decoded:
F/D instructions and fflags/frm/fcsr trap while mstatus.FS is Off and make FS Dirty when they write FP
state; cycle/time/instret trap below M-mode unless mcounteren (and, from U-mode, scounteren) allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..devices.bus import Bus
from .decode import Decoded
from .faults import IllegalInstruction
from .mmu import (
    ACCESS_FAULT_CAUSE,
    MODE_M,
    MODE_S,
    MODE_U,
    SATP_BARE,
    SATP_SV39,
    SATP_SV48,
    Pmp,
    TranslatingMemory,
)
from .user_isa import (
    CSR_CYCLE,
    CSR_FCSR,
    CSR_FFLAGS,
    CSR_FRM,
    CSR_INSTRET,
    CSR_TIME,
    INSTRUCTIONS,
    Instruction,
)

XLEN_MASK = (1 << 64) - 1
CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL, CAUSE_BREAKPOINT = 1, 2, 3
CAUSE_ECALL_U, CAUSE_ECALL_S, CAUSE_ECALL_M = 8, 9, 11
PAGE_FAULTS = (12, 13, 15)
# the access fault reported in place of a page fault when the walk or the access hit PMP or no device;
# by the page fault's cause, so that an AMO whose read failed still reports a store/AMO fault (7)
ACCESS_FAULT_FOR = {12: ACCESS_FAULT_CAUSE["x"], 13: ACCESS_FAULT_CAUSE["r"], 15: ACCESS_FAULT_CAUSE["w"]}
INTERRUPT = 1 << 63

MIP_SSIP, MIP_MSIP, MIP_STIP, MIP_MTIP, MIP_SEIP, MIP_MEIP = (1 << bit for bit in (1, 3, 5, 7, 9, 11))
INTERRUPT_PRIORITY = (11, 3, 7, 9, 1, 5)
S_INTERRUPTS = MIP_SSIP | MIP_STIP | MIP_SEIP
ALL_INTERRUPTS = S_INTERRUPTS | MIP_MSIP | MIP_MTIP | MIP_MEIP

SIE, MIE, SPIE, MPIE, SPP = 1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 8
MPP_SHIFT, MPP = 11, 3 << 11
FS, MPRV, SUM, MXR, TVM, TW, TSR = 3 << 13, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22
UXL_SXL_64, SD = 2 << 32 | 2 << 34, 1 << 63
MSTATUS_WRITABLE = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR
SSTATUS_VISIBLE = SIE | SPIE | SPP | FS | SUM | MXR | 3 << 32 | SD
SSTATUS_WRITABLE = SSTATUS_VISIBLE & MSTATUS_WRITABLE
TRANSLATION_BITS = MPRV | SUM | MXR | MPP

MISA = 2 << 62 | sum(1 << (ord(ext) - ord("A")) for ext in "ACDFIMSU")
MEDELEG_WRITABLE = 0xB3FF & ~(1 << CAUSE_ECALL_M)       # no delegation of M-mode ecalls
CSR_SSTATUS, CSR_SIE, CSR_STVEC, CSR_SCOUNTEREN, CSR_SENVCFG, CSR_STIMECMP = 0x100, 0x104, 0x105, 0x106, 0x10A, 0x14D
CSR_SSCRATCH, CSR_SEPC, CSR_SCAUSE, CSR_STVAL, CSR_SIP, CSR_SATP = 0x140, 0x141, 0x142, 0x143, 0x144, 0x180
CSR_MSTATUS, CSR_MISA, CSR_MEDELEG, CSR_MIDELEG, CSR_MIE, CSR_MTVEC, CSR_MCOUNTEREN = (
    0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306)
CSR_MENVCFG, CSR_MCOUNTINHIBIT, CSR_MSCRATCH, CSR_MEPC, CSR_MCAUSE, CSR_MTVAL, CSR_MIP = (
    0x30A, 0x320, 0x340, 0x341, 0x342, 0x343, 0x344)
CSR_PMPCFG0, CSR_PMPADDR0 = 0x3A0, 0x3B0
CSR_MCYCLE, CSR_MINSTRET, CSR_MVENDORID, CSR_MARCHID, CSR_MIMPID, CSR_MHARTID, CSR_MCONFIGPTR = (
    0xB00, 0xB02, 0xF11, 0xF12, 0xF13, 0xF14, 0xF15)
SIMPLE_CSRS = {CSR_STVEC: "stvec", CSR_SSCRATCH: "sscratch", CSR_SEPC: "sepc", CSR_SCAUSE: "scause",
               CSR_STVAL: "stval", CSR_MTVEC: "mtvec", CSR_MSCRATCH: "mscratch", CSR_MEPC: "mepc",
               CSR_MCAUSE: "mcause", CSR_MTVAL: "mtval", CSR_MCOUNTEREN: "mcounteren",
               CSR_SCOUNTEREN: "scounteren", CSR_SENVCFG: "senvcfg", CSR_MENVCFG: "menvcfg",
               CSR_STIMECMP: "stimecmp"}
INTERRUPT_CSRS = (CSR_MSTATUS, CSR_SSTATUS, CSR_MIE, CSR_SIE, CSR_MIP, CSR_SIP, CSR_MIDELEG, CSR_STIMECMP,
                  CSR_MENVCFG)
# menvcfg/senvcfg (priv 1.12 §3.1.18, Sstc): FIOM and STCE are implemented; CBIE, CBCFE, CBZE (no Zicbom or
# Zicboz) and PBMTE (no Svpbmt) read as zero
ENVCFG_FIOM, ENVCFG_STCE = 1, 1 << 63
MENVCFG_WRITABLE, SENVCFG_WRITABLE = ENVCFG_FIOM | ENVCFG_STCE, ENVCFG_FIOM
COUNTEREN_TM = 1 << (CSR_TIME - CSR_CYCLE)
# CSRs the running code may access without leaving its block: no pc, register or instret needed,
# no code-cache change; a status write that enables an interrupt it makes deliverable takes the exact path
IN_PLACE_CSRS = frozenset(SIMPLE_CSRS) - {CSR_MCOUNTEREN, CSR_SCOUNTEREN, CSR_MENVCFG, CSR_SENVCFG,
                                            CSR_STIMECMP}
IN_PLACE_READS = IN_PLACE_CSRS | {CSR_MSTATUS, CSR_SSTATUS, CSR_MIE, CSR_SIE, CSR_MIP, CSR_SIP, CSR_SATP,
                                  CSR_MHARTID, CSR_MISA, CSR_MEDELEG, CSR_MIDELEG}
INSN_MRET, INSN_SRET, INSN_WFI = 0x30200073, 0x10200073, 0x10500073


class GuestHalted(Exception):
    """The guest can make no progress: a trap with no handler, or a double fault in M-mode."""


class SystemHart:
    """The privileged state of one hart and the Environment its Cpu calls."""

    def __init__(self, bus: Bus, hart_id: int, read_time: Callable[[], int], satp_modes=(SATP_SV39, SATP_SV48)):
        self.bus, self.hart_id, self.time = bus, hart_id, read_time
        self.satp_modes = satp_modes
        self.mode = MODE_M
        self.mstatus = UXL_SXL_64
        self.medeleg = self.mideleg = self.mie = 0
        self.mip_software = 0          # bits written by software (SSIP, STIP, SEIP)
        self.mip_lines = 0             # bits the devices drive (MSIP, MTIP, MEIP, SEIP)
        self.mtvec = self.stvec = self.mepc = self.sepc = self.mcause = self.scause = 0
        self.mtval = self.stval = self.mscratch = self.sscratch = self.satp = 0
        self.mcounteren = self.scounteren = self.menvcfg = self.senvcfg = self.stimecmp = 0
        self.pmp = Pmp()
        self.waiting = False            # in wfi
        self.cpu: Any = None
        self.memory = TranslatingMemory(bus, self)
        self.memory.core_checks = CORE_CHECKS

    def attach(self, cpu: Any) -> None:
        self.cpu = cpu
        cpu.block_globals, cpu.steps = self.memory.runtime(self.mode)

    # ------------------------------------------------------------ interrupt lines

    def line(self, bit: int) -> Callable[[bool], None]:
        """The interrupt line driving mip bit ``bit`` (what a CLINT or PLIC output is wired to)."""
        mask = 1 << bit

        def drive(level: bool) -> None:
            if level and not self.mip_lines & mask and self.cpu is not None:
                self.cpu.stop = True     # let the board take it at the end of the running block
            self.mip_lines = self.mip_lines | mask if level else self.mip_lines & ~mask
        return drive

    @property
    def mip(self) -> int:
        pending = self.mip_lines | self.mip_software
        if self.menvcfg & ENVCFG_STCE:       # Sstc: STIP is the comparison, not the software bit
            pending = pending & ~MIP_STIP | (MIP_STIP if self.time() >= self.stimecmp else 0)
        return pending

    def supervisor_timer_deadline(self) -> int | None:
        """The time at which Sstc's STIP will rise (None with STCE off): a hart in wfi may sleep until it."""
        return self.stimecmp if self.menvcfg & ENVCFG_STCE else None

    def pending_interrupt(self, status: int | None = None) -> int | None:
        """The interrupt the hart would take now (or with mstatus = ``status``), by priority and
        enables, or None."""
        pending = self.mip & self.mie
        if not pending:
            return None
        status = self.mstatus if status is None else status
        m_enabled = self.mode < MODE_M or status & MIE
        s_enabled = self.mode < MODE_S or (self.mode == MODE_S and status & SIE)
        for cause in INTERRUPT_PRIORITY:
            if pending >> cause & 1:
                delegated = self.mideleg >> cause & 1
                if (m_enabled and not delegated) or (delegated and s_enabled):
                    return cause
        return None

    def poll_interrupts(self) -> bool:
        """Take a pending enabled interrupt (between quanta); True when one was taken."""
        if self.mip & self.mie:
            self.waiting = False      # wfi wakes on any pending enabled-in-mie interrupt
        cause = self.pending_interrupt()
        if cause is None:
            return False
        self.trap(cause, 0, interrupt=True)
        return True

    # ------------------------------------------------------------ traps

    def trap(self, cause: int, tval: int, interrupt: bool = False) -> None:
        cpu = self.cpu
        deleg = self.mideleg if interrupt else self.medeleg
        code = cause | (INTERRUPT if interrupt else 0)
        if self.mode <= MODE_S and deleg >> cause & 1:
            self.scause, self.sepc, self.stval = code, cpu.pc, tval
            status = self.mstatus & ~(SPP | SPIE | SIE)
            self.mstatus = status | (SPP if self.mode == MODE_S else 0) | (SPIE if self.mstatus & SIE else 0)
            vector = self.stvec
            self._set_mode(MODE_S)
        else:
            self.mcause, self.mepc, self.mtval = code, cpu.pc, tval
            status = self.mstatus & ~(MPP | MPIE | MIE)
            self.mstatus = status | self.mode << MPP_SHIFT | (MPIE if self.mstatus & MIE else 0)
            vector = self.mtvec
            self._set_mode(MODE_M)
        base = vector & ~3
        cpu.pc = base + 4 * cause if interrupt and vector & 1 else base
        cpu.reservation = None

    def _set_mode(self, mode: int) -> None:
        self.mode = mode
        self.memory.enter_mode(mode)
        if self.cpu is not None:
            self.cpu.block_globals, self.cpu.steps = self.memory.runtime(mode)
            self.cpu.stop = True        # run() must pick up the new mode's code cache

    # ------------------------------------------------------------ the Environment protocol

    def ecall(self, cpu: Any) -> None:
        self.trap({MODE_U: CAUSE_ECALL_U, MODE_S: CAUSE_ECALL_S, MODE_M: CAUSE_ECALL_M}[self.mode], 0)

    def ebreak(self, cpu: Any) -> None:
        self.trap(CAUSE_BREAKPOINT, 0)      # tval 0, as QEMU (the spec allows 0 or the pc)

    def read_time(self) -> int:
        return self.time()

    def exception(self, cpu: Any, cause: int, tval: int) -> None:
        if cause in PAGE_FAULTS and self.memory.last_access_fault is not None:
            addr, _ = self.memory.last_access_fault
            self.memory.last_access_fault = None
            if addr == tval:
                cause = ACCESS_FAULT_FOR[cause]
        if cause == CAUSE_ILLEGAL and self._emulate(cpu, tval):
            cpu.instret += 1
            return
        if self.mode == MODE_M and cause in (CAUSE_FETCH_ACCESS, 12) and cpu.pc == self.mtvec & ~3:
            raise GuestHalted(f"guest crashed: trap cause {self.mcause:#x} at pc {self.mepc:#x} "
                              f"(tval {self.mtval:#x}), and the M-mode trap vector {cpu.pc:#x} cannot be fetched")
        self.trap(cause, tval)

    # ------------------------------------------------------------ privileged instructions

    def _emulate(self, cpu: Any, bits: int) -> bool:
        """Carry out a SYSTEM instruction the core left to us; False when it is illegal here."""
        if bits & 0x7F != 0x73:
            return False
        funct3, rd, rs1 = bits >> 12 & 7, bits >> 7 & 0x1F, bits >> 15 & 0x1F
        if funct3 == 0:
            return self._privileged(cpu, bits)
        if funct3 == 4:
            return False
        csr = bits >> 20
        source = rs1 if funct3 & 4 else cpu.x[rs1]
        op = funct3 & 3          # 1 write, 2 set, 3 clear
        writes = op == 1 or rs1 != 0
        if not self._csr_allowed(csr, writes):
            return False
        old = self.read_csr(csr, cpu) if op != 1 or rd else 0
        if old is None:
            return False
        if writes:
            base = old
            if csr == CSR_MIP:   # the PLIC's SEIP signal takes no part in a read-modify-write (priv. 3.1.9)
                base = old & ~MIP_SEIP | self.mip_software & MIP_SEIP
            value = source if op == 1 else base | source if op == 2 else base & ~source
            if not self.write_csr(csr, value & XLEN_MASK):
                return False
        if rd:
            cpu.x[rd] = old & XLEN_MASK
        cpu.pc += 4
        return True

    def _csr_allowed(self, csr: int, writes: bool) -> bool:
        if csr >> 8 & 3 > self.mode or (writes and csr >> 10 == 3):
            return False
        if csr == CSR_STIMECMP and self.mode < MODE_M:
            return bool(self.menvcfg & ENVCFG_STCE and self.mcounteren & COUNTEREN_TM)
        return not (csr == CSR_SATP and self.mode == MODE_S and self.mstatus & TVM)

    def _privileged(self, cpu: Any, bits: int) -> bool:
        mode, status = self.mode, self.mstatus
        if bits == INSN_MRET and mode == MODE_M:
            previous = status >> MPP_SHIFT & 3
            status = status & ~(MPP | MIE | MPIE) | MPIE | (MIE if status & MPIE else 0)
            if previous != MODE_M:
                status &= ~MPRV
            self.mstatus = status
            cpu.pc = self.mepc
            self._set_mode(previous)
            return True
        if bits == INSN_SRET and (mode == MODE_M or (mode == MODE_S and not status & TSR)):
            previous = MODE_S if status & SPP else MODE_U
            self.mstatus = status & ~(SPP | SIE | SPIE | MPRV) | SPIE | (SIE if status & SPIE else 0)
            cpu.pc = self.sepc
            self._set_mode(previous)
            return True
        if bits == INSN_WFI and (mode == MODE_M or (mode == MODE_S and not status & TW)):
            cpu.pc += 4
            if not self.mip & self.mie:
                self.waiting = True
                cpu.stop = True
            return True
        if bits >> 25 == 0x09 and bits & 0x7FFF == 0x73 and (
                mode == MODE_M or (mode == MODE_S and not status & TVM)):      # sfence.vma
            address = bits >> 15 & 0x1F
            self.memory.flush_virtual(cpu.x[address] if address else None)
            cpu.pc += 4
            cpu.stop = True
            return True
        return False

    # ------------------------------------------------------------ CSRs

    def csr_in_place(self, csr: int, op: int, value: int, write: bool) -> int:
        """A CSR access by running code (``user_isa.csr_access``: op 0 writes, 1 sets, 2 clears) carried
        out at once when it may be; otherwise IllegalInstruction, which takes the exact path (_emulate)."""
        status_write = write and csr in (CSR_MSTATUS, CSR_SSTATUS)
        here = csr in IN_PLACE_CSRS or status_write or (not write and csr in IN_PLACE_READS)
        if not here or not self._csr_allowed(csr, write):
            raise IllegalInstruction(0)
        old = self.read_csr(csr, self.cpu)
        if write:
            new = (value if op == 0 else old | value if op == 1 else old & ~value) & XLEN_MASK
            if csr in IN_PLACE_CSRS:
                self.write_csr(csr, new)
            else:
                status = self._new_status(new, MSTATUS_WRITABLE if csr == CSR_MSTATUS else SSTATUS_WRITABLE)
                if status & ~self.mstatus & (MIE | SIE) and self.pending_interrupt(status) is not None:
                    raise IllegalInstruction(0)
                self._set_status(status)
        return old

    def read_csr(self, csr: int, cpu: Any) -> int | None:
        """A CSR's value, or None when it does not exist."""
        if csr in SIMPLE_CSRS:
            return getattr(self, SIMPLE_CSRS[csr])
        if csr == CSR_MSTATUS:
            return self._status_with_sd()
        if csr == CSR_SSTATUS:
            return self._status_with_sd() & SSTATUS_VISIBLE
        if csr == CSR_MIP:
            return self.mip
        if csr == CSR_SIP:
            return self.mip & self.mideleg & S_INTERRUPTS
        if csr == CSR_MIE:
            return self.mie
        if csr == CSR_SIE:
            return self.mie & self.mideleg & S_INTERRUPTS
        if csr == CSR_SATP:
            return self.satp
        if csr == CSR_MEDELEG:
            return self.medeleg
        if csr == CSR_MIDELEG:
            return self.mideleg
        if csr == CSR_MISA:
            return MISA
        if csr == CSR_MHARTID:
            return self.hart_id
        if csr in (CSR_MVENDORID, CSR_MARCHID, CSR_MIMPID, CSR_MCONFIGPTR, CSR_MCOUNTINHIBIT):
            return 0
        if csr in (CSR_MCYCLE, CSR_MINSTRET):
            return cpu.instret
        if 0xB03 <= csr <= 0xB1F or 0x323 <= csr <= 0x33F:
            return 0                   # hpm counters and their events: present, always zero
        if CSR_PMPCFG0 <= csr < CSR_PMPCFG0 + 4 and not csr & 1:
            return self.pmp.read_cfg(csr - CSR_PMPCFG0)
        if CSR_PMPADDR0 <= csr < CSR_PMPADDR0 + Pmp.ENTRIES:
            return self.pmp.addr[csr - CSR_PMPADDR0]
        if CSR_PMPADDR0 + Pmp.ENTRIES <= csr < CSR_PMPADDR0 + 64 or (0x3A0 <= csr < 0x3B0 and not csr & 1):
            return 0                   # PMP entries beyond the implemented 16 read as zero
        if 0xC03 <= csr <= 0xC1F:
            return 0 if self.counter_enabled(csr - 0xC00) else None
        return None

    def counter_enabled(self, index: int) -> bool:
        """Whether the current mode may read counter ``index`` (0 cycle, 1 time, 2 instret, 3.. hpm)."""
        if self.mode < MODE_M and not self.mcounteren >> index & 1:
            return False
        return not (self.mode == MODE_U and not self.scounteren >> index & 1)

    def _status_with_sd(self) -> int:
        status = self.mstatus
        return status | SD if status & FS == FS else status

    def write_csr(self, csr: int, value: int) -> bool:
        """Write a CSR with its WARL rules; False when it does not exist."""
        if csr in INTERRUPT_CSRS and self.cpu is not None:
            self.cpu.stop = True         # an interrupt may have become deliverable: the board checks
        if csr in SIMPLE_CSRS:
            if csr in (CSR_MEPC, CSR_SEPC):
                value &= ~1
            elif csr in (CSR_MTVEC, CSR_STVEC) and value & 3 > 1:
                value &= ~3
            elif csr in (CSR_MCOUNTEREN, CSR_SCOUNTEREN):
                value &= 0xFFFFFFFF
            elif csr == CSR_MENVCFG:
                value &= MENVCFG_WRITABLE
            elif csr == CSR_SENVCFG:
                value &= SENVCFG_WRITABLE
            setattr(self, SIMPLE_CSRS[csr], value)
            return True
        if csr == CSR_MSTATUS:
            self._set_status(self._new_status(value, MSTATUS_WRITABLE))
        elif csr == CSR_SSTATUS:
            self._set_status(self._new_status(value, SSTATUS_WRITABLE))
        elif csr == CSR_MIP:
            writable = S_INTERRUPTS & ~MIP_STIP if self.menvcfg & ENVCFG_STCE else S_INTERRUPTS
            self.mip_software = self.mip_software & ~writable | value & writable
        elif csr == CSR_SIP:
            writable = MIP_SSIP & self.mideleg
            self.mip_software = self.mip_software & ~writable | value & writable
        elif csr == CSR_MIE:
            self.mie = value & ALL_INTERRUPTS
        elif csr == CSR_SIE:
            writable = self.mideleg & S_INTERRUPTS
            self.mie = self.mie & ~writable | value & writable
        elif csr == CSR_MEDELEG:
            self.medeleg = value & MEDELEG_WRITABLE
        elif csr == CSR_MIDELEG:
            self.mideleg = value & S_INTERRUPTS
        elif csr == CSR_SATP:
            self._write_satp(value)
        elif CSR_PMPCFG0 <= csr < CSR_PMPCFG0 + 4 and not csr & 1:
            self.pmp.write_cfg(csr - CSR_PMPCFG0, value)
            self.memory.flush_tlb()
        elif CSR_PMPADDR0 <= csr < CSR_PMPADDR0 + Pmp.ENTRIES:
            self.pmp.write_addr(csr - CSR_PMPADDR0, value)
            self.memory.flush_tlb()
        else:
            return self.read_csr(csr, self.cpu) is not None    # read-only-zero registers ignore writes
        return True

    def _new_status(self, value: int, writable: int) -> int:
        """mstatus after a write of ``value`` to its ``writable`` bits, with its WARL rules."""
        new = self.mstatus & ~writable | value & writable
        if new >> MPP_SHIFT & 3 == 2:
            new &= ~MPP                # MPP is WARL: the reserved mode reads back as U
        return new

    def _set_status(self, new: int) -> None:
        old, self.mstatus = self.mstatus, new
        if (old ^ new) & TRANSLATION_BITS:
            self.memory.status_changed()

    def _write_satp(self, value: int) -> None:
        mode = value >> 60
        if mode != SATP_BARE and mode not in self.satp_modes:
            return                     # WARL: an unsupported mode leaves satp as it was
        self.satp = value & (0xF << 60 | 0xFFFF << 44 | (1 << 44) - 1) if mode else 0
        self.memory.flush_virtual()
        if self.cpu is not None:
            self.cpu.stop = True


# ---------------------------------------------------------------- checks on what the core runs itself

FP_OPCODES = (0x07, 0x27, 0x43, 0x47, 0x4B, 0x4F, 0x53)
CSR_WRITE_FLAG = {"csrrw": "True", "csrrwi": "True", "csrrs": "RS1 != 0", "csrrc": "RS1 != 0",
                  "csrrsi": "RS1 != 0", "csrrci": "RS1 != 0"}


class CoreChecks(NamedTuple):
    """A system hart's checks on instructions the core carries out (``Memory.core_checks``): ``decode``
    swaps a decoded instruction for its checked variant, whose template first calls a helper."""

    decode: Callable[[Decoded], Decoded]
    helpers: dict[str, Callable[..., Any]]
    instructions: tuple[Instruction, ...]


def fp_state(cpu: Any, writes: bool) -> None:
    """mstatus.FS at an F/D instruction or FP CSR access: Off is illegal; a write makes the state Dirty."""
    hart = cpu.env
    status = hart.mstatus
    if not status & FS:
        raise IllegalInstruction(0)
    if writes and status & FS != FS:
        hart.mstatus = status | FS


def counter_access(cpu: Any, csr: int) -> None:
    """cycle, time, instret below M-mode: illegal unless mcounteren (and for U-mode scounteren) allows."""
    if not cpu.env.counter_enabled(csr - CSR_CYCLE):
        raise IllegalInstruction(0)


def _variant(insn: Instruction, check: str) -> Instruction:
    return insn._replace(name=f"{insn.name}/{check.partition('(')[0]}", template=f"{check}\n{insn.template}",
                         float_template="")   # a checked variant computes on bits: no unchecked float path


def _writes_fp_state(template: str) -> bool:
    return "FD = " in template or "accrue" in template or "fcsr" in template


FP_CHECKED = {insn.name: _variant(insn, f"fp_state(cpu, {_writes_fp_state(insn.template)})")
              for insn in INSTRUCTIONS if int(insn.fixed.split()[0][3:], 16) in FP_OPCODES}
CSR_CHECKED = {(insn.name, kind): _variant(insn, check) for insn in INSTRUCTIONS if insn.name in CSR_WRITE_FLAG
               for kind, check in (("fp", f"fp_state(cpu, {CSR_WRITE_FLAG[insn.name]})"),
                                   ("counter", "counter_access(cpu, IMM)"))}
CSR_KIND = {CSR_FFLAGS: "fp", CSR_FRM: "fp", CSR_FCSR: "fp", CSR_CYCLE: "counter", CSR_TIME: "counter",
            CSR_INSTRET: "counter"}


def checked_decode(d: Decoded) -> Decoded:
    """The instruction a system hart runs for ``d``: its checked variant when it has one."""
    name = d.insn.name
    variant = FP_CHECKED.get(name)
    if variant is None and name in CSR_WRITE_FLAG and d.imm in CSR_KIND:
        variant = CSR_CHECKED[name, CSR_KIND[d.imm]]
    return d if variant is None else d._replace(insn=variant)


CORE_CHECKS = CoreChecks(checked_decode, {"fp_state": fp_state, "counter_access": counter_access},
                         (*FP_CHECKED.values(), *CSR_CHECKED.values()))


def mode_name(mode: int) -> str:
    return {MODE_U: "U", MODE_S: "S", MODE_M: "M"}[mode]
