"""SIMD instructions lowered to LLVM vector operations: every 0xFD instruction of Wasm 2.0, from
memory (extending, splatting, zero-filling and single-lane loads and stores), lanes, bitwise and
integer lane-wise arithmetic, extension, extended multiplication, pairwise addition, narrowing, dot
product and q15 multiplication to the float lanes' arithmetic, comparisons and conversions. A v128
is an i128 between instructions and is bitcast to its shape's vector type for each operation.

Float lanes get tier 1's bits, NaNs included, from the scalar lowerings of ``wasm_numeric`` applied
to whole vectors: a lane whose result is a NaN is rebuilt from the operands' lanes as a scalar's is.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from ..wasm.numeric import f32r
from ..wasm.opcodes import OPCODES
from .llvm import I8, I32, I64
from .wasm import I128, FunctionLowering
from .wasm_numeric import (
    FLOAT,
    FLOAT_PREDICATES,
    ROUNDINGS,
    TRUNC_RANGE,
    constant_like,
    demote,
    f_arith,
    f_comparison,
    f_minmax,
    f_rounding,
    f_sign,
    f_sqrt,
    promote,
)

SHAPES = {"i8x16": (8, 16), "i16x8": (16, 8), "i32x4": (32, 4), "i64x2": (64, 2)}
FLOAT_SHAPES = {"f32x4": ("f32", "i32x4"), "f64x2": ("f64", "i64x2")}  # → lane type, integer shape
I1 = ir.IntType(1)


def vector(shape: str) -> ir.VectorType:
    if shape in FLOAT_SHAPES:
        t, same_lanes = FLOAT_SHAPES[shape]
        return ir.VectorType(FLOAT[t], SHAPES[same_lanes][1])
    bits, lanes = SHAPES[shape]
    return ir.VectorType(ir.IntType(bits), lanes)


def as_vector(s: FunctionLowering, value: ir.Value, shape: str) -> ir.Value:
    return s.b.bitcast(value, vector(shape))


def as_v128(s: FunctionLowering, value: ir.Value) -> ir.Value:
    return s.b.bitcast(value, I128)


def as_lane(s: FunctionLowering, shape: str, scalar: ir.Value) -> ir.Value:
    """A wasm scalar as a lane of ``shape`` (i32 operands of narrow lanes are truncated)."""
    element = vector(shape).element
    return scalar if scalar.type == element else s.b.trunc(scalar, element)


def splat_value(s: FunctionLowering, shape: str, scalar: ir.Value) -> ir.Value:
    lane = as_lane(s, shape, scalar)
    vec = ir.Constant(vector(shape), None)
    for i in range(vector(shape).count):
        vec = s.b.insert_element(vec, lane, I32(i))
    return vec


def lanewise(shape: str, build: Callable) -> Callable:
    """The lowering of an instruction ``build`` computes on its operands' vectors of ``shape``."""
    def lower(s: FunctionLowering, *operands: ir.Value) -> ir.Value:
        return as_v128(s, build(s, *(as_vector(s, v, shape) for v in operands)))
    return lower


