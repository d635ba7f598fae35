"""The IEEE-754 arithmetic of vmstack.riscv.fpu against CPython's own: exact values as Fractions, and
their correctly rounded doubles from CPython's int/int true division (plus math.nextafter for the
directed modes); singles through struct's float packing of the exact double result, which is safe for
+ - * / sqrt (double holds more than 2p+2 bits of a single)."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmstack.riscv import fpu

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


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "sqrt"]), st.sampled_from([32, 64]), st.data())
def test_fast_path_agrees_with_the_exact_one(op: str, bits: int, data: st.DataObject) -> None:
    fmt, pack = (S, "<f") if bits == 32 else (D, "<d")
    numbers = st.floats(allow_nan=False, allow_infinity=False, width=bits)
    a, b = (int.from_bytes(struct.pack(pack, data.draw(numbers)), "little") for _ in range(2))
    fast = fpu.FAST[bits][op](a, b)
    assume(fast >= 0)
    exact = fpu.sqrt(fmt, fpu.RNE, a) if op == "sqrt" else getattr(fpu, op)(fmt, fpu.RNE, a, b)
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
