"""The translator's fast paths. Doubles held as Python floats: a translated block computing on them gives
fpu's exact results and flags in every rounding mode (the fast path and the helper, chained through a
float-held result), keeps NaN payloads through moves and stores, follows an frm write in the middle of a
block, and leaves exact state when a later instruction faults (also in a looping block). Accesses through
one base register sharing a page lookup, and grouped into one struct call: right at and across a page's
end, in program order, and exact (the interpreter's state) when one of them faults."""

from __future__ import annotations

import functools
import struct

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.riscv.harness import GuestExit, GuestFault, MinimalEnv, build_elf, load_elf
from tests.riscv.test_fpu import EDGES, doubles
from vmstack.riscv import fpu
from vmstack.riscv.cpu import Cpu
from vmstack.riscv.memory import Memory

D = fpu.DOUBLE
RMS = ["rne", "rtz", "rdn", "rup", "rmm", "dyn"]

ARITHMETIC = """
.globl _start
_start:
    la a0, data
    ld t0, 24(a0)
    fscsr t0
    fld f1, 0(a0)
    fld f2, 8(a0)
    {first}
    fsd f3, 16(a0)
    {second}
    fsd f4, 32(a0)
    fsgnjn.d f5, f1, f2
    fmv.d f6, f2
    fsd f5, 48(a0)
    fsd f6, 56(a0)
    frcsr t1
    sd t1, 40(a0)
    li a7, 93
    ecall
.data
.balign 8
data: .zero 64
"""


@functools.cache
def loaded(source: str) -> tuple[Cpu, int, int]:
    """A Cpu with the program loaded, every block translated at once; its entry and the address of its
    data. The Cpu is reused (its blocks stay translated): ``start`` resets it."""
    path = build_elf(source)
    memory = Memory()
    cpu = Cpu(memory, MinimalEnv())
    cpu.hot = 0
    entry = load_elf(path, memory)
    with open(path, "rb") as fh:
        symbol = ELFFile(fh).get_section_by_name(".symtab").get_symbol_by_name("data")
    return cpu, entry, symbol[0]["st_value"] if symbol else 0


def start(source: str) -> tuple[Cpu, int]:
    """The Cpu of ``loaded`` at the program's entry with its registers cleared; the address of its data."""
    cpu, entry, data = loaded(source)
    cpu.pc, cpu.fcsr, cpu.instret = entry, 0, 0
    cpu.x[:] = [0] * 32
    cpu.f[:] = [0] * 32
    return cpu, data


def arithmetic(op: str, rm: str) -> str:
    """ARITHMETIC for op in rounding mode rm."""
    if op == "sqrt":
        return ARITHMETIC.format(first=f"fsqrt.d f3, f1, {rm}", second=f"fsqrt.d f4, f3, {rm}")
    return ARITHMETIC.format(first=f"f{op}.d f3, f1, f2, {rm}", second=f"f{op}.d f4, f3, f2, {rm}")


def exact(op: str, rm: int, a: int, b: int) -> tuple[int, int]:
    return fpu.sqrt(D, rm, a) if op == "sqrt" else getattr(fpu, op)(D, rm, a, b)


def check_block(op: str, rm: str, a: int, b: int, frm: int, fflags: int) -> None:
    cpu, data = start(arithmetic(op, rm))
    cpu.memory.poke(data, struct.pack("<QQQQ", a, b, 0, frm << 5 | fflags))
    with pytest.raises(GuestExit):
        cpu.run(1000)
    mode = frm if rm == "dyn" else RMS.index(rm)
    first, flags1 = exact(op, mode, a, b)
    second, flags2 = exact(op, mode, first, b)
    fcsr = frm << 5 | fflags | flags1 | flags2
    stored = struct.unpack_from("<8Q", cpu.memory.read(data, 64))
    negated = a & ~D.sign | (b ^ D.sign) & D.sign
    assert (stored[2], stored[4], stored[5], stored[6], stored[7]) == (first, second, fcsr, negated, b)
    assert (cpu.f[3], cpu.f[4], cpu.f[5], cpu.f[6], cpu.fcsr) == (first, second, negated, b, fcsr)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "sqrt"]), st.sampled_from(RMS), doubles, doubles,
       st.integers(0, 4), st.sampled_from([fpu.NX, 0, fpu.NX | fpu.UF, 0x1F]))
