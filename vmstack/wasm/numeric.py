"""Scalar numeric semantics of WebAssembly (i32, i64, f32, f64).

Representation (see module.py): integers are unsigned canonical Python ints;
f32 and f64 are Python floats. An f32 NaN keeps its full bit pattern, signalling
or quiet: its 23-bit mantissa sits in the top 23 bits of the double's 52-bit
mantissa (shifted left by 29) and the sign is kept, so neg/abs/copysign and
loads/stores preserve payloads exactly.
"""

from __future__ import annotations

import math
import struct

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
    if value != value:
        bits = f64_to_bits(value)
        mantissa = (bits >> 29) & 0x007FFFFF
        return ((bits >> 63) << 31) | 0x7F800000 | (mantissa or 0x00400000)
    return _U32.unpack(_F32.pack(value))[0]


# ---------------------------------------------------------------- helpers used by the templates

_pack_f32 = _F32.pack
_unpack_f32 = _F32.unpack
INF = math.inf
NAN = math.nan
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def f32r(x: float) -> float:
    """Round a double to the nearest binary32 value (ties to even; overflow → ±inf)."""
    try:
        return _unpack_f32(_pack_f32(x))[0]
    except OverflowError:
        return math.copysign(INF, x)


def s32(a: int) -> int:
    return (a ^ 0x80000000) - 0x80000000


def s64(a: int) -> int:
    return (a ^ 0x8000000000000000) - 0x8000000000000000


def idiv_s(a: int, b: int, bits: int) -> int:
    half = 1 << (bits - 1)
    a = (a ^ half) - half
    b = (b ^ half) - half
    if b == 0:
        raise Trap("integer divide by zero")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    if q >= half:
        raise Trap("integer overflow")
    return q & ((1 << bits) - 1)


def irem_s(a: int, b: int, bits: int) -> int:
    half = 1 << (bits - 1)
    a = (a ^ half) - half
    b = (b ^ half) - half
    if b == 0:
        raise Trap("integer divide by zero")
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & ((1 << bits) - 1)


def ctz(a: int, bits: int) -> int:
    return bits if a == 0 else (a & -a).bit_length() - 1


def rotl(a: int, k: int, bits: int) -> int:
    k %= bits
    return ((a << k) | (a >> (bits - k))) & ((1 << bits) - 1)


def rotr(a: int, k: int, bits: int) -> int:
    k %= bits
    return ((a >> k) | (a << (bits - k))) & ((1 << bits) - 1)


def fdiv(a: float, b: float) -> float:
    if b:
        return a / b
    if a != a or a == 0:
        return NAN
    return math.copysign(INF, a) * math.copysign(1.0, b)


def fsqrt(x: float) -> float:
    if x >= 0 or x != x:
        return math.sqrt(x) if x == x else x + x
    return NAN


def fmin(a: float, b: float) -> float:
    if a != a or b != b:
        return a + b
    if a == b:  # ±0: the negative one
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def fmax(a: float, b: float) -> float:
    if a != a or b != b:
        return a + b
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a
    return a if a > b else b


def _integral(x: float, rounding) -> float:
    if x != x:
        return x + x
    if x in (INF, -INF) or abs(x) >= 4503599627370496.0:
        return x
    return math.copysign(float(rounding(x)), x)


def fceil(x: float) -> float:
    return _integral(x, math.ceil)


def ffloor(x: float) -> float:
    return _integral(x, math.floor)


def ftrunc(x: float) -> float:
    return _integral(x, math.trunc)


def fnearest(x: float) -> float:
    return _integral(x, round)


def fpromote(x: float) -> float:
    return x if x == x else x + 0.0


def trunc_to_int(x: float, lo: int, hi: int, bits: int) -> int:
    """Truncate toward zero; trap when NaN or outside [lo, hi]."""
    if x != x:
        raise Trap("invalid conversion to integer")
    if x in (INF, -INF):
        raise Trap("integer overflow")
    n = math.trunc(x)
    if n < lo or n > hi:
        raise Trap("integer overflow")
    return n & ((1 << bits) - 1)


def trunc_sat(x: float, lo: int, hi: int, bits: int) -> int:
    if x != x:
        return 0
    if x == INF:
        return hi & ((1 << bits) - 1)
    if x == -INF:
        return lo & ((1 << bits) - 1)
    return min(max(math.trunc(x), lo), hi) & ((1 << bits) - 1)


def int_to_f32(n: int) -> float:
    """Correctly rounded integer → binary32 (not through a double: that would round twice)."""
    m = abs(n)
    length = m.bit_length()
    if length > 24:
        shift = length - 24
        q = m >> shift
        rem = m - (q << shift)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
        m = q << shift
    return f32r(float(-m if n < 0 else m))