def saturating(shape: str, name: str) -> Callable:
    def build(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        fn = s.owner.intrinsic(f"llvm.{name}.v{SHAPES[shape][1]}i{SHAPES[shape][0]}", vector(shape),
                               [vector(shape)] * 2)
        return s.b.call(fn, [a, b])
    return lanewise(shape, build)


def compare(shape: str, pred: str, signed: bool) -> Callable:
    def build(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        mask = (s.b.icmp_signed if signed else s.b.icmp_unsigned)(pred, a, b)
        return s.b.sext(mask, vector(shape))
    return lanewise(shape, build)


def minmax(shape: str, pred: str, signed: bool) -> Callable:
    def build(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        return s.b.select((s.b.icmp_signed if signed else s.b.icmp_unsigned)(pred, a, b), a, b)
    return lanewise(shape, build)


def average(shape: str) -> Callable:
    bits, lanes = SHAPES[shape]
    wide = ir.VectorType(ir.IntType(bits * 2), lanes)

    def build(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        total = s.b.add(s.b.add(s.b.zext(a, wide), s.b.zext(b, wide)), splat_const(wide, 1))
        return s.b.trunc(s.b.lshr(total, splat_const(wide, 1)), vector(shape))
    return lanewise(shape, build)


def splat_const(vtype: ir.VectorType, value: int) -> ir.Constant:
    return ir.Constant(vtype, [ir.Constant(vtype.element, value)] * vtype.count)


def shift(shape: str, op: str) -> Callable:
    bits, _ = SHAPES[shape]

    def lower(s: FunctionLowering, a: ir.Value, count: ir.Value) -> ir.Value:
        masked = s.b.and_(count, I32(bits - 1))
        amount = splat_value(s, shape, s.b.zext(masked, I64) if bits == 64 else masked)
        method = {"shl": s.b.shl, "shr_s": s.b.ashr, "shr_u": s.b.lshr}[op]
        return as_v128(s, method(as_vector(s, a, shape), amount))
    return lower


def unary(shape: str, op: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_vector(s, a, shape)
        zero = ir.Constant(vector(shape), None)
        if op == "neg":
            return as_v128(s, s.b.sub(zero, v))
        negative = s.b.icmp_signed("<", v, zero)  # abs
        return as_v128(s, s.b.select(negative, s.b.sub(zero, v), v))
    return lower


def all_true(shape: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_vector(s, a, shape)
        _, lanes = SHAPES[shape]
        result = I1(1)
        for i in range(lanes):
            lane = s.b.extract_element(v, I32(i))
            result = s.b.and_(result, s.b.icmp_unsigned("!=", lane, ir.Constant(lane.type, 0)))
        return s.b.zext(result, I32)
    return lower


def bitmask(shape: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_vector(s, a, shape)
        _, lanes = SHAPES[shape]
        result = I32(0)
        for i in range(lanes):
            lane = s.b.extract_element(v, I32(i))
            sign = s.b.zext(s.b.icmp_signed("<", lane, ir.Constant(lane.type, 0)), I32)
            result = s.b.or_(result, s.b.shl(sign, I32(i)))
        return result
    return lower


def swizzle(s: FunctionLowering, a: ir.Value, indices: ir.Value) -> ir.Value:
    data = as_vector(s, a, "i8x16")
    index = as_vector(s, indices, "i8x16")
    out = ir.Constant(vector("i8x16"), None)
    for i in range(16):
        k = s.b.extract_element(index, I32(i))
        inside = s.b.icmp_unsigned("<", k, I8(16))
        lane = s.b.extract_element(data, s.b.zext(s.b.and_(k, I8(15)), I32))
        out = s.b.insert_element(out, s.b.select(inside, lane, I8(0)), I32(i))
    return as_v128(s, out)


WIDER = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}  # shape → the shape of half its width


def half(s: FunctionLowering, v: ir.Value, high: bool) -> ir.Value:
    """The low or high half of a vector's lanes."""
    n = v.type.count // 2
    return s.b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, n), [I32(i + n * high) for i in range(n)]))


def every_other(s: FunctionLowering, v: ir.Value, odd: bool) -> ir.Value:
    n = v.type.count // 2
    return s.b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, n), [I32(2 * i + odd) for i in range(n)]))


def widened(s: FunctionLowering, v: ir.Value, wide: str, signed: bool) -> ir.Value:
    """Narrow lanes extended to the lanes of shape ``wide`` (as many lanes as ``v`` has)."""
    target = ir.VectorType(ir.IntType(SHAPES[wide][0]), v.type.count)
    return s.b.sext(v, target) if signed else s.b.zext(v, target)


def extend(shape: str, high: bool, signed: bool) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return as_v128(s, widened(s, half(s, as_vector(s, a, WIDER[shape]), high), shape, signed))
    return lower


def extmul(shape: str, high: bool, signed: bool) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        x, y = (widened(s, half(s, as_vector(s, v, WIDER[shape]), high), shape, signed) for v in (a, b))
        return as_v128(s, s.b.mul(x, y))
    return lower


def extadd_pairwise(shape: str, signed: bool) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_vector(s, a, WIDER[shape])
        return as_v128(s, s.b.add(widened(s, every_other(s, v, False), shape, signed),
                                  widened(s, every_other(s, v, True), shape, signed)))
    return lower


