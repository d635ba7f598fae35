"""Scalar numeric semantics of WebAssembly (i32, i64, f32, f64).

Representation (see module.py): integers are unsigned canonical Python ints;
f32 and f64 are Python floats. An f32 NaN keeps its full bit pattern, signalling
or quiet: its 23-bit mantissa sits in the top 23 bits of the double's 52-bit
mantissa (shifted left by 29) and the sign is kept, so neg/abs/copysign and
loads/stores preserve payloads exactly. Every other f32 value is held as the
double of the same value: f32 arithmetic computes in double and rounds once to
binary32 (exact for add, sub, mul, div and sqrt).

``SCALAR_OPS`` maps each scalar numeric instruction name to a Python expression
template (``str.format`` syntax, ``{0}`` the deeper operand) evaluated with this
module's namespace as globals; cheap operations are inline, the rest call the
helpers below. Traps raise ``Trap`` with the spec's messages. NaN results of
arithmetic are quiet: the canonical NaN when every input is canonical, else the
hardware's propagation of an input's payload (an arithmetic NaN: the first NaN
operand's), as the spec allows. The compiled tier (vmstack.jit) gives the same bits.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from .errors import Trap

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")


def f64_from_bits(bits: int) -> float:
    return _F64.unpack(_U64.pack(bits))[0]


def f64_to_bits(value: float) -> int:
    return _U64.unpack(_F64.pack(value))[0]


def f32_from_bits(bits: int) -> float:
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x007FFFFF:
        sign = (bits >> 31) << 63
        return f64_from_bits(sign | (0x7FF << 52) | ((bits & 0x007FFFFF) << 29))
    return _F32.unpack(_U32.pack(bits))[0]


def f32_to_bits(value: float) -> int:
    if value != value:  # noqa: PLR0124 - the cheapest NaN test
        bits = f64_to_bits(value)
        mantissa = (bits >> 29) & 0x007FFFFF
        return ((bits >> 63) << 31) | 0x7F800000 | (mantissa or 0x00400000)
    return _U32.unpack(_F32.pack(value))[0]


# ---------------------------------------------------------------- helpers the templates call

f32_load = f32_from_bits
f32_store_bits = f32_to_bits

_pack_f32 = _F32.pack
_unpack_f32 = _F32.unpack
copysign = math.copysign
_sqrt = math.sqrt
INF = math.inf
NAN = math.nan  # the canonical quiet NaN, 0x7ff8000000000000 (as f32: 0x7fc00000)
_TWO_52 = 4503599627370496.0  # every double of at least this magnitude is an integer
_TWO_53 = 1 << 53  # every integer up to this magnitude is exact as a double


def f32r(x: float) -> float:
    """Round a double to the nearest binary32 value (ties to even; overflow → ±inf)."""
    try:
        return _unpack_f32(_pack_f32(x))[0]
    except OverflowError:
        return copysign(INF, x)


def divide_by_zero() -> int:
    raise Trap("integer divide by zero")


def idiv_s(a: int, b: int, bits: int) -> int:
    """Signed division truncating toward zero of two `bits`-wide integers."""
    half = 1 << (bits - 1)
    if a < half and 0 < b < half:
        return a // b
    if not b:
        divide_by_zero()
    if a == half and b == (half << 1) - 1:
        raise Trap("integer overflow")
    a = (a ^ half) - half
    b = (b ^ half) - half
    quotient = abs(a) // abs(b)
    return quotient if (a ^ b) >= 0 else -quotient & ((half << 1) - 1)


def irem_s(a: int, b: int, bits: int) -> int:
    """Signed remainder (sign of the dividend) of two `bits`-wide integers."""
    half = 1 << (bits - 1)
    if a < half and 0 < b < half:
        return a % b
    if not b:
        divide_by_zero()
    a = (a ^ half) - half
    b = (b ^ half) - half
    remainder = abs(a) % abs(b)
    return remainder if a >= 0 else -remainder & ((half << 1) - 1)


def fdiv(a: float, b: float) -> float:
    """IEEE division: x/±0 is ±inf, 0/0 and NaN/0 the canonical NaN."""
    if b:
        return a / b
    if a > 0 or a < 0:
        return copysign(INF, a) * copysign(1.0, b)
    return NAN


def fsqrt(x: float) -> float:
    try:
        return _sqrt(x)
    except ValueError:  # negative, -inf
        return NAN



def fmin(a: float, b: float) -> float:
    if a < b:
        return a
    if b < a:
        return b
    if a == b:  # equal, or ±0: the negative one
        return a if copysign(1.0, a) < 0 else b
    return a * 1.0 if a != a else b * 1.0  # noqa: PLR0124 - a NaN operand, quieted (the first if both)


def fmax(a: float, b: float) -> float:
    if a > b:
        return a
    if b > a:
        return b
    if a == b:  # equal, or ±0: the positive one
        return b if copysign(1.0, a) < 0 else a
    return a * 1.0 if a != a else b * 1.0  # noqa: PLR0124 - a NaN operand, quieted (the first if both)


def _integral_rounding(to_int: Callable[[float], int], name: str) -> Callable[[float], float]:
    """A float → float rounding to an integral value that keeps the sign (ceil(-0.5) is -0.0)."""
    def rounded(x: float) -> float:
        if -_TWO_52 < x < _TWO_52:
            return copysign(to_int(x), x)
        return x * 1.0  # already integral, ±inf, or NaN (quieted)
    rounded.__name__ = rounded.__qualname__ = name
    return rounded


fceil = _integral_rounding(math.ceil, "fceil")
ffloor = _integral_rounding(math.floor, "ffloor")
ftrunc = _integral_rounding(math.trunc, "ftrunc")
fnearest = _integral_rounding(round, "fnearest")  # round() on a float: half to even


def fpromote(x: float) -> float:
    """f64.promote_f32: exact, and a signalling NaN comes out quiet."""
    return x * 1.0


def trunc_to_int(x: float, lo: int, hi: int, bits: int) -> int:
    """Truncate toward zero to an integer in [lo, hi], as a `bits`-wide unsigned value; trap outside."""
    try:
        n = int(x)
    except ValueError:
        raise Trap("invalid conversion to integer") from None
    except OverflowError:
        raise Trap("integer overflow") from None
    if lo <= n <= hi:
        return n if n >= 0 else n + (1 << bits)
    raise Trap("integer overflow")


def trunc_sat(x: float, lo: int, hi: int, bits: int) -> int:
    """Truncate toward zero, saturating to [lo, hi]; NaN gives 0."""
    if x < lo:
        n = lo
    elif x > hi:
        n = hi
    else:
        try:
            n = int(x)
        except ValueError:  # NaN
            return 0
    return n if n >= 0 else n + (1 << bits)


def int_to_f32(n: int) -> float:
    """Correctly rounded integer → binary32 (not through a rounded double: that would round twice)."""
    if -_TWO_53 <= n <= _TWO_53:
        return _unpack_f32(_pack_f32(n))[0]
    # keep 24 bits, a rounding bit and a sticky bit: exact as a double, then rounded once
    magnitude = abs(n)
    shift = magnitude.bit_length() - 26
    kept = (magnitude >> shift) | ((magnitude & ((1 << shift) - 1)) != 0)
    value = float(kept << shift)
    return _unpack_f32(_pack_f32(value if n > 0 else -value))[0]


# ---------------------------------------------------------------- the table


def _int_ops(t: str, bits: int) -> dict[str, str]:
    mask = hex((1 << bits) - 1)
    sign = hex(1 << (bits - 1))
    shift = f"({{1}} & {bits - 1})"
    ops = {
        "eqz": "(1 if {0} == 0 else 0)",
        "eq": "(1 if {0} == {1} else 0)",
        "ne": "(1 if {0} != {1} else 0)",
        "lt_u": "(1 if {0} < {1} else 0)",
        "gt_u": "(1 if {0} > {1} else 0)",
        "le_u": "(1 if {0} <= {1} else 0)",
        "ge_u": "(1 if {0} >= {1} else 0)",
        "clz": f"({bits} - {{0}}.bit_length())",
        "ctz": f"(~{{0}} & ({{0}} - 1) & {mask}).bit_length()",
        "popcnt": "{0}.bit_count()",
        "add": f"(({{0}} + {{1}}) & {mask})",
        "sub": f"(({{0}} - {{1}}) & {mask})",
        "mul": f"(({{0}} * {{1}}) & {mask})",
        "div_s": f"idiv_s({{0}}, {{1}}, {bits})",
        "div_u": "({0} // ({1} or divide_by_zero()))",
        "rem_s": f"irem_s({{0}}, {{1}}, {bits})",
        "rem_u": "({0} % ({1} or divide_by_zero()))",
        "and": "({0} & {1})",
        "or": "({0} | {1})",
        "xor": "({0} ^ {1})",
        "shl": f"(({{0}} << {shift}) & {mask})",
        "shr_s": f"(((({{0}} ^ {sign}) - {sign}) >> {shift}) & {mask})",
        "shr_u": f"({{0}} >> {shift})",
        "rotl": f"((({{0}} << {shift}) | ({{0}} >> (-{{1}} & {bits - 1}))) & {mask})",
        "rotr": f"((({{0}} >> {shift}) | ({{0}} << (-{{1}} & {bits - 1}))) & {mask})",
        "extend8_s": f"(((({{0}} & 0xFF) ^ 0x80) - 0x80) & {mask})",
        "extend16_s": f"(((({{0}} & 0xFFFF) ^ 0x8000) - 0x8000) & {mask})",
    }
    for cmp, op in (("lt_s", "<"), ("gt_s", ">"), ("le_s", "<="), ("ge_s", ">=")):
        ops[cmp] = f"(1 if ({{0}} ^ {sign}) {op} ({{1}} ^ {sign}) else 0)"
    if bits == 64:
        ops["extend32_s"] = f"(((({{0}} & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) & {mask})"
    return {f"{t}.{k}": v for k, v in ops.items()}


def _float_ops(t: str) -> dict[str, str]:
    r = "f32r" if t == "f32" else ""  # f32: compute in double, round once
    ops = {
        "eq": "(1 if {0} == {1} else 0)",
        "ne": "(1 if {0} != {1} else 0)",
        "lt": "(1 if {0} < {1} else 0)",
        "gt": "(1 if {0} > {1} else 0)",
        "le": "(1 if {0} <= {1} else 0)",
        "ge": "(1 if {0} >= {1} else 0)",
        "abs": "abs({0})",
        "neg": "(-{0})",
        "copysign": "copysign({0}, {1})",
        "ceil": "fceil({0})",
        "floor": "ffloor({0})",
        "trunc": "ftrunc({0})",
        "nearest": "fnearest({0})",
        "min": "fmin({0}, {1})",
        "max": "fmax({0}, {1})",
        # x86 propagates the first NaN operand, but CPython's float add and multiply pass their
        # operands in either order (its specialised and generic paths differ): with a NaN first
        # operand the NaN is taken explicitly, so the result does not depend on how warm the code is
        "add": f"{r}({{0}} + {{1}} if {{0}} == {{0}} else {{0}} * 1.0)",
        "sub": f"{r}({{0}} - {{1}})",
        "mul": f"{r}({{0}} * {{1}} if {{0}} == {{0}} else {{0}} * 1.0)",
        "div": f"{r}({{0}} / {{1}} if {{1}} else fdiv({{0}}, {{1}}))",
        "sqrt": f"{r}(fsqrt({{0}}))",
    }
    return {f"{t}.{k}": v for k, v in ops.items()}


def _conversion_ops() -> dict[str, str]:
    s32 = "(({0} ^ 0x80000000) - 0x80000000)"
    s64 = "(({0} ^ 0x8000000000000000) - 0x8000000000000000)"
    ops = {
        "i32.wrap_i64": "({0} & 0xFFFFFFFF)",
        "i64.extend_i32_s": f"({s32} & 0xFFFFFFFFFFFFFFFF)",
        "i64.extend_i32_u": "{0}",
        "f32.convert_i32_s": f"int_to_f32({s32})",
        "f32.convert_i32_u": "int_to_f32({0})",
        "f32.convert_i64_s": f"int_to_f32({s64})",
        "f32.convert_i64_u": "int_to_f32({0})",
        "f64.convert_i32_s": f"float({s32})",
        "f64.convert_i32_u": "float({0})",
        "f64.convert_i64_s": f"float({s64})",
        "f64.convert_i64_u": "float({0})",  # int → float rounds correctly, ties to even
        "f32.demote_f64": "f32r({0})",
        "f64.promote_f32": "fpromote({0})",
        "i32.reinterpret_f32": "f32_to_bits({0})",
        "i64.reinterpret_f64": "f64_to_bits({0})",
        "f32.reinterpret_i32": "f32_from_bits({0})",
        "f64.reinterpret_i64": "f64_from_bits({0})",
    }
    ranges = {"i32": {"s": (-(1 << 31), (1 << 31) - 1), "u": (0, (1 << 32) - 1)},
              "i64": {"s": (-(1 << 63), (1 << 63) - 1), "u": (0, (1 << 64) - 1)}}
    for it, by_sign in ranges.items():
        bits = int(it[1:])
        for ft in ("f32", "f64"):
            for sign, (lo, hi) in by_sign.items():
                ops[f"{it}.trunc_{ft}_{sign}"] = f"trunc_to_int({{0}}, {lo}, {hi}, {bits})"
                ops[f"{it}.trunc_sat_{ft}_{sign}"] = f"trunc_sat({{0}}, {lo}, {hi}, {bits})"
    return ops


SCALAR_OPS: dict[str, str] = {
    **_int_ops("i32", 32), **_int_ops("i64", 64), **_float_ops("f32"), **_float_ops("f64"),
    **_conversion_ops(),
}
