"""Scalar numeric instructions of WebAssembly lowered to LLVM IR, with tier 1's exact results.

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


def bits_of(s: FunctionLowering, t: str, x: ir.Value) -> ir.Value:
    return s.b.bitcast(x, BITS[t])


def float_of(s: FunctionLowering, t: str, bits: ir.Value) -> ir.Value:
    return s.b.bitcast(bits, FLOAT[t])


def is_nan(s: FunctionLowering, x: ir.Value) -> ir.Value:
    return s.b.fcmp_unordered("uno", x, x)


def quieted(s: FunctionLowering, t: str, x: ir.Value) -> ir.Value:
    return float_of(s, t, s.b.or_(bits_of(s, t, x), BITS[t](QUIET[t])))


def nan_constant(t: str, bits: int) -> ir.Value:
    return ir.Constant(BITS[t], bits).bitcast(FLOAT[t])


def propagated(s: FunctionLowering, t: str, first: ir.Value, second: ir.Value) -> ir.Value:
    """The NaN the FPU returns: ``first`` quieted if it is a NaN, else ``second``'s, else the default."""
    fallback = s.b.select(is_nan(s, second), quieted(s, t, second), nan_constant(t, DEFAULT_NAN[t]))
    return s.b.select(is_nan(s, first), quieted(s, t, first), fallback)


def with_nan(s: FunctionLowering, result: ir.Value, nan_of: Callable[[], ir.Value]) -> ir.Value:
    """``result``, or the NaN ``nan_of()`` builds when it is one: built in a cold block, so that the
    hot path pays one unordered compare (a chain of selects would cost more than the arithmetic)."""
    fix, done = s.new_block("nan"), s.new_block()
    s.b.cbranch(is_nan(s, result), fix, done).set_weights([1, 100000])
    before = s.b.block
    s.b.position_at_end(fix)
    nan = nan_of()
    fixed = s.b.block
    s.b.branch(done)
    s.b.position_at_end(done)
    merged = s.b.phi(result.type)
    merged.add_incoming(result, before)
    merged.add_incoming(nan, fixed)
    return merged


def intrinsic(s: FunctionLowering, name: str, t: str, n: int) -> ir.Function:
    """The LLVM intrinsic ``name`` on values of the wasm float type ``t``."""
    return s.owner.intrinsic(f"llvm.{name}.{t}", FLOAT[t], [FLOAT[t]] * n)


# ---------------------------------------------------------------- floats


def x86_avx() -> bool:
    """The host runs AVX: its scalar arithmetic's NaNs are already the interpreter's (see f_arith)."""
    if not _avx:
        _avx.append(backend.binding().get_process_triple().startswith("x86_64")
                    and "+avx" in backend.host_cpu().split(":", 1)[1].split(","))
    return _avx[0]


_avx: list[bool] = []


def f_arith(op: str, t: str) -> Callable:
    build = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}[op]
    instruction = f"v{op}{'ss' if t == 'f32' else 'sd'}"

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        if op != "div" and x86_avx():
            # The instruction itself, with the operands in wasm's order: a NaN result is then the first
            # NaN operand quieted or the default NaN, as ``propagated`` builds it, with nothing to check.
            # (LLVM's own fadd may swap the operands, or fold x*1 into an unquieted x.)
            asm = s.b.asm(ir.FunctionType(FLOAT[t], [FLOAT[t]] * 2), f"{instruction} $2, $1, $0", "=x,x,x",
                          [a, b], side_effect=False)
            return asm
        def nan_of() -> ir.Value:
            nan = propagated(s, t, a, b)
            if op == "div":  # x/±0 with x zero or NaN: the interpreter's canonical NaN
                zero = s.b.fcmp_ordered("==", b, ir.Constant(FLOAT[t], 0.0))
                nan = s.b.select(zero, nan_constant(t, CANONICAL_NAN[t]), nan)
            return nan
        return with_nan(s, getattr(s.b, build)(a, b), nan_of)
    return lower


def f_sqrt(t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return with_nan(s, s.b.call(intrinsic(s, "sqrt", t, 1), [a]), lambda: s.b.select(
            is_nan(s, a), quieted(s, t, a), nan_constant(t, CANONICAL_NAN[t])))
    return lower


def f_rounding(name: str, t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value) -> ir.Value:
        return with_nan(s, s.b.call(intrinsic(s, name, t, 1), [a]), lambda: quieted(s, t, a))
    return lower


def f_minmax(op: str, t: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        less = s.b.fcmp_ordered("<", a, b)
        greater = s.b.fcmp_ordered(">", a, b)
        equal = s.b.fcmp_ordered("==", a, b)
        a_negative = s.b.icmp_signed("<", bits_of(s, t, a), BITS[t](0))
        if op == "min":
            on_equal = s.b.select(a_negative, a, b)
            ordered = s.b.select(less, a, s.b.select(greater, b, on_equal))
        else:
            on_equal = s.b.select(a_negative, b, a)
            ordered = s.b.select(greater, a, s.b.select(less, b, on_equal))
        return s.b.select(equal, on_equal, s.b.select(s.b.or_(less, greater), ordered,
                                                      propagated(s, t, a, b)))
    return lower


def f_sign(op: str, t: str) -> Callable:
    sign = BITS[t](SIGN[t])
    magnitude = BITS[t](SIGN[t] - 1)

    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value | None = None) -> ir.Value:
        bits = bits_of(s, t, a)
        if op == "abs":
            out = s.b.and_(bits, magnitude)
        elif op == "neg":
            out = s.b.xor(bits, sign)
        else:
            out = s.b.or_(s.b.and_(bits, magnitude), s.b.and_(bits_of(s, t, b), sign))
        return float_of(s, t, out)
    return lower


def f_compare(op: str) -> Callable:
    def lower(s: FunctionLowering, a: ir.Value, b: ir.Value) -> ir.Value:
        if op == "ne":
            return s.bool32(s.b.fcmp_unordered("!=", a, b))
        return s.bool32(s.b.fcmp_ordered({"eq": "==", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}[op], a, b))
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
        name = f"llvm.fpto{sign}i.sat.{it}.{ft}"
        return s.b.call(s.owner.intrinsic(name, INT[it], [FLOAT[ft]]), [a])
    return lower


def demote(s: FunctionLowering, a: ir.Value) -> ir.Value:
    bits = bits_of(s, "f64", a)
    sign = s.b.trunc(s.b.lshr(bits, I64(32)), I32)
    payload = s.b.trunc(s.b.lshr(bits, I64(29)), I32)
    nan = s.b.or_(s.b.and_(sign, I32(1 << 31)), s.b.or_(I32(0x7FC00000), s.b.and_(payload, I32(0x7FFFFF))))
    return s.b.select(is_nan(s, a), float_of(s, "f32", nan), s.b.fptrunc(a, F32))


def promote(s: FunctionLowering, a: ir.Value) -> ir.Value:
    bits = s.b.zext(bits_of(s, "f32", a), I64)
    sign = s.b.shl(s.b.lshr(bits, I64(31)), I64(63))
    payload = s.b.shl(s.b.and_(bits, I64(0x7FFFFF)), I64(29))
    nan = s.b.or_(sign, s.b.or_(I64(0x7FF8000000000000), payload))
    return s.b.select(is_nan(s, a), float_of(s, "f64", nan), s.b.fpext(a, F64))


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
        for name, llvm_name in (("ceil", "ceil"), ("floor", "floor"), ("trunc", "trunc"),
                                ("nearest", "roundeven")):
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
