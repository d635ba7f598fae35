"""Known answers, extension by extension, for instructions run by the core (register values after short
assembly programs; the expected values follow from the RISC-V unprivileged specification)."""

from __future__ import annotations

import pytest

from tests.riscv.harness import run_asm

M64 = (1 << 64) - 1
A0, A1, A2, A3, A4, A5 = 10, 11, 12, 13, 14, 15


def u(value: int) -> int:
    return value & M64


def results(body: str, data: str = "", regs: tuple[int, ...] = (A0, A1, A2, A3, A4, A5)) -> list[int]:
    cpu = run_asm(body, data)
    return [cpu.x[r] for r in regs]


def test_rv64i_arithmetic_and_shifts() -> None:
    assert results("""
        li t0, -5
        li t1, 3
        add a0, t0, t1
        sltu a1, t1, t0
        slt a2, t0, t1
        sra a3, t0, t1
        srl a4, t0, t1
        addiw a5, t0, 0x7ff
    """) == [u(-2), 1, 1, u(-1), u(-5) >> 3, 2042]
    assert results("""
        li t0, 0x7fffffff
        addiw a0, t0, 1
        li t1, 1
        sllw a1, t1, 31
        sraiw a2, a1, 4
        srliw a3, a1, 4
        lui a4, 0x80000
        auipc a5, 0
    """)[:5] == [u(-(1 << 31)), u(-(1 << 31)), u(-(1 << 27)), 1 << 27, u(-(1 << 31))]


def test_x0_stays_zero() -> None:
    cpu = run_asm("addi x0, x0, 5\n    mv a0, x0\n    lui x0, 1")
    assert cpu.x[0] == 0 and cpu.x[A0] == 0


def test_loads_stores_sign_and_zero_extension() -> None:
    assert results("""
        la t0, buf
        li t1, 0x80818283848586f7
        sd t1, 0(t0)
        lb a0, 0(t0)
        lbu a1, 0(t0)
        lh a2, 6(t0)
        lwu a3, 4(t0)
        lw a4, 4(t0)
        sw t1, 9(t0)
        ld a5, 8(t0)
    """, "buf: .zero 32") == [u(-9), 0xF7, u(0x8081 - 0x10000), 0x80818283, u(0x80818283 - (1 << 32)),
                             0x848586F7 << 8]


def test_rv64m_division_edge_cases() -> None:
    assert results("""
        li t0, 7
        li t1, 0
        div a0, t0, t1
        divu a1, t0, t1
        rem a2, t0, t1
        li t2, 0x8000000000000000
        li t3, -1
        div a3, t2, t3
        rem a4, t2, t3
        divw a5, t3, t1
    """) == [M64, M64, 7, 1 << 63, 0, M64]
    assert results("""
        li t0, -7
        li t1, 2
        div a0, t0, t1
        rem a1, t0, t1
        li t2, -1
        mulh a2, t2, t2
        mulhu a3, t2, t2
        mulhsu a4, t2, t2
        li t3, 0x80000000
        remuw a5, t3, zero
    """) == [u(-3), u(-1), 0, u(-2), M64, u(-(1 << 31))]


def test_atomics_lr_sc_and_amos() -> None:
    assert results("""
        la t0, word
        li t1, 5
        amoadd.w a0, t1, (t0)
        lw a1, 0(t0)
        li t2, -1
        amomaxu.w a2, t2, (t0)
        amomin.w a3, t1, (t0)
        lr.d t3, (t0)
        sc.d a4, t1, (t0)
        sc.d a5, t1, (t0)
    """, "word: .dword 0x7ffffffe") == [0x7FFFFFFE, u(0x80000003 - (1 << 32)), u(-(1 << 31) + 3), M64, 0, 1]


def test_compressed_instructions() -> None:
    assert results("""
        .option rvc
        c.li a0, -3
        c.addi a0, 10
        c.mv a1, a0
        c.slli a1, 4
        c.li a2, 1
        c.addw a2, a1
        c.lui a3, 0xfffff
        c.srai a3, 4
        c.li a4, 6
        c.andi a4, 3
        addi a5, sp, 0
        c.addi16sp sp, -64
        c.sdsp a1, 8(sp)
        c.ldsp a5, 8(sp)
        c.addi16sp sp, 64
    """) == [7, 112, 113, u(-(1 << 12) >> 4), 2, 112]