def _int_ops(t: str, bits: int) -> dict[str, str]:
    mask = hex((1 << bits) - 1)
    sign = hex(1 << (bits - 1))
    signed = f"(({{0}} ^ {sign}) - {sign})"
    ops = {
        "eqz": "(1 if {0} == 0 else 0)",
        "eq": "(1 if {0} == {1} else 0)",
        "ne": "(1 if {0} != {1} else 0)",
        "lt_u": "(1 if {0} < {1} else 0)",
        "gt_u": "(1 if {0} > {1} else 0)",
        "le_u": "(1 if {0} <= {1} else 0)",
        "ge_u": "(1 if {0} >= {1} else 0)",
        "clz": f"({bits} - {{0}}.bit_length())",
        "ctz": f"ctz({{0}}, {bits})",
        "popcnt": "{0}.bit_count()",
        "add": f"(({{0}} + {{1}}) & {mask})",
        "sub": f"(({{0}} - {{1}}) & {mask})",
        "mul": f"(({{0}} * {{1}}) & {mask})",
        "div_s": f"idiv_s({{0}}, {{1}}, {bits})",
        "div_u": "({0} // {1})",
        "rem_s": f"irem_s({{0}}, {{1}}, {bits})",
        "rem_u": "({0} % {1})",
        "and": "({0} & {1})",
        "or": "({0} | {1})",
        "xor": "({0} ^ {1})",
        "shl": f"(({{0}} << ({{1}} & {bits - 1})) & {mask})",
        "shr_s": f"(({signed} >> ({{1}} & {bits - 1})) & {mask})",
        "shr_u": f"({{0}} >> ({{1}} & {bits - 1}))",
        "rotl": f"rotl({{0}}, {{1}}, {bits})",
        "rotr": f"rotr({{0}}, {{1}}, {bits})",
        "extend8_s": f"(((({{0}} & 0xFF) ^ 0x80) - 0x80) & {mask})",
        "extend16_s": f"(((({{0}} & 0xFFFF) ^ 0x8000) - 0x8000) & {mask})",
    }
    for cmp, op in (("lt_s", "<"), ("gt_s", ">"), ("le_s", "<="), ("ge_s", ">=")):
        ops[cmp] = f"(1 if ({{0}} ^ {sign}) {op} ({{1}} ^ {sign}) else 0)"
    if bits == 64:
        ops["extend32_s"] = f"(((({{0}} & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) & {mask})"
    return {f"{t}.{k}": v for k, v in ops.items()}


def _float_ops(t: str) -> dict[str, str]:
    r = "f32r" if t == "f32" else ""
    ops = {
        "eq": "(1 if {0} == {1} else 0)",
        "ne": "(1 if {0} != {1} else 0)",
        "lt": "(1 if {0} < {1} else 0)",
        "gt": "(1 if {0} > {1} else 0)",
        "le": "(1 if {0} <= {1} else 0)",
        "ge": "(1 if {0} >= {1} else 0)",
        "abs": "abs({0})",
        "neg": "(-{0})",
        "copysign": "math.copysign({0}, {1})",
        "ceil": "fceil({0})",
        "floor": "ffloor({0})",
        "trunc": "ftrunc({0})",
        "nearest": "fnearest({0})",
        "min": "fmin({0}, {1})",
        "max": "fmax({0}, {1})",
        "add": f"{r}({{0}} + {{1}})",
        "sub": f"{r}({{0}} - {{1}})",
        "mul": f"{r}({{0}} * {{1}})",
        "div": f"{r}(fdiv({{0}}, {{1}}))",
        "sqrt": f"{r}(fsqrt({{0}}))",
    }
    return {f"{t}.{k}": v for k, v in ops.items()}


def _conversion_ops() -> dict[str, str]:
    i32_range = {"s": (-(1 << 31), (1 << 31) - 1), "u": (0, (1 << 32) - 1)}
    i64_range = {"s": (-(1 << 63), (1 << 63) - 1), "u": (0, (1 << 64) - 1)}
    ops = {
        "i32.wrap_i64": "({0} & 0xFFFFFFFF)",
        "i64.extend_i32_s": "((({0} ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF)",
        "i64.extend_i32_u": "{0}",
        "f32.convert_i32_s": "int_to_f32(s32({0}))",
        "f32.convert_i32_u": "int_to_f32({0})",
        "f32.convert_i64_s": "int_to_f32(s64({0}))",
        "f32.convert_i64_u": "int_to_f32({0})",
        "f64.convert_i32_s": "float(s32({0}))",
        "f64.convert_i32_u": "float({0})",
        "f64.convert_i64_s": "float(s64({0}))",
        "f64.convert_i64_u": "float({0})",
        "f32.demote_f64": "f32r({0})",
        "f64.promote_f32": "fpromote({0})",
        "i32.reinterpret_f32": "f32_to_bits({0})",
        "i64.reinterpret_f64": "f64_to_bits({0})",
        "f32.reinterpret_i32": "f32_from_bits({0})",
        "f64.reinterpret_i64": "f64_from_bits({0})",
    }
    for it, bits, ranges in (("i32", 32, i32_range), ("i64", 64, i64_range)):
        for ft in ("f32", "f64"):
            for sign, (lo, hi) in ranges.items():
                ops[f"{it}.trunc_{ft}_{sign}"] = f"trunc_to_int({{0}}, {lo}, {hi}, {bits})"
                ops[f"{it}.trunc_sat_{ft}_{sign}"] = f"trunc_sat({{0}}, {lo}, {hi}, {bits})"
    return ops


SCALAR_OPS: dict[str, str] = {
    **_int_ops("i32", 32), **_int_ops("i64", 64), **_float_ops("f32"), **_float_ops("f64"),
    **_conversion_ops(),
}
