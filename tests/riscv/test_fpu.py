"""The IEEE-754 arithmetic of vmstack.riscv.fpu against CPython's own: exact values as Fractions, and
their correctly rounded doubles from CPython's int/int true division (plus math.nextafter for the
directed modes); singles through struct's float packing of the exact double result, which is safe for
+ - * / sqrt (double holds more than 2p+2 bits of a single)."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.riscv.harness import MinimalEnv
from vmstack.riscv import fpu, user_isa
from vmstack.riscv.cpu import Cpu
from vmstack.riscv.memory import Memory

D, S = fpu.DOUBLE, fpu.SINGLE
NAN64, NAN32 = 0x7FF8000000000000, 0x7FC00000


def as_double(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def double_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def rounded(q: Fraction, rm: int) -> float:
    """The double nearest q under rounding mode rm (q finite and nonzero; inf past the largest double)."""
    negative, q = q < 0, abs(q)
    near = q.numerator / q.denominator           # correctly rounded to nearest-even by CPython
    if Fraction(near) == q or rm == fpu.RNE:
        return -near if negative else near
    below = near if Fraction(near) < q else math.nextafter(near, 0.0)
    above = math.nextafter(below, math.inf)
    if rm == fpu.RTZ:
        magnitude = below
    elif rm in (fpu.RDN, fpu.RUP):
        magnitude = above if (rm == fpu.RUP) != negative else below
    else:  # RMM: nearest, ties away from zero (past the largest double, as if the exponent went on)
        above_value = Fraction(above) if math.isfinite(above) else Fraction(2) ** 1024
        magnitude = below if q - Fraction(below) < above_value - q else above
    return -magnitude if negative else magnitude


doubles = st.one_of(st.integers(0, (1 << 64) - 1),
                    st.floats(allow_nan=False, width=64).map(double_bits),
                    st.sampled_from([0, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
                                     0x3FF0000000000000, 0x7FF0000000000000, 0x7FF4000000000000]))
modes = st.integers(0, 4)
OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
       "div": lambda a, b: a / b}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(OPS)), doubles, doubles, modes)
def test_double_arithmetic_is_correctly_rounded(op: str, a: int, b: int, rm: int) -> None:
    x, y = as_double(a), as_double(b)
    assume(math.isfinite(x) and math.isfinite(y) and not (op == "div" and y == 0))
    exact = OPS[op](Fraction(x), Fraction(y))
    bits, flags = getattr(fpu, op)(D, rm, a, b)
    try:
        want = rounded(exact, rm) if exact else None
    except OverflowError:
        assert flags & fpu.OF
        return
    if want is None:       # an exact zero: its sign follows the operands and the mode
        assert as_double(bits) == 0 and flags == 0
        return
    if math.isinf(want) or abs(want) > 1.7976931348623157e308:
        assert flags & fpu.OF
        return
    assert bits == double_bits(want)
    assert bool(flags & fpu.NX) == (Fraction(want) != exact)


@settings(max_examples=200, deadline=None)
@given(doubles, modes)
def test_double_sqrt(a: int, rm: int) -> None:
    x = as_double(a)
    bits, flags = fpu.sqrt(D, rm, a)
    if math.isnan(x) or x < 0:
        assert bits == NAN64 and (flags == fpu.NV or (math.isnan(x) and not fpu.is_signalling(D, a)))
        return
    if math.isinf(x):
        assert (bits, flags) == (a, 0)
        return
    root = math.sqrt(x)
    if rm == fpu.RNE:
        assert bits == double_bits(root)
    assert bool(flags & fpu.NX) == (Fraction(root) ** 2 != Fraction(x))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(OPS)), st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 32) - 1))
def test_single_arithmetic_rounds_to_nearest(op: str, a: int, b: int) -> None:
    x, y = (struct.unpack("<f", struct.pack("<I", v))[0] for v in (a, b))
    assume(math.isfinite(x) and math.isfinite(y) and not (op == "div" and y == 0))
    bits, _ = getattr(fpu, op)(S, fpu.RNE, a, b)
    try:
        want = struct.pack("<f", OPS[op](x, y))
    except OverflowError:
        return
    if math.isnan(OPS[op](x, y)):
        assert bits == NAN32
    elif OPS[op](x, y) != 0:
        assert bits == struct.unpack("<I", want)[0]


@settings(max_examples=300, deadline=None)
@given(doubles, doubles, doubles, modes)
def test_fused_multiply_add_rounds_once(a: int, b: int, c: int, rm: int) -> None:
    x, y, z = as_double(a), as_double(b), as_double(c)
    assume(all(map(math.isfinite, (x, y, z))))
    exact = Fraction(x) * Fraction(y) + Fraction(z)
    assume(exact != 0)
    bits, flags = fpu.fused_multiply_add(D, rm, a, b, c, False, False)
    try:
        want = rounded(exact, rm)
    except OverflowError:
        return
    if not math.isinf(want):
        assert bits == double_bits(want)
        assert bool(flags & fpu.NX) == (Fraction(want) != exact)


def test_conversions_saturate() -> None:
    assert fpu.to_int(D, fpu.RTZ, double_bits(3e9), 32, True) == (0x7FFFFFFF, fpu.NV)
    assert fpu.to_int(D, fpu.RTZ, double_bits(-1.0), 64, False) == (0, fpu.NV)
    assert fpu.to_int(D, fpu.RTZ, double_bits(-0.5), 64, False) == (0, fpu.NX)
    assert fpu.to_int(D, fpu.RNE, double_bits(2.5), 64, True) == (2, fpu.NX)
    assert fpu.to_int(D, fpu.RMM, double_bits(2.5), 64, True) == (3, fpu.NX)
    assert fpu.to_int(S, fpu.RNE, NAN32, 64, False) == ((1 << 64) - 1, fpu.NV)
    assert fpu.from_int(S, fpu.RNE, (1 << 24) + 1) == (0x4B800000, fpu.NX)
    assert fpu.convert(D, S, fpu.RNE, 0x7FF0000000000001) == (NAN32, fpu.NV)
    assert fpu.convert(D, S, fpu.RUP, double_bits(1e-50)) == (1, fpu.NX | fpu.UF)


def test_classify() -> None:
    assert [fpu.classify(S, v) for v in (0xFF800000, 0xBF800000, 0x80000001, 0x80000000, 0, 1, 0x3F800000,
                                         0x7F800000, 0x7F800001, 0x7FC00000)] == [1 << i for i in range(10)]


def test_single_fast_path_leaves_tiny_results_to_the_exact_one() -> None:
    # (1 - 2**-24) * 2**-126 rounds to the smallest normal single but is tiny: inexact and underflow
    assert fpu.FAST[32]["mul"](0x3F7FFFFF, 0x00800000) < 0
    assert fpu.mul(S, fpu.RNE, 0x3F7FFFFF, 0x00800000) == (0x00800000, fpu.NX | fpu.UF)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "sqrt"]), st.data())
def test_single_fast_path_agrees_with_the_exact_one(op: str, data: st.DataObject) -> None:
    numbers = st.floats(allow_nan=False, allow_infinity=False, width=32)
    a, b = (int.from_bytes(struct.pack("<f", data.draw(numbers)), "little") for _ in range(2))
    fast = fpu.FAST[32][op](a, b)
    assume(fast >= 0)
    exact = fpu.sqrt(S, fpu.RNE, a) if op == "sqrt" else getattr(fpu, op)(S, fpu.RNE, a, b)
    assert (fast & ((1 << 64) - 1), fpu.NX if fast >> 64 else 0) == exact


@settings(max_examples=300, deadline=None)
@given(doubles, doubles)
def test_comparisons_follow_cpython(a: int, b: int) -> None:
    x, y = as_double(a), as_double(b)
    nan = math.isnan(x) or math.isnan(y)
    signalling = fpu.is_signalling(D, a) or fpu.is_signalling(D, b)
    assert fpu.compare(D, "eq", a, b) == (int(x == y), fpu.NV if signalling else 0)
    assert fpu.compare(D, "lt", a, b) == (int(x < y), fpu.NV if nan else 0)
    assert fpu.compare(D, "le", a, b) == (int(x <= y), fpu.NV if nan else 0)


class FcsrOnly:
    """What the arithmetic helpers see of a Cpu."""

    def __init__(self, fcsr: int) -> None:
        self.fcsr = fcsr


def check_double_helper(op: str, a: int, b: int, rm: int, frm: int, fflags: int) -> None:
    """user_isa's one-call fadd.d ... fsqrt.d against fpu's exact arithmetic, in the static mode rm or
    (rm 7) the dynamic one frm, over whatever flags were accrued before."""
    cpu = FcsrOnly(frm << 5 | fflags)
    got = user_isa.FLOAT_HELPERS[f"double_{op}"](cpu, rm, a, b)
    mode = frm if rm == 7 else rm
    exact = fpu.sqrt(D, mode, a) if op == "sqrt" else getattr(fpu, op)(D, mode, a, b)
    assert (got, cpu.fcsr) == (exact[0], frm << 5 | fflags | exact[1])


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "sqrt"]), doubles, doubles, st.sampled_from([0, 1, 2, 3, 4, 7]),
       modes, st.integers(0, 31))
def test_double_helpers_agree_with_the_exact_arithmetic(op: str, a: int, b: int, rm: int, frm: int,
                                                         fflags: int) -> None:
    check_double_helper(op, a, b, rm, frm, fflags)


MIN_NORMAL, MAX_DOUBLE, ONE = 0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0x3FF0000000000000
EDGES = [  # (op, a, b): results at the fast path's boundaries
    ("mul", MIN_NORMAL, 0x3FE0000000000000),            # 2**-1022 * 0.5: exact subnormal, no underflow
    ("mul", MIN_NORMAL | 1, 0x3FE0000000000000),        # inexact subnormal: underflow
    ("mul", MIN_NORMAL | 1, 0x3FEFFFFFFFFFFFFF),        # rounds up to the smallest normal
    ("mul", 0x3FEFFFFFFFFFFFFF, MIN_NORMAL),            # (1 - 2**-53) * 2**-1022 rounds to the smallest
                                                        # normal, yet is tiny: inexact and underflow
    ("div", MIN_NORMAL, 0x3FF0000000000001),            # just below the smallest normal, rounding up to it
    ("mul", 0x0020000000000000, 0x3FE0000000000000),    # exactly the smallest normal
    ("mul", MAX_DOUBLE, 0x4000000000000000),            # overflow
    ("mul", MAX_DOUBLE, ONE),                           # the largest double, exactly
    ("add", MAX_DOUBLE, 0x7CA0000000000000),            # half an ulp of the largest: overflows (ties to even)
    ("add", MAX_DOUBLE, 0x7C9FFFFFFFFFFFFF),            # just under half an ulp: inexact, no overflow
    ("add", ONE, 0x3CA0000000000000),                   # 1 + 2**-53: a tie, rounds to 1
    ("add", ONE, 0x3CA0000000000001),                   # just over the tie
    ("sub", ONE, ONE),                                  # exact zero (+0)
    ("add", ONE, 0xBFF0000000000000),                   # 1 + -1: +0
    ("sub", 0x0010000000000001, MIN_NORMAL),            # a subnormal difference, exact (no underflow flag)
    ("add", 0x8000000000000000, 0),                     # -0 + +0
    ("sub", 0x8000000000000000, 0),                     # -0 - +0: -0
    ("mul", 0x8000000000000000, ONE),                   # -0 * 1
    ("mul", 1, ONE),                                    # subnormal operand
    ("div", ONE, 0x4008000000000000),                   # 1/3: inexact
    ("div", 0x4008000000000000, 0x4008000000000000),    # 3/3: exact
    ("div", ONE, 0),                                    # division by zero
    ("div", ONE, 0x8000000000000000),                   # division by -0
    ("div", 0, 0),                                      # 0 / 0: invalid
    ("div", MIN_NORMAL, 0x4000000000000000),            # exact subnormal quotient
    ("div", MAX_DOUBLE, 0x3FE0000000000000),            # overflow
    ("sqrt", 0x4010000000000000, 0),                    # sqrt(4) = 2 exactly
    ("sqrt", 0x4000000000000000, 0),                    # sqrt(2): inexact
    ("sqrt", 0x8000000000000000, 0),                    # sqrt(-0) = -0
    ("sqrt", 0xBFF0000000000000, 0),                    # sqrt(-1): invalid
    ("sqrt", 1, 0),                                     # subnormal operand
    ("add", 0x7FF4000000000000, ONE),                   # signalling NaN: invalid, canonical NaN
    ("mul", 0x7FF8000000000001, ONE),                   # quiet NaN payload dropped, no flag
    ("add", 0x7FF0000000000000, 0xFFF0000000000000),    # inf - inf: invalid
]


@pytest.mark.parametrize(("op", "a", "b"), EDGES)
@pytest.mark.parametrize(("rm", "frm"), [(0, 0), (7, 0), (7, 1), (3, 0), (4, 2), (1, 4)])
@pytest.mark.parametrize("fflags", [0, fpu.NX, 0x1F ^ fpu.NX])
def test_double_helpers_at_the_edges(op: str, a: int, b: int, rm: int, frm: int, fflags: int) -> None:
    check_double_helper(op, a, b, rm, frm, fflags)
    check_double_helper(op, a ^ fpu.DOUBLE.sign, b, rm, frm, fflags)


HART = Cpu(Memory(), MinimalEnv())   # one: a Cpu on a new Memory builds every instruction's step


def check_instruction(name: str, a: int, b: int, rm: int, frm: int, fflags: int) -> None:
    """One F/D instruction's template (the interpreter's step, the same expression a block pastes in)
    on f1, f2 into f3, against fpu's exact arithmetic."""
    cpu = HART
    cpu.f[1], cpu.f[2], cpu.fcsr = a, b, frm << 5 | fflags
    cpu.steps[name](cpu, cpu.x, cpu.f, 0x1000, 3, 1, 2, 0, 0, rm, 0x1004)
    exact = getattr(fpu, name[1:4])(D, frm if rm == 7 else rm, a, b)
    assert (cpu.f[3], cpu.fcsr) == (exact[0], frm << 5 | fflags | exact[1])


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["fadd.d", "fsub.d", "fmul.d", "fdiv.d"]), doubles, doubles, st.sampled_from([0, 1, 2, 3, 4, 7]),
       modes, st.sampled_from([fpu.NX, fpu.NX | fpu.OF, 0, fpu.UF]))
def test_double_instructions_once_inexact_is_accrued(name: str, a: int, b: int, rm: int, frm: int,
                                                     fflags: int) -> None:
    check_instruction(name, a, b, rm, frm, fflags)


@pytest.mark.parametrize(("op", "a", "b"), [edge for edge in EDGES if edge[0] != "sqrt"])
@pytest.mark.parametrize(("rm", "frm"), [(0, 0), (7, 0), (7, 2), (2, 0), (4, 0)])
def test_double_instructions_at_the_edges_once_inexact_is_accrued(op: str, a: int, b: int, rm: int,
                                                                   frm: int) -> None:
    for sign in (0, fpu.DOUBLE.sign):
        check_instruction(f"f{op}.d", a ^ sign, b, rm, frm, fpu.NX)
