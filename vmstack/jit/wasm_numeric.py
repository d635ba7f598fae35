"""Scalar numeric instructions of WebAssembly lowered to LLVM IR, with tier 1's exact results (the
float lowerings take vectors too: ``wasm_simd`` applies them to the lanes of f32x4 and f64x2).

Integer traps (division by zero, signed overflow, invalid or overflowing float → int conversion)
branch to the function's trap blocks. Float results that are NaNs are rebuilt from the operands'
bits the way the interpreter gets them from the x86 FPU through CPython (see ``numeric`` and the
notes of ``wasm``): LLVM is free to pick any NaN, so a NaN it computes is never kept (it is checked
for in the hot path and rebuilt in a cold block). On x86 with AVX, add, sub and mul are the
instructions themselves, as inline assembly with the operands in wasm's order, whose NaNs are
already those.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from llvmlite import ir

from . import llvm as backend
from .llvm import I32, I64
from .wasm import F32, F64, TRAP_DIV_ZERO, TRAP_INVALID_CONVERSION, TRAP_OVERFLOW, FunctionLowering

FLOAT = {"f32": F32, "f64": F64}
INT = {"i32": I32, "i64": I64}
BITS = {"f32": I32, "f64": I64}
SIGN = {"f32": 1 << 31, "f64": 1 << 63}
QUIET = {"f32": 1 << 22, "f64": 1 << 51}
DEFAULT_NAN = {"f32": 0xFFC00000, "f64": 0xFFF8000000000000}  # x86's answer to an invalid operation
CANONICAL_NAN = {"f32": 0x7FC00000, "f64": 0x7FF8000000000000}


def shaped(like: ir.Type, scalar: ir.Type) -> ir.Type:
    """``scalar``, or a vector of it with as many lanes as ``like`` has: the helpers below work on
    scalars and on SIMD lanes (``wasm_simd``) alike."""
    return ir.VectorType(scalar, like.count) if isinstance(like, ir.VectorType) else scalar


def constant_like(like: ir.Type, scalar: ir.Type, value) -> ir.Constant:
    """The constant ``value`` of type ``scalar``, in every lane when ``like`` is a vector."""
    if isinstance(like, ir.VectorType):
        return ir.Constant(shaped(like, scalar), [ir.Constant(scalar, value)] * like.count)
    return ir.Constant(scalar, value)


def type_suffix(ty: ir.Type) -> str:
    """How LLVM's overloaded intrinsics name a type: i32, f64, v4f32 ..."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{type_suffix(ty.element)}"
    return {"float": "f32", "double": "f64"}.get(str(ty), str(ty))


def bits_of(s: FunctionLowering, t: str, x: ir.Value) -> ir.Value:
    return s.b.bitcast(x, shaped(x.type, BITS[t]))


def float_of(s: FunctionLowering, t: str, bits: ir.Value) -> ir.Value:
    return s.b.bitcast(bits, shaped(bits.type, FLOAT[t]))


def is_nan(s: FunctionLowering, x: ir.Value) -> ir.Value:
    return s.b.fcmp_unordered("uno", x, x)


def quieted(s: FunctionLowering, t: str, x: ir.Value) -> ir.Value:
    bits = bits_of(s, t, x)
    return float_of(s, t, s.b.or_(bits, constant_like(bits.type, BITS[t], QUIET[t])))


def nan_constant(t: str, bits: int, like: ir.Type | None = None) -> ir.Value:
    """The NaN of these bits, in every lane when ``like`` is a vector type."""
    nan = ir.Constant(BITS[t], bits).bitcast(FLOAT[t])
    return ir.Constant(ir.VectorType(FLOAT[t], like.count), [nan] * like.count) if isinstance(
        like, ir.VectorType) else nan