def test_translated_double_arithmetic_is_exact(op: str, rm: str, a: int, b: int, frm: int, fflags: int) -> None:
    check_block(op, rm, a, b, frm, fflags)


@pytest.mark.parametrize(("op", "a", "b"), EDGES)
@pytest.mark.parametrize(("rm", "frm"), [("rne", 0), ("dyn", 0), ("dyn", 1), ("rup", 0)])
def test_translated_double_arithmetic_at_the_edges(op: str, a: int, b: int, rm: str, frm: int) -> None:
    for sign in (0, D.sign):
        check_block(op, rm, a ^ sign, b, frm, fpu.NX)


def test_frm_written_inside_a_block_applies_to_the_next_instruction() -> None:
    cpu, data = start(ARITHMETIC.format(first="fdiv.d f3, f1, f2", second="fsrmi 1\n    fdiv.d f4, f1, f2"))
    one, ten = 0x3FF0000000000000, 0x4024000000000000
    cpu.memory.poke(data, struct.pack("<QQQQ", one, ten, 0, fpu.NX))
    with pytest.raises(GuestExit):
        cpu.run(1000)
    nearest, toward_zero = fpu.div(D, fpu.RNE, one, ten)[0], fpu.div(D, fpu.RTZ, one, ten)[0]
    assert nearest != toward_zero
    assert (cpu.f[3], cpu.f[4], cpu.fcsr) == (nearest, toward_zero, 1 << 5 | fpu.NX)


FLOAT_WALK = """
.globl _start
_start:
    la t0, buf
    fmv.d.x f3, zero
    li a0, 0
loop:
    fld f1, 0(t0)
    fadd.d f3, f3, f1
    addi a0, a0, 1
    addi t0, t0, 8
    {back}
.data
.balign 4096
buf: .fill 512, 8, 0x3FF8000000000000
"""


@pytest.mark.parametrize("back", ["j loop", "bnez t0, loop"])
def test_fault_after_float_results_is_exact(back: str) -> None:
    cpu, _ = start(FLOAT_WALK.format(back=back))
    cpu.fcsr = fpu.NX
    with pytest.raises(GuestFault) as fault:
        cpu.run(10 ** 7)
    walked = cpu.x[10]     # buf, then whatever the data segment has after it, up to its end
    assert fault.value.cause == 13 and fault.value.tval == cpu.x[5] and walked >= 512
    words = struct.unpack(f"<{walked}Q", cpu.memory.read(cpu.x[5] - 8 * walked, 8 * walked))
    total, flags = 0, 0
    for word in words:
        total, raised = fpu.add(D, fpu.RNE, total, word)
        flags |= raised
    assert (cpu.f[3], cpu.fcsr) == (total, fpu.NX | flags)
    assert cpu.instret == 4 + 5 * walked       # la, fmv.d.x, li, then the full iterations


PAGE_RUN = """
.globl _start
_start:
    lla t0, data
    {base}
    li a0, 0x11223344
    li a1, 0x55667788
    li a2, 0x3333
    sd a0, {o0}(t0)
    sd a1, {o8}(t0)
    sh a2, {o16}(t0)
    sd a1, {o3}(t0)
    ld a3, {o0}(t0)
    ld a4, {o8}(t0)
    lhu a5, {o16}(t0)
    li a7, 93
    ecall
.data
.balign 4096
data: .zero 8192
"""


def page_run(base: str, shift: int = 0) -> str:
    """PAGE_RUN with the base register set by ``base`` plus shift, its offsets less shift."""
    offsets = {f"o{n}": n - shift for n in (0, 3, 8, 16)}
    return PAGE_RUN.format(base=f"{base}\n    addi t0, t0, {shift}", **offsets)


@pytest.mark.parametrize("shift", [0, 16])   # offsets from 0 up, or ending at 0
@pytest.mark.parametrize("at", [0, 4080, 4088, 4094])   # the run's accesses within a page, or crossing it
def test_accesses_through_one_base_register_across_a_page_end(at: int, shift: int) -> None:
    cpu, data = start(page_run(f"addi t0, t0, {at // 2}\n    addi t0, t0, {at - at // 2}", shift))
    with pytest.raises(GuestExit):
        cpu.run(1000)
    expected = bytearray(24)
    struct.pack_into("<QQH", expected, 0, 0x11223344, 0x55667788, 0x3333)
    struct.pack_into("<Q", expected, 3, 0x55667788)
    assert cpu.memory.read(data + at, 24) == bytes(expected)
    assert cpu.x[13:16] == list(struct.unpack_from("<QQH", expected))


