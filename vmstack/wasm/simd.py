"""Fixed-width SIMD (v128) semantics of Wasm 2.0, as one template table for the execution tiers.

A v128 value is a Python int with lane 0 in the low bits (memory order). Each instruction is a
function here named after it (`i8x16.add` → `simd_i8x16_add`), and ``SIMD_OPS`` maps every 0xFD
instruction but v128.const (a literal, like i32.const) to the template that calls it, in the same
form as ``numeric.SCALAR_OPS``: operands `{0}`, `{1}`, `{2}` in stack order, `{imm}` for a lane index
or shuffle pattern, `{mem}`/`{ea}` for memory instructions. Float lanes reuse numeric's scalar
semantics, so lanes and scalars agree bit for bit.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Iterable

from . import numeric as num
from .errors import Trap
from .opcodes import OPCODES

M128 = (1 << 128) - 1

# shape → (lane count, lane bits, struct format of signed lanes, of unsigned lanes)
SHAPES = {
    "i8x16": (16, 8, "<16b", "<16B"),
    "i16x8": (8, 16, "<8h", "<8H"),
    "i32x4": (4, 32, "<4i", "<4I"),
    "i64x2": (2, 64, "<2q", "<2Q"),
    "f32x4": (4, 32, "<4i", "<4I"),
    "f64x2": (2, 64, "<2q", "<2Q"),
}


def lanes(v: int, shape: str, signed: bool = False) -> tuple[int, ...]:
    _, _, sfmt, ufmt = SHAPES[shape]
    return struct.unpack(sfmt if signed else ufmt, v.to_bytes(16, "little"))


def pack(values: Iterable[int], shape: str) -> int:
    _, bits, _, ufmt = SHAPES[shape]
    mask = (1 << bits) - 1
    return int.from_bytes(struct.pack(ufmt, *[x & mask for x in values]), "little")


def exact_float_lanes(v: int, shape: str) -> list[float]:
    """Float lanes with NaN payloads kept (numeric's f32 convention)."""
    conv = num.f32_from_bits if shape == "f32x4" else num.f64_from_bits
    return [conv(b) for b in lanes(v, shape)]


def pack_exact_floats(values: Iterable[float], shape: str) -> int:
    conv = num.f32_to_bits if shape == "f32x4" else num.f64_to_bits
    return pack([conv(x) for x in values], shape)


def _bounds(bits: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest value of a lane, for saturation."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


_IMPLS: dict[str, Callable] = {}  # instruction name → implementation


def _def(name: str, fn: Callable) -> None:
    _IMPLS[name] = fn


# ---------------------------------------------------------------- integer lanes

_COMPARISONS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "gt": operator.gt,
                "le": operator.le, "ge": operator.ge}


def _int_shape_ops(shape: str) -> None:
    """Lane-by-lane arithmetic, shifts, comparisons and reductions of one integer shape."""
    count, bits, _, _ = SHAPES[shape]
    mask = (1 << bits) - 1
    top = 1 << (bits - 1)

    def lanewise(fn: Callable, signed: bool = False) -> Callable:
        return lambda a, b: pack([fn(x, y) for x, y in zip(lanes(a, shape, signed), lanes(b, shape, signed))],
                                 shape)

    def unary(fn: Callable, signed: bool = False) -> Callable:
        return lambda a: pack([fn(x) for x in lanes(a, shape, signed)], shape)

    def compare(fn: Callable, signed: bool) -> Callable:
        return lambda a, b: pack([mask if fn(x, y) else 0
                                  for x, y in zip(lanes(a, shape, signed), lanes(b, shape, signed))], shape)

    p = shape + "."
    high = pack([top] * count, shape)  # each lane's top bit: carries and borrows stop there
    low = M128 ^ high
    _def(p + "add", lambda a, b: ((a & low) + (b & low)) ^ ((a ^ b) & high))
    _def(p + "sub", lambda a, b: ((a | high) - (b & low)) ^ ((a ^ ~b) & high))
    _def(p + "neg", lambda a: (high - (a & low)) ^ (~a & high))
    _def(p + "abs", unary(abs, True))
    _def(p + "all_true", lambda a: int(all(lanes(a, shape))))
    _def(p + "bitmask", lambda a: sum(1 << i for i, x in enumerate(lanes(a, shape)) if x & top))
    _def(p + "shl", lambda a, s: pack([x << (s % bits) for x in lanes(a, shape)], shape))
    _def(p + "shr_s", lambda a, s: pack([x >> (s % bits) for x in lanes(a, shape, True)], shape))
    _def(p + "shr_u", lambda a, s: pack([x >> (s % bits) for x in lanes(a, shape)], shape))
    _def(p + "splat", lambda x: pack([x] * count, shape))
    for cmp in ("eq", "ne"):
        _def(p + cmp, compare(_COMPARISONS[cmp], False))
    for cmp in ("lt", "gt", "le", "ge"):
        fn = _COMPARISONS[cmp]
        _def(p + cmp + "_s", compare(fn, True))
        _def(p + cmp + "_u", compare(fn, False))
    if bits <= 16:
        for sign, signed in (("s", True), ("u", False)):
            lo, hi = _bounds(bits, signed)
            _def(p + f"add_sat_{sign}", lanewise(lambda x, y, lo=lo, hi=hi: min(max(x + y, lo), hi), signed))
            _def(p + f"sub_sat_{sign}", lanewise(lambda x, y, lo=lo, hi=hi: min(max(x - y, lo), hi), signed))
        _def(p + "avgr_u", lanewise(lambda x, y: (x + y + 1) >> 1))
    if bits <= 32:
        for sign, signed in (("s", True), ("u", False)):
            _def(p + f"min_{sign}", lanewise(min, signed))
            _def(p + f"max_{sign}", lanewise(max, signed))
    if bits >= 16:
        _def(p + "mul", lanewise(operator.mul))


def _int_resizing_ops(shape: str) -> None:
    """extend, extmul and extadd_pairwise from the next narrower shape; narrow from the next wider one."""
    count, bits, _, _ = SHAPES[shape]
    p = shape + "."
    if bits >= 16:
        narrow = {16: "i8x16", 32: "i16x8", 64: "i32x4"}[bits]
        for sign, signed in (("s", True), ("u", False)):
            for half, start in (("low", 0), ("high", count)):
                _def(p + f"extend_{half}_{narrow}_{sign}",
                     lambda a, st=start, sg=signed: pack(lanes(a, narrow, sg)[st:st + count], shape))
                _def(p + f"extmul_{half}_{narrow}_{sign}",
                     lambda a, b, st=start, sg=signed: pack(
                         [x * y for x, y in zip(lanes(a, narrow, sg)[st:st + count],
                                                lanes(b, narrow, sg)[st:st + count])], shape))
            if bits <= 32:
                _def(p + f"extadd_pairwise_{narrow}_{sign}",
                     lambda a, sg=signed: pack(map(operator.add, *[iter(lanes(a, narrow, sg))] * 2), shape))
    if bits <= 16:
        wide = {8: "i16x8", 16: "i32x4"}[bits]
        for sign, signed in (("s", True), ("u", False)):
            lo, hi = _bounds(bits, signed)
            _def(p + f"narrow_{wide}_{sign}", lambda a, b, lo=lo, hi=hi: pack(
                [min(max(x, lo), hi) for x in lanes(a, wide, True) + lanes(b, wide, True)], shape))


for _shape in ("i8x16", "i16x8", "i32x4", "i64x2"):
    _int_shape_ops(_shape)
    _int_resizing_ops(_shape)

_def("i8x16.popcnt", lambda a: pack([x.bit_count() for x in lanes(a, "i8x16")], "i8x16"))
_def("i16x8.q15mulr_sat_s", lambda a, b: pack(
    [min((x * y + 0x4000) >> 15, 0x7FFF) for x, y in zip(lanes(a, "i16x8", True), lanes(b, "i16x8", True))],
    "i16x8"))
_def("i32x4.dot_i16x8_s", lambda a, b: pack(
    [x0 * y0 + x1 * y1 for (x0, x1), (y0, y1) in zip(zip(*[iter(lanes(a, "i16x8", True))] * 2),
                                                     zip(*[iter(lanes(b, "i16x8", True))] * 2))], "i32x4"))
_def("i8x16.swizzle", lambda a, s: int.from_bytes(
    bytes(a.to_bytes(16, "little")[i] if i < 16 else 0 for i in s.to_bytes(16, "little")), "little"))


def _shuffle(a: int, b: int, select: tuple) -> int:
    both = a.to_bytes(16, "little") + b.to_bytes(16, "little")
    return int.from_bytes(bytes(both[i] for i in select), "little")


_def("i8x16.shuffle", _shuffle)


def _lane_access(shape: str) -> None:
    count, bits, _, _ = SHAPES[shape]
    mask = (1 << bits) - 1
    floaty = shape[0] == "f"
    to_bits = num.f32_to_bits if shape == "f32x4" else num.f64_to_bits
    from_bits = num.f32_from_bits if shape == "f32x4" else num.f64_from_bits

    def extract(v: int, i: int, signed: bool = False):
        x = (v >> (i * bits)) & mask
        if floaty:
            return from_bits(x)
        if signed and x >> (bits - 1):
            x -= 1 << bits
        return x & 0xFFFFFFFF if bits < 64 else x

    def replace(v: int, x, i: int) -> int:  # operands, then the lane immediate
        bits_of = to_bits(x) if floaty else x & mask
        return (v & ~(mask << (i * bits)) & M128) | (bits_of << (i * bits))

    if bits < 32:
        _def(f"{shape}.extract_lane_s", lambda v, i: extract(v, i, True))
        _def(f"{shape}.extract_lane_u", extract)
    else:
        _def(f"{shape}.extract_lane", extract)
    _def(f"{shape}.replace_lane", replace)
    if floaty:
        _def(f"{shape}.splat", lambda x: pack([to_bits(x)] * count, shape))


for _shape in SHAPES:
    _lane_access(_shape)


# ---------------------------------------------------------------- bitwise

_def("v128.not", lambda a: ~a & M128)
_def("v128.and", lambda a, b: a & b)
_def("v128.andnot", lambda a, b: a & ~b & M128)
_def("v128.or", lambda a, b: a | b)
_def("v128.xor", lambda a, b: a ^ b)
_def("v128.bitselect", lambda a, b, c: (a & c) | (b & ~c & M128))
_def("v128.any_true", lambda a: int(a != 0))


# ---------------------------------------------------------------- float lanes

# Arithmetic reads lanes with struct's float formats: a signalling NaN may come back quiet, which the
# spec allows for any NaN result. f32 lanes are computed in double and rounded once to binary32, exact
# for + - * / sqrt; bit-exact operations (abs, neg, pmin, pmax, lane access) work on the lane bits.
_FLOAT_STRUCTS = {"f32x4": struct.Struct("<4f"), "f64x2": struct.Struct("<2d")}


def float_lanes(v: int, shape: str) -> tuple[float, ...]:
    return _FLOAT_STRUCTS[shape].unpack(v.to_bytes(16, "little"))


def pack_rounded(values: list[float], shape: str) -> int:
    """Pack float lanes, rounding to the lane format (f32 lanes beyond binary32 range become ±inf)."""
    try:
        return int.from_bytes(_FLOAT_STRUCTS[shape].pack(*values), "little")
    except OverflowError:
        return pack_exact_floats([num.f32r(x) for x in values], shape)


def _first_nan(fn: Callable) -> Callable:
    """A commutative float operator with x86's NaN rule in wasm's operand order, as the scalar templates
    of ``numeric`` have it: CPython's float add and multiply may pass their operands swapped."""
    return lambda x, y: fn(x, y) if x == x else x * 1.0  # noqa: PLR0124 - the cheapest NaN test


def _float_shape_ops(shape: str) -> None:
    _, bits, _, _ = SHAPES[shape]
    sign = 1 << (bits - 1)
    mask = (1 << bits) - 1

    def lanewise(fn: Callable) -> Callable:
        return lambda a, b: pack_rounded(list(map(fn, float_lanes(a, shape), float_lanes(b, shape))), shape)

    def unary(fn: Callable) -> Callable:
        return lambda a: pack_rounded(list(map(fn, float_lanes(a, shape))), shape)

    def compare(fn: Callable) -> Callable:
        return lambda a, b: pack([mask if fn(x, y) else 0 for x, y in zip(float_lanes(a, shape),
                                                                         float_lanes(b, shape))], shape)

    def pick(choose_b: Callable) -> Callable:  # pmin/pmax return one operand's bits untouched
        return lambda a, b: pack([yb if choose_b(x, y) else xb for x, y, xb, yb in zip(
            float_lanes(a, shape), float_lanes(b, shape), lanes(a, shape), lanes(b, shape))], shape)

    p = shape + "."
    _def(p + "abs", lambda a: pack([x & ~sign for x in lanes(a, shape)], shape))
    _def(p + "neg", lambda a: pack([x ^ sign for x in lanes(a, shape)], shape))
    _def(p + "sqrt", unary(num.fsqrt))
    _def(p + "add", lanewise(_first_nan(operator.add)))
    _def(p + "sub", lanewise(operator.sub))
    _def(p + "mul", lanewise(_first_nan(operator.mul)))
    _def(p + "div", lanewise(num.fdiv))
    _def(p + "min", lanewise(num.fmin))
    _def(p + "max", lanewise(num.fmax))
    _def(p + "pmin", pick(lambda x, y: y < x))
    _def(p + "pmax", pick(lambda x, y: x < y))
    _def(p + "ceil", unary(num.fceil))
    _def(p + "floor", unary(num.ffloor))
    _def(p + "trunc", unary(num.ftrunc))
    _def(p + "nearest", unary(num.fnearest))
    for cmp, fn in _COMPARISONS.items():
        _def(p + cmp, compare(fn))


_float_shape_ops("f32x4")
_float_shape_ops("f64x2")


def _truncate_saturating(source: str, signed: bool) -> Callable:
    """i32x4.trunc_sat_*: lanes of `source` to i32 lanes, zero-filled when there are only two."""
    lo, hi = _bounds(32, signed)

    def convert(a: int) -> int:
        values = [num.trunc_sat(x, lo, hi, 32) for x in exact_float_lanes(a, source)]
        return pack(values + [0] * (4 - len(values)), "i32x4")
    return convert


for _sign, _signed in (("s", True), ("u", False)):
    _def(f"i32x4.trunc_sat_f32x4_{_sign}", _truncate_saturating("f32x4", _signed))
    _def(f"i32x4.trunc_sat_f64x2_{_sign}_zero", _truncate_saturating("f64x2", _signed))
    _def(f"f32x4.convert_i32x4_{_sign}",
         lambda a, sg=_signed: pack_exact_floats(map(num.int_to_f32, lanes(a, "i32x4", sg)), "f32x4"))
    _def(f"f64x2.convert_low_i32x4_{_sign}",
         lambda a, sg=_signed: pack_exact_floats(map(float, lanes(a, "i32x4", sg)[:2]), "f64x2"))
_def("f32x4.demote_f64x2_zero",
     lambda a: pack_exact_floats([*map(num.f32r, exact_float_lanes(a, "f64x2")), 0.0, 0.0], "f32x4"))
_def("f64x2.promote_low_f32x4",
     lambda a: pack_exact_floats(map(num.fpromote, exact_float_lanes(a, "f32x4")[:2]), "f64x2"))


# ---------------------------------------------------------------- memory

def _read(mem: bytearray, ea: int, n: int) -> bytes:
    if ea + n > len(mem):
        raise Trap("out of bounds memory access")
    return bytes(mem[ea:ea + n])


def _write(mem: bytearray, ea: int, data: bytes) -> None:
    if ea + len(data) > len(mem):
        raise Trap("out of bounds memory access")
    mem[ea:ea + len(data)] = data


_def("v128.load", lambda mem, ea: int.from_bytes(_read(mem, ea, 16), "little"))
_def("v128.store", lambda mem, ea, v: _write(mem, ea, v.to_bytes(16, "little")))
for _src, _dst in (("8x8", "i16x8"), ("16x4", "i32x4"), ("32x2", "i64x2")):
    _narrow = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}[_dst]
    for _sign, _signed in (("s", True), ("u", False)):
        _def(f"v128.load{_src}_{_sign}", lambda mem, ea, d=_dst, n=_narrow, sg=_signed: pack(
            lanes(int.from_bytes(_read(mem, ea, 8), "little"), n, sg)[:SHAPES[d][0]], d))