def propagated(s: FunctionLowering, t: str, first: ir.Value, second: ir.Value) -> ir.Value:
    """The NaN the FPU returns: ``first`` quieted if it is a NaN, else ``second``'s, else the default."""
    fallback = s.b.select(is_nan(s, second), quieted(s, t, second), nan_constant(t, DEFAULT_NAN[t], first.type))
    return s.b.select(is_nan(s, first), quieted(s, t, first), fallback)


def with_nan(s: FunctionLowering, result: ir.Value, nan_of: Callable[[], ir.Value],
             nan_lanes: ir.Value | None = None) -> ir.Value:
    """``result``, or the NaN ``nan_of()`` builds where ``nan_lanes`` (by default: where ``result``
    is a NaN; lane by lane, for a vector): built in a cold block, so that the hot path pays one
    unordered compare (a chain of selects would cost more than the arithmetic)."""
    if nan_lanes is None:
        nan_lanes = is_nan(s, result)
    vector = isinstance(result.type, ir.VectorType)
    any_nan = s.b.icmp_unsigned("!=", s.b.bitcast(nan_lanes, ir.IntType(result.type.count)),
                                ir.Constant(ir.IntType(result.type.count), 0)) if vector else nan_lanes
    fix, done = s.new_block("nan"), s.new_block()
    s.b.cbranch(any_nan, fix, done).set_weights([1, 100000])
    before = s.b.block
    s.b.position_at_end(fix)
    nan = s.b.select(nan_lanes, nan_of(), result) if vector else nan_of()
    fixed = s.b.block
    s.b.branch(done)
    s.b.position_at_end(done)
    merged = s.b.phi(result.type)
    merged.add_incoming(result, before)
    merged.add_incoming(nan, fixed)
    return merged


def intrinsic(s: FunctionLowering, name: str, x: ir.Value, n: int) -> ir.Function:
    """The LLVM intrinsic ``name`` on ``n`` values of ``x``'s type."""
    return s.owner.intrinsic(f"llvm.{name}.{type_suffix(x.type)}", x.type, [x.type] * n)


# ---------------------------------------------------------------- floats


def x86_avx() -> bool:
    """The host runs AVX: its scalar and packed arithmetic's NaNs are already the interpreter's (see f_arith)."""
    if not _avx:
        _avx.append(backend.binding().get_process_triple().startswith("x86_64")
                    and "+avx" in backend.host_cpu().split(":", 1)[1].split(","))
    return _avx[0]


_avx: list[bool] = []


def f_arith(op: str, t: str) -> Callable:
    build = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}[op]

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        if op != "div" and x86_avx():
            # The instruction itself, with the operands in wasm's order: a NaN result is then the first
            # NaN operand quieted or the default NaN, as ``propagated`` builds it, with nothing to check.
            # (LLVM's own fadd may swap the operands, or fold x*1 into an unquieted x.)
            packed = "p" if isinstance(a.type, ir.VectorType) else "s"
            instruction = f"v{op}{packed}{'s' if t == 'f32' else 'd'}"
            return s.b.asm(ir.FunctionType(a.type, [a.type] * 2), f"{instruction} $2, $1, $0", "=x,x,x",
                           [a, b], side_effect=False)

        def nan_of() -> ir.Value:
            nan = propagated(s, t, a, b)
            if op == "div":  # x/±0 with x zero or NaN: the interpreter's canonical NaN
                zero = s.b.fcmp_ordered("==", b, constant_like(b.type, FLOAT[t], 0.0))
                nan = s.b.select(zero, nan_constant(t, CANONICAL_NAN[t], a.type), nan)
            return nan
        return with_nan(s, getattr(s.b, build)(a, b), nan_of)
    return lower