def clamp(s: FunctionLowering, v: ir.Value, low: int, high: int) -> ir.Value:
    low_v, high_v = splat_const(v.type, low), splat_const(v.type, high)
    v = s.b.select(s.b.icmp_signed("<", v, low_v), low_v, v)
    return s.b.select(s.b.icmp_signed(">", v, high_v), high_v, v)


def narrow(shape: str, signed: bool) -> Callable:
    """i8x16.narrow_i16x8 and i16x8.narrow_i32x4: both operands' signed lanes, saturated."""
    bits, lanes = SHAPES[shape]
    source = {"i8x16": "i16x8", "i16x8": "i32x4"}[shape]

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        both = s.b.shuffle_vector(as_vector(s, a, source), as_vector(s, b, source),
                                  ir.Constant(ir.VectorType(I32, lanes), [I32(i) for i in range(lanes)]))
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return as_v128(s, s.b.trunc(clamp(s, both, low, high), vector(shape)))
    return lower


def dot(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
    products = s.b.mul(widened(s, as_vector(s, a, "i16x8"), "i32x4", True),
                       widened(s, as_vector(s, b, "i16x8"), "i32x4", True))
    return as_v128(s, s.b.add(every_other(s, products, False), every_other(s, products, True)))


def q15mulr_sat(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
    product = s.b.mul(widened(s, as_vector(s, a, "i16x8"), "i32x4", True),
                      widened(s, as_vector(s, b, "i16x8"), "i32x4", True))
    rounded = s.b.ashr(s.b.add(product, splat_const(product.type, 0x4000)), splat_const(product.type, 15))
    return as_v128(s, s.b.trunc(clamp(s, rounded, -0x8000, 0x7FFF), vector("i16x8")))


def popcnt(s: FunctionLowering, a: ir.Value) -> ir.Value:
    fn = s.owner.intrinsic("llvm.ctpop.v16i8", vector("i8x16"), [vector("i8x16")])
    return as_v128(s, s.b.call(fn, [as_vector(s, a, "i8x16")]))


# ---------------------------------------------------------------- float lanes


def float_compare(shape: str, op: str) -> Callable:
    mask_type = vector(FLOAT_SHAPES[shape][1])
    return lanewise(shape, lambda s, a, b: s.b.sext(f_comparison(s, op, a, b), mask_type))


def pseudo_minmax(shape: str, op: str) -> Callable:
    """pmin is ``b < a ? b : a``, pmax ``a < b ? b : a``: one operand's bits, NaNs untouched."""
    def build(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        return s.b.select(s.b.fcmp_ordered("<", b, a) if op == "pmin" else s.b.fcmp_ordered("<", a, b), b, a)
    return lanewise(shape, build)


def saturating_truncation(t: str, signed: bool) -> Callable:
    """i32x4.trunc_sat_* on lanes of float type ``t``: the lanes in range truncated by the plain
    conversion, the others saturated and NaNs 0 by selects (LLVM's saturating intrinsic would be
    lowered lane by lane, through scalar registers)."""
    low, high = (f32r(bound) if t == "f32" else bound for bound in TRUNC_RANGE[("i32", "s" if signed else "u")])

    def build(s: FunctionLowering, x: ir.Value) -> ir.Value:
        below, above = constant_like(x.type, FLOAT[t], low), constant_like(x.type, FLOAT[t], high)
        inside = s.b.and_(s.b.fcmp_ordered(">", x, below), s.b.fcmp_ordered("<", x, above))
        safe = s.b.select(inside, x, ir.Constant(x.type, None))
        ints = (s.b.fptosi if signed else s.b.fptoui)(safe, ir.VectorType(I32, x.type.count))
        ints = s.b.select(s.b.fcmp_ordered(">=", x, above), constant_like(x.type, I32, 0x7FFFFFFF if signed else -1),
                          ints)
        if signed:  # (unsigned: lanes at or below the low bound are 0 already)
            ints = s.b.select(s.b.fcmp_ordered("<=", x, below), constant_like(x.type, I32, -0x80000000), ints)
        return ints
    return build


def zero_padded(s: FunctionLowering, v: ir.Value) -> ir.Value:
    """Two lanes followed by two zero lanes (the ``_zero`` conversions of f64x2)."""
    return s.b.shuffle_vector(v, ir.Constant(v.type, None), ir.Constant(ir.VectorType(I32, 4),
                                                                      [I32(i) for i in range(4)]))


def convert(s: FunctionLowering, ints: ir.Value, t: str, signed: bool) -> ir.Value:
    """Integer lanes to float lanes of type ``t``, correctly rounded."""
    return (s.b.sitofp if signed else s.b.uitofp)(ints, ir.VectorType(FLOAT[t], ints.type.count))


def float_lane_ops() -> dict[str, Callable]:
    """Lowerings of the float lanes' instructions, from ``v128`` operands to the ``v128`` result."""
    ops: dict[str, Callable] = {}
    for shape, (t, _) in FLOAT_SHAPES.items():
        for name in ("add", "sub", "mul", "div"):
            ops[f"{shape}.{name}"] = lanewise(shape, f_arith(name, t))
        for name in ("min", "max"):
            ops[f"{shape}.{name}"] = lanewise(shape, f_minmax(name, t))
        for name in ("pmin", "pmax"):
            ops[f"{shape}.{name}"] = pseudo_minmax(shape, name)
        for name in ("abs", "neg"):
            ops[f"{shape}.{name}"] = lanewise(shape, f_sign(name, t))
        ops[f"{shape}.sqrt"] = lanewise(shape, f_sqrt(t))
        for name, llvm_name in ROUNDINGS.items():
            ops[f"{shape}.{name}"] = lanewise(shape, f_rounding(llvm_name, t))
        for name in FLOAT_PREDICATES:
            ops[f"{shape}.{name}"] = float_compare(shape, name)
    for sign, signed in (("s", True), ("u", False)):
        ops[f"i32x4.trunc_sat_f32x4_{sign}"] = lanewise("f32x4", saturating_truncation("f32", signed))
        ops[f"i32x4.trunc_sat_f64x2_{sign}_zero"] = lanewise(
            "f64x2", lambda s, a, sg=signed: zero_padded(s, saturating_truncation("f64", sg)(s, a)))
        ops[f"f32x4.convert_i32x4_{sign}"] = lanewise("i32x4", lambda s, a, sg=signed: convert(s, a, "f32", sg))
        ops[f"f64x2.convert_low_i32x4_{sign}"] = lanewise(
            "i32x4", lambda s, a, sg=signed: convert(s, half(s, a, False), "f64", sg))
    ops["f32x4.demote_f64x2_zero"] = lanewise("f64x2", lambda s, a: zero_padded(s, demote(s, a)))
    ops["f64x2.promote_low_f32x4"] = lanewise("f32x4", lambda s, a: promote(s, half(s, a, False)))
    return ops


# ---------------------------------------------------------------- instructions with immediates


def op_load_extend(shape: str, signed: bool) -> Callable:
    """v128.load8x8_s and its kind: eight bytes' narrow lanes, each extended to twice its width."""
    def handler(s: FunctionLowering, instr: tuple) -> None:
        narrow_bits, lanes = SHAPES[WIDER[shape]][0], SHAPES[shape][1]
        raw = s.memory_load(s.address(s.pop()[0], instr[2], 8), I64)
        s.push(as_v128(s, widened(s, s.b.bitcast(raw, ir.VectorType(ir.IntType(narrow_bits), lanes)), shape,
                                  signed)))
    return handler


def op_shuffle(s: FunctionLowering, instr: tuple) -> None:
    a, b = s.pop(2)
    mask = ir.Constant(ir.VectorType(I32, 16), [I32(k) for k in instr[1]])
    s.push(as_v128(s, s.b.shuffle_vector(as_vector(s, a, "i8x16"), as_vector(s, b, "i8x16"), mask)))


def op_extract(shape: str, sign: str) -> Callable:
    def handler(s: FunctionLowering, instr: tuple) -> None:
        lane = s.b.extract_element(as_vector(s, s.pop()[0], shape), I32(instr[1]))
        target = I64 if shape == "i64x2" else I32
        if shape in ("i8x16", "i16x8"):
            lane = s.b.sext(lane, target) if sign == "s" else s.b.zext(lane, target)
        s.push(lane)
    return handler


def op_replace(shape: str) -> Callable:
    def handler(s: FunctionLowering, instr: tuple) -> None:
        vec, scalar = s.pop(2)
        s.push(as_v128(s, s.b.insert_element(as_vector(s, vec, shape), as_lane(s, shape, scalar), I32(instr[1]))))
    return handler


def op_splat(shape: str) -> Callable:
    def handler(s: FunctionLowering, instr: tuple) -> None:
        s.push(as_v128(s, splat_value(s, shape, s.pop()[0])))
    return handler


def op_load(kind: str) -> Callable:
    def handler(s: FunctionLowering, instr: tuple) -> None:
        addr = s.pop()[0]
        if kind == "full":
            s.push(s.memory_load(s.address(addr, instr[2], 16), I128))
            return
        shape, bits = {"8": ("i8x16", 8), "16": ("i16x8", 16), "32": ("i32x4", 32), "64": ("i64x2", 64)}[
            kind.split("_")[0]]
        value = s.memory_load(s.address(addr, instr[2], bits // 8), ir.IntType(bits))
        if kind.endswith("zero"):
            s.push(s.b.zext(value, I128))
        else:
            s.push(as_v128(s, splat_value(s, shape, value)))
    return handler


def op_store(s: FunctionLowering, instr: tuple) -> None:
    addr, value = s.pop(2)
    s.memory_store(value, s.address(addr, instr[2], 16))


def op_load_lane(shape: str) -> Callable:
    """v128.load8_lane and its kind: one lane replaced by the value in memory."""
    bits, _ = SHAPES[shape]

    def handler(s: FunctionLowering, instr: tuple) -> None:
        addr, vec = s.pop(2)
        value = s.memory_load(s.address(addr, instr[2], bits // 8), ir.IntType(bits))
        s.push(as_v128(s, s.b.insert_element(as_vector(s, vec, shape), value, I32(instr[3]))))
    return handler


def op_store_lane(shape: str) -> Callable:
    bits, _ = SHAPES[shape]

    def handler(s: FunctionLowering, instr: tuple) -> None:
        addr, vec = s.pop(2)
        lane = s.b.extract_element(as_vector(s, vec, shape), I32(instr[3]))
        s.memory_store(lane, s.address(addr, instr[2], bits // 8))
    return handler


def simd_handlers() -> dict[str, Callable]:
    binary: dict[str, Callable] = {
        "v128.and": lambda s, a, b: s.b.and_(a, b), "v128.or": lambda s, a, b: s.b.or_(a, b),
        "v128.xor": lambda s, a, b: s.b.xor(a, b), "v128.andnot": lambda s, a, b: s.b.and_(a, s.b.not_(b)),
        "i8x16.swizzle": swizzle,
    }
    unary_ops: dict[str, Callable] = {
        "v128.not": lambda s, a: s.b.not_(a),
        "v128.any_true": lambda s, a: s.b.zext(s.b.icmp_unsigned("!=", a, I128(0)), I32),
    }
    for shape in SHAPES:
        binary[f"{shape}.add"] = lanewise(shape, lambda s, a, b: s.b.add(a, b))
        binary[f"{shape}.sub"] = lanewise(shape, lambda s, a, b: s.b.sub(a, b))
        if shape != "i8x16":
            binary[f"{shape}.mul"] = lanewise(shape, lambda s, a, b: s.b.mul(a, b))
        binary[f"{shape}.eq"] = compare(shape, "==", False)
        binary[f"{shape}.ne"] = compare(shape, "!=", False)
        for name, pred in (("lt", "<"), ("gt", ">"), ("le", "<="), ("ge", ">=")):
            binary[f"{shape}.{name}_s"] = compare(shape, pred, True)
            if shape != "i64x2":
                binary[f"{shape}.{name}_u"] = compare(shape, pred, False)
        for op in ("shl", "shr_s", "shr_u"):
            binary[f"{shape}.{op}"] = shift(shape, op)
        unary_ops[f"{shape}.neg"] = unary(shape, "neg")
        unary_ops[f"{shape}.abs"] = unary(shape, "abs")
        unary_ops[f"{shape}.all_true"] = all_true(shape)
        unary_ops[f"{shape}.bitmask"] = bitmask(shape)
        if shape in ("i8x16", "i16x8"):
            binary[f"{shape}.add_sat_s"] = saturating(shape, "sadd.sat")
            binary[f"{shape}.add_sat_u"] = saturating(shape, "uadd.sat")
            binary[f"{shape}.sub_sat_s"] = saturating(shape, "ssub.sat")
            binary[f"{shape}.sub_sat_u"] = saturating(shape, "usub.sat")
            binary[f"{shape}.avgr_u"] = average(shape)
        if shape != "i64x2":
            for name, pred, signed in (("min_s", "<", True), ("min_u", "<", False), ("max_s", ">", True),
                                       ("max_u", ">", False)):
                binary[f"{shape}.{name}"] = minmax(shape, pred, signed)
    for shape, narrower in WIDER.items():
        for sign, signed in (("s", True), ("u", False)):
            for part, high in (("low", False), ("high", True)):
                unary_ops[f"{shape}.extend_{part}_{narrower}_{sign}"] = extend(shape, high, signed)
                binary[f"{shape}.extmul_{part}_{narrower}_{sign}"] = extmul(shape, high, signed)
            if shape != "i64x2":
                unary_ops[f"{shape}.extadd_pairwise_{narrower}_{sign}"] = extadd_pairwise(shape, signed)
    for shape, source in (("i8x16", "i16x8"), ("i16x8", "i32x4")):
        binary[f"{shape}.narrow_{source}_s"] = narrow(shape, True)
        binary[f"{shape}.narrow_{source}_u"] = narrow(shape, False)
    binary["i32x4.dot_i16x8_s"] = dot
    binary["i16x8.q15mulr_sat_s"] = q15mulr_sat
    unary_ops["i8x16.popcnt"] = popcnt
    for name, fn in float_lane_ops().items():
        (binary if len(OPCODES[name].sig[0]) == 2 else unary_ops)[name] = fn
    handlers: dict[str, Callable] = {}
    for name, fn in binary.items():
        handlers[name] = lambda s, i, fn=fn: s.push(fn(s, *s.pop(2)))
    for name, fn in unary_ops.items():
        handlers[name] = lambda s, i, fn=fn: s.push(fn(s, s.pop()[0]))

    def bitselect(s: FunctionLowering, instr: tuple) -> None:
        a, b, mask = s.pop(3)
        s.push(s.b.or_(s.b.and_(a, mask), s.b.and_(b, s.b.not_(mask))))
    handlers["v128.bitselect"] = bitselect
    handlers["i8x16.shuffle"] = op_shuffle
    handlers["v128.load"] = op_load("full")
    for kind in ("8_splat", "16_splat", "32_splat", "64_splat", "32_zero", "64_zero"):
        handlers[f"v128.load{kind}"] = op_load(kind)
    handlers["v128.store"] = op_store
    for source, shape in (("8x8", "i16x8"), ("16x4", "i32x4"), ("32x2", "i64x2")):
        handlers[f"v128.load{source}_s"] = op_load_extend(shape, True)
        handlers[f"v128.load{source}_u"] = op_load_extend(shape, False)
    for shape, (bits, _) in SHAPES.items():
        handlers[f"v128.load{bits}_lane"] = op_load_lane(shape)
        handlers[f"v128.store{bits}_lane"] = op_store_lane(shape)
    for shape in (*SHAPES, *FLOAT_SHAPES):
        handlers[f"{shape}.splat"] = op_splat(shape)
        handlers[f"{shape}.replace_lane"] = op_replace(shape)
        if shape in ("i8x16", "i16x8"):
            handlers[f"{shape}.extract_lane_s"] = op_extract(shape, "s")
            handlers[f"{shape}.extract_lane_u"] = op_extract(shape, "u")
        else:
            handlers[f"{shape}.extract_lane"] = op_extract(shape, "")
    return handlers