def test_bit_manipulation() -> None:
    assert results("""
        li t0, 0x00f0
        clz a0, t0
        ctz a1, t0
        cpop a2, t0
        li t1, 0x0102030405060708
        rev8 a3, t1
        orc.b a4, t0
        li t2, 3
        sh3add a5, t2, t0
    """) == [56, 4, 4, 0x0807060504030201, 0xFF, 0xF0 + 24]
    assert results("""
        li t0, -1
        add.uw a0, t0, zero
        li t1, 1
        rori a1, t1, 1
        roriw a2, t1, 1
        bseti a3, zero, 63
        bexti a4, a3, 63
        li t2, 0x8000
        sext.h a5, t2
    """) == [0xFFFFFFFF, 1 << 63, u(-(1 << 31)), 1 << 63, 1, u(-0x8000)]
    assert results("""
        li t0, 0x8000000000000000
        ctzw a0, t0
        clzw a1, t0
        li t1, -8
        li t2, 3
        min a2, t1, t2
        minu a3, t1, t2
        andn a4, t1, t2
        zext.h a5, t1
    """) == [32, 32, u(-8), 3, u(-8), 0xFFF8]


def test_branches_and_jumps_link() -> None:
    cpu = run_asm("""
        li a0, 0
        li t0, 10
    1:  addi a0, a0, 3
        addi t0, t0, -1
        bnez t0, 1b
        jal a1, 2f
        li a0, 99
    2:  la t1, 3f
        jalr a2, 0(t1)
        li a0, 98
    3:  nop
    """)
    assert cpu.x[A0] == 30
    assert cpu.x[A2] - cpu.x[A1] > 0


def test_instret_is_exact_inside_loops() -> None:
    cpu = run_asm("""
        li t0, 25000
        rdinstret a0
    1:  addi t0, t0, -1
        addi t1, t1, 1
        bnez t0, 1b
        rdinstret a1
        rdcycle a2
    """)
    assert cpu.x[A1] - cpu.x[A0] == 1 + 3 * 25000
    assert cpu.x[A2] == cpu.x[A1] + 1


@pytest.mark.parametrize(("rm", "expected"), [("rne", 0x3EAAAAAB), ("rtz", 0x3EAAAAAA), ("rdn", 0x3EAAAAAA),
                                              ("rup", 0x3EAAAAAB), ("rmm", 0x3EAAAAAB)])
def test_single_division_in_each_rounding_mode(rm: str, expected: int) -> None:
    a0, a1 = results(f"""
        li t0, 0x3f800000
        fmv.w.x ft0, t0
        li t0, 0x40400000
        fmv.w.x ft1, t0
        fdiv.s ft2, ft0, ft1, {rm}
        fmv.x.w a0, ft2
        frflags a1
    """)[:2]
    assert (a0, a1) == (expected, 1)  # inexact


def test_dynamic_rounding_reads_frm() -> None:
    assert results("""
        li t0, 1
        fcvt.d.l ft0, t0
        li t0, 3
        fcvt.d.l ft1, t0
        fsrmi 1
        fdiv.d ft2, ft0, ft1
        fmv.x.d a0, ft2
        fsrmi 3
        fdiv.d ft2, ft0, ft1
        fmv.x.d a1, ft2
        frrm a2
        frcsr a3
    """)[:4] == [0x3FD5555555555555, 0x3FD5555555555556, 3, 3 << 5 | 1]


def test_nan_boxing_and_canonical_nans() -> None:
    assert results("""
        li t0, 0x3f800000
        fmv.d.x ft0, t0
        fadd.s ft1, ft0, ft0
        fmv.x.d a0, ft1
        fclass.s a1, ft0
        li t0, 0x7ff4000000000000
        fmv.d.x ft2, t0
        fadd.d ft3, ft2, ft2
        fmv.x.d a2, ft3
        frflags a3
        flw ft4, 0(sp)
        fmv.x.d a4, ft4
        fsgnjn.s ft5, ft0, ft0
        fmv.x.d a5, ft5
    """) == [0xFFFFFFFF7FC00000, 1 << 9, 0x7FF8000000000000, 0x10, 0xFFFFFFFF00000000, 0xFFFFFFFFFFC00000]