for _bits, _shape in ((8, "i8x16"), (16, "i16x8"), (32, "i32x4"), (64, "i64x2")):
    _n = _bits // 8
    _def(f"v128.load{_bits}_splat",
         lambda mem, ea, n=_n, s=_shape: pack([int.from_bytes(_read(mem, ea, n), "little")] * SHAPES[s][0],
                                              s))
    _def(f"v128.load{_bits}_lane", lambda mem, ea, v, i, n=_n, s=_shape: _IMPLS[f"{s}.replace_lane"](
        v, int.from_bytes(_read(mem, ea, n), "little"), i))
    _def(f"v128.store{_bits}_lane", lambda mem, ea, v, i, n=_n, b=_bits: _write(
        mem, ea, ((v >> (i * b)) & ((1 << b) - 1)).to_bytes(n, "little")))
_def("v128.load32_zero", lambda mem, ea: int.from_bytes(_read(mem, ea, 4), "little"))
_def("v128.load64_zero", lambda mem, ea: int.from_bytes(_read(mem, ea, 8), "little"))


# ---------------------------------------------------------------- the table for the execution tiers

def _template(name: str) -> str:
    op = OPCODES[name]
    fn = "simd_" + name.replace(".", "_")
    pops = len(op.sig[0])
    if "memarg" in op.imms:
        args = ["{mem}", "{ea}"] + ["{1}"] * (pops - 1) + (["{imm}"] if "lane" in op.imms else [])
    else:
        args = [f"{{{k}}}" for k in range(pops)] + (["{imm}"] if op.imms else [])
    return f"{fn}({', '.join(args)})"


def _build_table() -> dict[str, str]:
    """Templates for all 0xFD instructions but v128.const, which tiers emit as a literal like i32.const."""
    names = [name for name, op in OPCODES.items() if op.prefix == 0xFD and name != "v128.const"]
    unimplemented = [name for name in names if name not in _IMPLS]
    if unimplemented:
        raise ImportError(f"SIMD instructions without semantics: {unimplemented}")
    return {name: _template(name) for name in names}


SIMD_OPS: dict[str, str] = _build_table()
globals().update({"simd_" + name.replace(".", "_"): fn for name, fn in _IMPLS.items()})