@pytest.mark.parametrize(("at", "done"), [(8192, 0), (8184, 1), (8176, 2)])
def test_fault_inside_a_run_of_accesses_is_exact(at: int, done: int) -> None:
    """The run's base register points at, or near the end of, the last mapped page: the first access
    past it faults, the ones before it are done; the state is the interpreter's."""
    source = page_run(f"li t1, {at}\n    add t0, t0, t1")
    states = []
    _, _, data = loaded(source)
    for hot in (0, 10 ** 9):
        memory = Memory()
        cpu = Cpu(memory, MinimalEnv())
        cpu.hot = hot
        cpu.pc = load_elf(build_elf(source), memory)
        memory.unmap(data + 8192, 4096)
        with pytest.raises(GuestFault) as fault:
            cpu.run(1000)
        assert (fault.value.cause, fault.value.tval) == (15, data + 8192)
        assert cpu.memory.read(data + at, 8192 - at) == struct.pack("<QQ", 0x11223344, 0x55667788)[:8 * done]
        states.append((cpu.pc, cpu.instret, list(cpu.x)))
    assert states[0] == states[1]


GROUPS = """
.globl _start
_start:
    lla t0, data
    {base}
    li a1, 0x55667788
    sd a1, 16(t0)
    sd a1, 0(t0)
    sw a1, 28(t0)
    sw a1, 24(t0)
    ld a2, 0(t0)
    ld a2, 8(t0)
    ld a3, 24(t0)
    ld a4, 0(t0)
    lwu a5, 12(t0)
    li a7, 93
    ecall
.data
.balign 4096
data: .quad 1, 2, 3, 4
.zero 4064
"""


def test_grouped_accesses_keep_program_order_and_the_bytes_between() -> None:
    """Stores through one base register at offsets with a gap between, loads into one register twice,
    in descending offsets: as the instructions one by one."""
    cpu, data = start(GROUPS.format(base=""))
    with pytest.raises(GuestExit):
        cpu.run(1000)
    value = 0x55667788
    assert struct.unpack("<4Q", cpu.memory.read(data, 32)) == (value, 2, value, value | value << 32)
    assert cpu.x[12:16] == [2, value | value << 32, value, 0]


FLOAT_GROUPS = """
.globl _start
_start:
    lla t0, data
    {base}
    fld f1, 8(t0)
    fld f2, 0(t0)
    fadd.d f3, f1, f2
    fsd f3, 16(t0)
    fsd f1, 24(t0)
    fsd f2, 32(t0)
    fmv.x.d a0, f3
    li a7, 93
    ecall
.data
.balign 4096
data: .double 1.5, 2.25
.zero 4080
"""


def test_grouped_float_accesses() -> None:
    cpu, data = start(FLOAT_GROUPS.format(base=""))
    with pytest.raises(GuestExit):
        cpu.run(1000)
    assert struct.unpack("<5d", cpu.memory.read(data, 40)) == (1.5, 2.25, 3.75, 2.25, 1.5)
    assert cpu.x[10] == struct.unpack("<Q", struct.pack("<d", 3.75))[0]


@pytest.mark.parametrize("program", [GROUPS, FLOAT_GROUPS], ids=["integer", "float"])
@pytest.mark.parametrize("at", [4096 - 8, 4096 - 16, 4096 - 24, 4096 - 28])
def test_fault_inside_a_group_is_exact(program: str, at: int) -> None:
    """The page after data unmapped: the group's struct call fails, its accesses run one by one up to
    the faulting one; the state is the interpreter's."""
    source = program.format(base=f"li t1, {at}\n    add t0, t0, t1")
    _, _, data = loaded(source)
    states = []
    for hot in (0, 10 ** 9):
        memory = Memory()
        cpu = Cpu(memory, MinimalEnv())
        cpu.hot = hot
        cpu.pc = load_elf(build_elf(source), memory)
        memory.unmap(data + 4096, 4096)
        with pytest.raises(GuestFault) as fault:
            cpu.run(1000)
        states.append((fault.value.cause, fault.value.tval, cpu.pc, cpu.instret, list(cpu.x), list(cpu.f),
                       memory.read(data + 4096 - 32, 32)))
    assert states[0] == states[1]