def test_fmin_fmax_signed_zeros_and_nans() -> None:
    assert results("""
        fmv.d.x ft0, zero
        li t0, 0x8000000000000000
        fmv.d.x ft1, t0
        fmin.d ft2, ft0, ft1
        fmv.x.d a0, ft2
        fmax.d ft2, ft1, ft0
        fmv.x.d a1, ft2
        li t0, 0x7ff0000000000001
        fmv.d.x ft3, t0
        fmin.d ft2, ft3, ft0
        fmv.x.d a2, ft2
        frflags a3
        fmax.d ft2, ft3, ft3
        fmv.x.d a4, ft2
    """)[:5] == [1 << 63, 0, 0, 0x10, 0x7FF8000000000000]


def test_fcvt_saturation_and_flags() -> None:
    assert results("""
        li t0, 0x7ff8000000000000
        fmv.d.x ft0, t0
        fcvt.w.d a0, ft0
        li t0, 0xc1e0000000200000
        fmv.d.x ft1, t0
        fcvt.w.d a1, ft1, rtz
        fcvt.wu.d a2, ft1
        li t0, 0xbfe0000000000000
        fmv.d.x ft2, t0
        fcvt.wu.d a3, ft2, rtz
        frflags a4
        fcvt.l.d a5, ft2, rmm
    """) == [0x7FFFFFFF, u(-(1 << 31)), 0, 0, 0x11, M64]


def test_fused_multiply_add_rounds_once() -> None:
    # (1 + 2^-27)^2 - 1 = 2^-26 + 2^-54: a separate multiply loses 2^-54
    assert results("""
        li t0, 0x3ff0000002000000
        fmv.d.x ft0, t0
        li t0, 0xbff0000000000000
        fmv.d.x ft1, t0
        fmadd.d ft2, ft0, ft0, ft1
        fmv.x.d a0, ft2
        fmul.d ft3, ft0, ft0
        fadd.d ft3, ft3, ft1
        fmv.x.d a1, ft3
    """)[:2] == [0x3E50000001000000, 0x3E50000000000000]


def test_subnormal_results_and_underflow_flag() -> None:
    assert results("""
        li t0, 0x0010000000000000
        fmv.d.x ft0, t0
        li t0, 0x3fe0000000000000
        fmv.d.x ft1, t0
        fmul.d ft2, ft0, ft1
        fmv.x.d a0, ft2
        frflags a1
        li t0, 0x0010000000000001
        fmv.d.x ft3, t0
        fmul.d ft2, ft3, ft1
        fmv.x.d a2, ft2
        frflags a3
        fsqrt.d ft4, ft1
        fmv.x.d a4, ft4
    """)[:5] == [0x0008000000000000, 0, 0x0008000000000000, 0x3, 0x3FE6A09E667F3BCD]


def test_csr_access_to_absent_csr_is_illegal() -> None:
    from tests.riscv.harness import GuestFault
    with pytest.raises(GuestFault) as fault:
        run_asm("csrr a0, mstatus")
    assert fault.value.cause == 2 and fault.value.tval == 0x30002573


def test_fence_i_after_code_is_rewritten() -> None:
    cpu = run_asm("""
        li s0, 3
        la t0, patch
        li a0, 0
    again:
        jal ra, patch
        lw t1, 0(t0)
        li t2, 0x100000
        add t1, t1, t2
        sw t1, 0(t0)
        fence.i
        addi s0, s0, -1
        bnez s0, again
        j done
    patch:
        addi a0, a0, 1
        ret
    done:
    """.replace("patch:", ".section .rwx, \"awx\", @progbits\n.option norvc\npatch:").replace("done:", ".text\ndone:"))
    assert cpu.x[A0] == 1 + 2 + 3