def f_sqrt(t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return with_nan(s, s.b.call(intrinsic(s, "sqrt", a, 1), [a]), lambda: s.b.select(
            is_nan(s, a), quieted(s, t, a), nan_constant(t, CANONICAL_NAN[t], a.type)))
    return lower


ROUNDINGS = {"ceil": "ceil", "floor": "floor", "trunc": "trunc", "nearest": "roundeven"}  # → LLVM's


def f_rounding(name: str, t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return with_nan(s, s.b.call(intrinsic(s, name, a, 1), [a]), lambda: quieted(s, t, a))
    return lower


def f_minmax(op: str, t: str) -> Callable:
    """min and max: ``a < b ? a : b`` both ways round (x86's minps and maxps), whose bits or-ed (min)
    or and-ed (max) give -0 or +0 for zeros of both signs and the one answer otherwise; with a NaN
    operand, the NaN the FPU propagates, built in a cold block."""
    pred = "<" if op == "min" else ">"

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        one_way = bits_of(s, t, s.b.select(s.b.fcmp_ordered(pred, a, b), a, b))
        other_way = bits_of(s, t, s.b.select(s.b.fcmp_ordered(pred, b, a), b, a))
        ordered = float_of(s, t, (s.b.or_ if op == "min" else s.b.and_)(one_way, other_way))
        return with_nan(s, ordered, lambda: propagated(s, t, a, b), s.b.fcmp_unordered("uno", a, b))
    return lower


def f_sign(op: str, t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value | None = None) -> ir.Value:
        bits = bits_of(s, t, a)
        sign = constant_like(bits.type, BITS[t], SIGN[t])
        magnitude = constant_like(bits.type, BITS[t], SIGN[t] - 1)
        if op == "abs":
            out = s.b.and_(bits, magnitude)
        elif op == "neg":
            out = s.b.xor(bits, sign)
        else:
            out = s.b.or_(s.b.and_(bits, magnitude), s.b.and_(bits_of(s, t, b), sign))
        return float_of(s, t, out)
    return lower


FLOAT_PREDICATES = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}


def f_comparison(s: FunctionLowering, op: str, a: ir.Value, b: ir.Value) -> ir.Value:
    """The i1 (or vector of i1) of a float comparison: ne is unordered (true with a NaN), the others ordered."""
    if op == "ne":
        return s.b.fcmp_unordered("!=", a, b)
    return s.b.fcmp_ordered(FLOAT_PREDICATES[op], a, b)


def f_compare(op: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        return s.bool32(f_comparison(s, op, a, b))
    return lower


# ---------------------------------------------------------------- integers


def i_divide(op: str, t: str) -> Callable:
    ty = INT[t]
    minimum = ty(1 << (ty.width - 1))
    all_ones = ty((1 << ty.width) - 1)

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        s.trap_if(s.b.icmp_unsigned("==", b, ty(0)), TRAP_DIV_ZERO)
        if op == "div_s":
            overflow = s.b.and_(s.b.icmp_unsigned("==", a, minimum), s.b.icmp_unsigned("==", b, all_ones))
            s.trap_if(overflow, TRAP_OVERFLOW)
            return s.b.sdiv(a, b)
        if op == "rem_s":  # x rem -1 is 0; srem would overflow on MIN rem -1
            return s.b.srem(a, s.b.select(s.b.icmp_unsigned("==", b, all_ones), ty(1), b))
        return s.b.udiv(a, b) if op == "div_u" else s.b.urem(a, b)
    return lower


def i_shift(op: str, t: str) -> Callable:
    ty = INT[t]

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        if op in ("rotl", "rotr"):
            fn = s.owner.intrinsic(f"llvm.{'fshl' if op == 'rotl' else 'fshr'}.{t}", ty, [ty] * 3)
            return s.b.call(fn, [a, a, b])
        count = s.b.and_(b, ty(ty.width - 1))
        return {"shl": s.b.shl, "shr_s": s.b.ashr, "shr_u": s.b.lshr}[op](a, count)
    return lower


def i_count(op: str, t: str) -> Callable:
    ty = INT[t]

    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        if op == "popcnt":
            return s.b.call(s.owner.intrinsic(f"llvm.ctpop.{t}", ty, [ty]), [a])
        fn = s.owner.intrinsic(f"llvm.{'ctlz' if op == 'clz' else 'cttz'}.{t}", ty, [ty, ir.IntType(1)])
        return s.b.call(fn, [a, ir.IntType(1)(0)])
    return lower


def i_compare(pred: str, signed: bool) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        compare = s.b.icmp_signed if signed else s.b.icmp_unsigned
        return s.bool32(compare(pred, a, b))
    return lower


def i_extend(t: str, bits: int) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return s.b.sext(s.b.trunc(a, ir.IntType(bits)), INT[t])
    return lower


# ---------------------------------------------------------------- conversions


TRUNC_RANGE = {  # exclusive bounds, as doubles
    ("i32", "s"): (-2147483649.0, 2147483648.0),
    ("i32", "u"): (-1.0, 4294967296.0),
    ("i64", "s"): (-9223372036854777856.0, 9223372036854775808.0),
    ("i64", "u"): (-1.0, 18446744073709551616.0),
}


def trunc(it: str, ft: str, sign: str) -> Callable:
    lo, hi = TRUNC_RANGE[(it, sign)]

    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        x = s.b.fpext(a, F64) if ft == "f32" else a
        s.trap_if(is_nan(s, x), TRAP_INVALID_CONVERSION)
        outside = s.b.or_(s.b.fcmp_ordered("<=", x, F64(lo)), s.b.fcmp_ordered(">=", x, F64(hi)))
        s.trap_if(outside, TRAP_OVERFLOW)
        return (s.b.fptosi if sign == "s" else s.b.fptoui)(x, INT[it])
    return lower


def trunc_sat(it: str, ft: str, sign: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        target = shaped(a.type, INT[it])
        name = f"llvm.fpto{sign}i.sat.{type_suffix(target)}.{type_suffix(a.type)}"
        return s.b.call(s.owner.intrinsic(name, target, [a.type]), [a])
    return lower


def demote(s: FunctionLowering, a: ir.Value) -> ir.Value:
    def nan_of() -> ir.Value:  # the sign and the payload's top bits, quieted
        bits = bits_of(s, "f64", a)
        narrow = shaped(a.type, I32)
        k64, k32 = partial(constant_like, a.type, I64), partial(constant_like, a.type, I32)
        sign = s.b.trunc(s.b.lshr(bits, k64(32)), narrow)
        payload = s.b.trunc(s.b.lshr(bits, k64(29)), narrow)
        return float_of(s, "f32", s.b.or_(s.b.and_(sign, k32(1 << 31)),
                                          s.b.or_(k32(0x7FC00000), s.b.and_(payload, k32(0x7FFFFF)))))
    return with_nan(s, s.b.fptrunc(a, shaped(a.type, F32)), nan_of, is_nan(s, a))


def promote(s: FunctionLowering, a: ir.Value) -> ir.Value:
    def nan_of() -> ir.Value:  # the sign and the payload, quieted
        bits = s.b.zext(bits_of(s, "f32", a), shaped(a.type, I64))
        k64 = partial(constant_like, a.type, I64)
        sign = s.b.shl(s.b.lshr(bits, k64(31)), k64(63))
        payload = s.b.shl(s.b.and_(bits, k64(0x7FFFFF)), k64(29))
        return float_of(s, "f64", s.b.or_(sign, s.b.or_(k64(0x7FF8000000000000), payload)))
    return with_nan(s, s.b.fpext(a, shaped(a.type, F64)), nan_of, is_nan(s, a))


def _conversions() -> dict[str, Callable]:
    ops: dict[str, Callable] = {
        "i32.wrap_i64": lambda s, a: s.b.trunc(a, I32),
        "i64.extend_i32_s": lambda s, a: s.b.sext(a, I64),
        "i64.extend_i32_u": lambda s, a: s.b.zext(a, I64),
        "f32.demote_f64": demote,
        "f64.promote_f32": promote,
        "i32.reinterpret_f32": lambda s, a: s.b.bitcast(a, I32),
        "i64.reinterpret_f64": lambda s, a: s.b.bitcast(a, I64),
        "f32.reinterpret_i32": lambda s, a: s.b.bitcast(a, F32),
        "f64.reinterpret_i64": lambda s, a: s.b.bitcast(a, F64),
    }
    for it in ("i32", "i64"):
        for ft in ("f32", "f64"):
            for sign in ("s", "u"):
                ops[f"{it}.trunc_{ft}_{sign}"] = trunc(it, ft, sign)
                ops[f"{it}.trunc_sat_{ft}_{sign}"] = trunc_sat(it, ft, sign)
                convert = "sitofp" if sign == "s" else "uitofp"
                ops[f"{ft}.convert_{it}_{sign}"] = (
                    lambda s, a, convert=convert, ft=ft: getattr(s.b, convert)(a, FLOAT[ft]))
    return ops


def _lowerings() -> dict[str, tuple[Callable, int]]:
    """Instruction name → (lowering of the popped operands to the pushed value, operand count)."""
    ops: dict[str, tuple[Callable, int]] = {}
    for t, ty in INT.items():
        ops[f"{t}.eqz"] = (lambda s, a, ty=ty: s.bool32(s.b.icmp_unsigned("==", a, ty(0))), 1)
        for name, pred in (("eq", "=="), ("ne", "!=")):
            ops[f"{t}.{name}"] = (i_compare(pred, False), 2)
        for name, pred in (("lt", "<"), ("gt", ">"), ("le", "<="), ("ge", ">=")):
            ops[f"{t}.{name}_s"] = (i_compare(pred, True), 2)
            ops[f"{t}.{name}_u"] = (i_compare(pred, False), 2)
        for name in ("clz", "ctz", "popcnt"):
            ops[f"{t}.{name}"] = (i_count(name, t), 1)
        for name, method in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("and", "and_"),
                             ("or", "or_"), ("xor", "xor")):
            ops[f"{t}.{name}"] = (lambda s, a, b, method=method: getattr(s.b, method)(a, b), 2)
        for name in ("div_s", "div_u", "rem_s", "rem_u"):
            ops[f"{t}.{name}"] = (i_divide(name, t), 2)
        for name in ("shl", "shr_s", "shr_u", "rotl", "rotr"):
            ops[f"{t}.{name}"] = (i_shift(name, t), 2)
        for bits in (8, 16, 32):
            if bits < ty.width:
                ops[f"{t}.extend{bits}_s"] = (i_extend(t, bits), 1)
    for t in FLOAT:
        for name in ("eq", "ne", "lt", "gt", "le", "ge"):
            ops[f"{t}.{name}"] = (f_compare(name), 2)
        for name in ("add", "sub", "mul", "div"):
            ops[f"{t}.{name}"] = (f_arith(name, t), 2)
        for name in ("min", "max"):
            ops[f"{t}.{name}"] = (f_minmax(name, t), 2)
        ops[f"{t}.sqrt"] = (f_sqrt(t), 1)
        for name, llvm_name in ROUNDINGS.items():
            ops[f"{t}.{name}"] = (f_rounding(llvm_name, t), 1)
        ops[f"{t}.abs"] = (f_sign("abs", t), 1)
        ops[f"{t}.neg"] = (f_sign("neg", t), 1)
        ops[f"{t}.copysign"] = (f_sign("copysign", t), 2)
    for name, fn in _conversions().items():
        ops[name] = (fn, 1)
    return ops


def numeric_handlers() -> dict[str, Callable]:
    handlers = {}
    for name, (fn, arity) in _lowerings().items():
        def handler(s: FunctionLowering, instr: tuple, fn: Callable = fn, arity: int = arity) -> None:
            s.push(fn(s, *s.pop(arity)))
        handlers[name] = handler
    return handlers
