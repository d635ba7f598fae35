"""The privileged architecture unit by unit: CSR WARL rules, interrupt priority and delegation, Sv48 walks."""

import pytest

from vmstack.devices.bus import Bus, GuestRam
from vmstack.riscv.cpu import Cpu
from vmstack.riscv.mmu import MODE_M, MODE_S, MODE_U, PageFault
from vmstack.riscv.system_isa import (
    CSR_MENVCFG,
    CSR_MIP,
    CSR_MSTATUS,
    CSR_SATP,
    CSR_SENVCFG,
    CSR_STIMECMP,
    SystemHart,
)

RAM = 0x8000_0000


@pytest.fixture
def hart():
    hart = SystemHart(Bus(GuestRam(RAM, 1 << 20)), 0, lambda: 0)
    hart.attach(Cpu(hart.memory, hart))
    return hart


def csr(bits_funct3: int, csr_number: int, rd: int, rs1: int) -> int:
    return csr_number << 20 | rs1 << 15 | bits_funct3 << 12 | rd << 7 | 0x73


def test_satp_warl_ignores_sv57_and_reserved_modes(hart):
    assert hart.write_csr(CSR_SATP, 9 << 60 | 0x80100)
    assert hart.satp == 9 << 60 | 0x80100
    for mode in (10, 11, 1):
        hart.write_csr(CSR_SATP, mode << 60 | 0x1234)
        assert hart.satp == 9 << 60 | 0x80100
    hart.write_csr(CSR_SATP, 0)
    assert hart.satp == 0


def test_mstatus_warl_fields(hart):
    hart.write_csr(CSR_MSTATUS, 2 << 11 | 1 << 13)      # MPP = reserved 2, FS = initial
    status = hart.read_csr(CSR_MSTATUS, hart.cpu)
    assert status >> 11 & 3 == 0 and status >> 13 & 3 == 1 and status >> 63 == 0
    assert status >> 32 & 0xF == 0xA                     # UXL = SXL = 64
    hart.write_csr(CSR_MSTATUS, 3 << 13)                 # FS = dirty: SD says so
    assert hart.read_csr(CSR_MSTATUS, hart.cpu) >> 63 == 1


def test_envcfg_warl_fields(hart):
    hart.write_csr(CSR_MENVCFG, (1 << 64) - 1)
    assert hart.read_csr(CSR_MENVCFG, hart.cpu) == 1 << 63 | 1        # STCE and FIOM; no PBMTE, CBxE
    hart.write_csr(CSR_SENVCFG, (1 << 64) - 1)
    assert hart.read_csr(CSR_SENVCFG, hart.cpu) == 1                  # FIOM only


def test_sstc_stip_follows_stimecmp(hart):
    now = [100]
    hart.time = lambda: now[0]
    hart.write_csr(CSR_STIMECMP, 150)
    hart.write_csr(CSR_MIP, 1 << 5)                    # STCE off: STIP is M-mode software's bit
    assert hart.mip & 1 << 5
    hart.write_csr(CSR_MIP, 0)
    hart.write_csr(CSR_MENVCFG, 1 << 63)
    hart.write_csr(CSR_MIP, 1 << 5)                    # STCE on: read-only, the comparison decides
    assert not hart.mip & 1 << 5
    now[0] = 150
    assert hart.read_csr(CSR_MIP, hart.cpu) & 1 << 5
    assert hart.supervisor_timer_deadline() == 150


def test_csr_from_lower_mode_is_illegal_and_traps_to_m(hart):
    cpu = hart.cpu
    hart.mode, cpu.pc, hart.mtvec = MODE_U, RAM + 0x100, RAM + 0x400
    bits = csr(2, 0x300, 5, 0)                          # csrr t0, mstatus
    hart.exception(cpu, 2, bits)
    assert (hart.mode, cpu.pc, hart.mcause, hart.mtval, hart.mepc) == (MODE_M, RAM + 0x400, 2, bits, RAM + 0x100)
    assert hart.mstatus >> 11 & 3 == MODE_U


def test_read_only_csr_write_is_illegal(hart):
    cpu = hart.cpu
    hart.mtvec = RAM
    hart.exception(cpu, 2, csr(1, 0xF14, 0, 5))          # csrw mhartid, t0
    assert hart.mcause == 2


def test_interrupt_priority_and_delegation(hart):
    hart.mie = (1 << 1) | (1 << 5) | (1 << 7) | (1 << 9) | (1 << 11)
    hart.mideleg = (1 << 1) | (1 << 5) | (1 << 9)
    hart.mip_lines = (1 << 5) | (1 << 9) | (1 << 7)
    hart.mode = MODE_S
    assert hart.pending_interrupt() == 7                 # M-level first, even if S's SIE is clear
    hart.mip_lines = (1 << 5) | (1 << 9)
    assert hart.pending_interrupt() is None              # S-mode with SIE clear: S interrupts wait
    hart.mstatus |= 1 << 1
    assert hart.pending_interrupt() == 9                 # SEI before STI
    hart.mode = MODE_M
    assert hart.pending_interrupt() is None              # delegated interrupts never preempt M-mode
    hart.mode, hart.stvec = MODE_U, RAM | 1              # vectored
    hart.poll_interrupts()
    assert (hart.mode, hart.cpu.pc, hart.scause) == (MODE_S, RAM + 4 * 9, 1 << 63 | 9)


def test_mip_read_modify_write_leaves_the_plic_seip_signal_out(hart):
    cpu = hart.cpu
    hart.mip_lines = 1 << 9                              # the PLIC drives SEIP
    cpu.x[5] = 1 << 5
    hart.exception(cpu, 2, csr(3, 0x344, 6, 5))          # csrrc t1, mip, t0 (clear STIP)
    assert cpu.x[6] == 1 << 9                            # the read sees the signal
    assert hart.mip_software == 0                        # but it is not latched as software SEIP
    hart.mip_lines = 0
    assert hart.mip == 0


def test_sv48_walk_with_accessed_and_dirty_bits(hart):
    ram = hart.bus.ram
    tables = [RAM + 0x1000 * n for n in range(1, 5)]     # levels 3..0
    va = 0x0000_7F12_3456_7ABC
    for level, (table, child) in enumerate(zip(tables, tables[1:] + [RAM + 0x8000])):
        index = va >> (12 + 9 * (3 - level)) & 0x1FF
        leaf = level == 3
        pte = (child >> 12) << 10 | (0b10111 if leaf else 0) | 1     # leaf: R W U V
        ram.store(table + 8 * index, 8, pte)
    hart.write_csr(0x3B0, (1 << 54) - 1)                 # PMP entry 0: NAPOT over everything, RWX
    hart.write_csr(0x3A0, 0x1F)
    hart.satp = 9 << 60 | tables[0] >> 12
    hart.mode = MODE_U
    assert hart.memory.translate(va, "r", MODE_U) == RAM + 0x8ABC
    leaf_addr = tables[3] + 8 * (va >> 12 & 0x1FF)
    assert ram.load(leaf_addr, 8) & 0xC0 == 0x40         # A set, D not yet
    hart.memory.translate(va, "w", MODE_U)
    assert ram.load(leaf_addr, 8) & 0xC0 == 0xC0
    with pytest.raises(PageFault):
        hart.memory.translate(va, "x", MODE_U)           # no X
    with pytest.raises(PageFault):
        hart.memory.translate(va, "r", MODE_S)           # a U page from S without SUM
    hart.mstatus |= 1 << 18
    assert hart.memory.translate(va, "r", MODE_S) == RAM + 0x8ABC
    with pytest.raises(PageFault):
        hart.memory.translate(1 << 47, "r", MODE_U)      # not canonical for Sv48
    assert hart.memory.translate(va, "r", MODE_M) == va  # M-mode is untranslated


FLD_F3, FADD_D, ECALL, RDCYCLE, RDTIME, SPIN = 0x00053187, 0x0220F0D3, 0x00000073, 0xC00022F3, 0xC01022F3, 0x6F


def run_program(hart, words: list[int], mode: int, hot: int) -> None:
    """Run ``words`` at RAM in ``mode`` (the trap vector spins) with the tier ``hot`` picks: 0 translates
    every block on its first entry, a large value leaves it to the interpreter."""
    ram = hart.bus.ram
    for n, word in enumerate(words):
        ram.store(RAM + 4 * n, 4, word)
    ram.store(RAM + 0x400, 4, SPIN)
    hart.write_csr(0x3B0, (1 << 54) - 1)                 # PMP: everything, RWX
    hart.write_csr(0x3A0, 0x1F)
    hart.mtvec, hart.cpu.x[10], hart.cpu.hot = RAM + 0x400, RAM + 0x800, hot
    hart.cpu.pc = RAM
    hart._set_mode(mode)
    hart.cpu.run(200)


@pytest.mark.parametrize("hot", [0, 1000], ids=["translated", "interpreted"])
def test_fs_off_makes_fp_illegal_and_a_write_makes_it_dirty(hart, hot):
    run_program(hart, [FLD_F3, FADD_D, ECALL], MODE_M, hot)       # FS = Off at reset
    assert (hart.mcause, hart.mepc, hart.mtval) == (2, RAM, FLD_F3)
    hart.mstatus = hart.mstatus & ~(3 << 13) | 2 << 13               # Clean
    hart.memory.invalidate_all()
    run_program(hart, [FLD_F3, FADD_D, ECALL], MODE_M, hot)
    assert (hart.mcause, hart.mepc) == (11, RAM + 8)
    assert hart.mstatus >> 13 & 3 == 3 and hart.read_csr(CSR_MSTATUS, hart.cpu) >> 63 == 1


@pytest.mark.parametrize("hot", [0, 1000], ids=["translated", "interpreted"])
def test_counters_below_m_need_counteren(hart, hot):
    run_program(hart, [RDCYCLE, RDTIME, ECALL], MODE_S, hot)
    assert (hart.mcause, hart.mepc, hart.mtval) == (2, RAM, RDCYCLE)
    hart.mcounteren = 0b001                                          # cycle only
    hart.memory.invalidate_all()
    run_program(hart, [RDCYCLE, RDTIME, ECALL], MODE_S, hot)
    assert (hart.mcause, hart.mepc, hart.mtval) == (2, RAM + 4, RDTIME)
    hart.mcounteren = 0b011
    hart.memory.invalidate_all()
    run_program(hart, [RDCYCLE, RDTIME, ECALL], MODE_S, hot)
    assert (hart.mcause, hart.mepc) == (9, RAM + 8)


def test_tlb_survives_traps_and_sfence_vma_drops_one_page(hart):
    """An S-mode page stays cached across a trap to M and back; after the page table changes,
    sfence.vma of that address makes loads see the new page, SUM's clear drops a user page."""
    ram, memory = hart.bus.ram, hart.memory
    root, leaves = RAM + 0x1000, RAM + 0x2000          # Sv39: root -> one level-1 table -> leaves
    ram.store(root, 8, (RAM + 0x3000) >> 12 << 10 | 1)
    ram.store(RAM + 0x3000, 8, leaves >> 12 << 10 | 1)
    for page, (frame, user) in enumerate([(0x10000, 0), (0x11000, 0), (0x12000, 0x10)]):
        ram.store(RAM + frame, 8, 0x1111 * (page + 1))
        ram.store(leaves + 8 * page, 8, (RAM + frame) >> 12 << 10 | 0xC7 | user)   # D A R W V (+ U)
    hart.write_csr(0x3B0, (1 << 54) - 1)
    hart.write_csr(0x3A0, 0x1F)
    hart.write_csr(CSR_SATP, 8 << 60 | root >> 12)
    hart._set_mode(MODE_S)
    assert memory.load(0x0, 8) == 0x1111 and memory.load(0x1000, 8) == 0x2222
    hart.trap(9, 0)                                      # ecall to M and back
    hart._privileged(hart.cpu, 0x30200073)
    assert hart.mode == MODE_S and set(memory.readable) == {0, 1}
    ram.store(leaves, 8, (RAM + 0x11000) >> 12 << 10 | 0xC7)      # page 0 now maps page 1's frame
    assert memory.load(0x0, 8) == 0x1111                 # no sfence.vma yet: the old translation
    hart.cpu.x[5] = 0x0
    hart.exception(hart.cpu, 2, 0x12028073)              # sfence.vma t0
    assert set(memory.readable) == {1}
    assert memory.load(0x0, 8) == 0x2222
    hart.write_csr(CSR_MSTATUS, 1 << 18)                 # SUM: S may read the user page
    assert memory.load(0x2000, 8) == 0x3333 and 2 in memory.readable
    hart.write_csr(CSR_MSTATUS, 0)
    assert 2 not in memory.readable
    with pytest.raises(PageFault):
        memory.load(0x2000, 8)


def test_global_sfence_sets_code_aside_and_recall_checks_its_frame(hart):
    """After sfence.vma without an address the S-mode block comes back as it was while its page maps
    the same frame; once the page maps another frame (other code), the block there is a new one."""
    ram, memory = hart.bus.ram, hart.memory
    root, leaves = RAM + 0x1000, RAM + 0x2000            # Sv39: root -> one level-1 table -> leaves
    ram.store(root, 8, (RAM + 0x3000) >> 12 << 10 | 1)
    ram.store(RAM + 0x3000, 8, leaves >> 12 << 10 | 1)
    addi_a0_1, addi_a0_7 = 0x00150513, 0x00750513
    for frame, word in ((0x10000, addi_a0_1), (0x11000, addi_a0_7)):
        ram.store(RAM + frame, 4, word)
        ram.store(RAM + frame + 4, 4, ECALL)
    ram.store(leaves, 8, (RAM + 0x10000) >> 12 << 10 | 0x4B)      # virtual page 0: A X R V
    ram.store(RAM + 0x400, 4, SPIN)
    hart.write_csr(0x3B0, (1 << 54) - 1)
    hart.write_csr(0x3A0, 0x1F)
    hart.write_csr(CSR_SATP, 8 << 60 | root >> 12)
    hart.mtvec, hart.cpu.hot = RAM + 0x400, 0
    s_mode_blocks = memory.code_sets[MODE_S][0]

    def run_from_zero() -> None:      # up to the ecall, which traps to M-mode's spinning vector
        hart.cpu.pc = 0
        hart._set_mode(MODE_S)
        hart.cpu.run(50)
        assert hart.mode == MODE_M and hart.mepc == 4

    run_from_zero()
    block = s_mode_blocks[0]
    hart.cpu.x[5] = 0
    hart.exception(hart.cpu, 2, 0x12000073)              # sfence.vma zero, zero: the whole TLB
    assert 0 not in s_mode_blocks
    run_from_zero()
    assert s_mode_blocks[0] is block and hart.cpu.x[10] == 2
    ram.store(leaves, 8, (RAM + 0x11000) >> 12 << 10 | 0x4B)      # page 0 now holds addi a0, a0, 7
    hart.exception(hart.cpu, 2, 0x12000073)
    run_from_zero()
    assert s_mode_blocks[0] is not block and hart.cpu.x[10] == 9
