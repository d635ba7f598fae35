"""numeric.SCALAR_OPS checked bit for bit against wasmtime, one exported function per instruction.

Operands and results cross the boundary as bit patterns (floats are reinterpreted inside the
wasm function), so NaN payloads, signalling NaNs and -0.0 reach both sides intact. Where the spec
lets a NaN result vary, both sides must give a NaN and ours must be quiet, and canonical when
every NaN operand was canonical; everything else must match exactly, traps included.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstack.wasm import numeric
from vmstack.wasm.errors import Trap
from vmstack.wasm.numeric import SCALAR_OPS, f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from vmstack.wasm.opcodes import OPCODES

WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
BITS_TYPE = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}
MANTISSA = {"f32": 23, "f64": 52}
# ops whose float result is a pure bit operation: NaNs must come out bit-identical
BIT_EXACT = {f"{t}.{op}" for t in ("f32", "f64") for op in ("neg", "abs", "copysign")} | {
    "f32.reinterpret_i32", "f64.reinterpret_i64"}
TRAP_MESSAGES = {
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "integer overflow",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
}


def _f32(value: float) -> int:
    return f32_to_bits(value)


def _f64(value: float) -> int:
    return f64_to_bits(value)


_FLOAT_VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.99999994, 3.0,
                 1e-3, 123456.75, -7.25, 8388607.5, 8388608.0, 16777217.0, 1e30, -1e30,
                 2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0, 4294967040.0, 4294967296.0,
                 9.2233715e18, 9.223372036854775808e18, -9.223372036854775808e18, 1.8446743e19,
                 1.8446744073709552e19, math.inf, -math.inf]
EDGES: dict[str, list[int]] = {
    "i32": [0, 1, 2, 3, 5, 7, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x00FFFFFF, 0x01000001,
            0x01000003, 0x12345678, 0x7FFFFFC0, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xAAAAAAAA,
            0xFFFFFF7F, 0xFFFFFFFE, 0xFFFFFFFF],
    "i64": [0, 1, 2, 3, 7, 63, 64, 65, 0x80, 0x8000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
            0x20000010000000, 0x20000020000001, 0x20000030000000, 0x123456789ABCDEF0,
            0x7FFFFF4000000001, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x8000000000000001,
            0x8000008000000000, 0x8000008000000001, 0x8000018000000000, 0xFFFFFF7FFFFFFFFF,
            0xFFFFFFFF00000000, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF],
    "f32": sorted({_f32(v) for v in _FLOAT_VALUES} | {
        0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x80800000, 0x3F800001, 0x33800000, 0x33800001,
        0x4B7FFFFF, 0x4EFFFFFF, 0x4F7FFFFF, 0x5EFFFFFF, 0x5F7FFFFF, 0xCF000001, 0xDF000001,
        0x7F7FFFFF, 0xFF7FFFFF, 0x7FC00000, 0xFFC00000, 0x7FA00000, 0x7F800001, 0xFF812345, 0x7FC12345}),
    "f64": sorted({_f64(v) for v in _FLOAT_VALUES} | {
        0x0000000000000001, 0x8000000000000001, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
        0x36A0000000000000, 0x36A0000000000001, 0x3FF0000010000000, 0x3FF0000010000001,
        0x3FF0000030000000, 0x47EFFFFFE0000000, 0x47EFFFFFEFFFFFFF, 0x47EFFFFFF0000000,
        0x41DFFFFFFFFFFFFF, 0x41EFFFFFFFFFFFFF, 0xC1E0000000200000, 0xC1E00000001FFFFF,
        0x43DFFFFFFFFFFFFF, 0x43EFFFFFFFFFFFFF, 0xC3E0000000000001, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
        0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000000, 0x7FF0000000000001,
        0xFFF0000000012345, 0x7FF8000000012345}),
}


def _signature(name: str) -> tuple[tuple[str, ...], str]:
    params, results = OPCODES[name].sig
    return params, results[0]


def _wat_function(name: str) -> str:
    params, result = _signature(name)
    body = []
    for index, t in enumerate(params):
        body.append(f"local.get {index}")
        if t[0] == "f":
            body.append(f"{t}.reinterpret_{BITS_TYPE[t]}")
    body.append(name)
    if result[0] == "f":
        body.append(f"{BITS_TYPE[result]}.reinterpret_{result}")
    param_list = " ".join(BITS_TYPE[t] for t in params)
    return (f'(func (export "{name}") (param {param_list}) (result {BITS_TYPE[result]}) '
            + " ".join(body) + ")")


Outcome = tuple[str, int | str]  # ("value", bits) or ("trap", message)


@pytest.fixture(scope="module")
def oracle() -> Callable[[str, tuple[int, ...]], Outcome]:
    store = wasmtime.Store()
    wat = "(module " + "\n".join(_wat_function(name) for name in SCALAR_OPS) + ")"
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, wasmtime.wat2wasm(wat)), [])
    exports = instance.exports(store)

    def run(name: str, operands: tuple[int, ...]) -> Outcome:
        params, result = _signature(name)
        signed = [(x ^ (1 << (WIDTH[t] - 1))) - (1 << (WIDTH[t] - 1)) for x, t in zip(operands, params)]
        try:
            value = exports[name](store, *signed)
        except wasmtime.Trap as exc:
            return ("trap", TRAP_MESSAGES[exc.trap_code])
        return ("value", value & ((1 << WIDTH[result]) - 1))
    return run


_COMPILED: dict[str, Callable] = {}


def _compiled(name: str) -> Callable:
    if name not in _COMPILED:
        arity = len(_signature(name)[0])
        names = [f"x{k}" for k in range(arity)]
        source = f"lambda {', '.join(names)}: " + SCALAR_OPS[name].format(*names)
        _COMPILED[name] = eval(source, vars(numeric))
    return _COMPILED[name]


def _from_bits(t: str, bits: int) -> int | float:
    return {"f32": f32_from_bits, "f64": f64_from_bits}.get(t, int)(bits)


def _to_bits(t: str, value: float) -> int:
    if t[0] == "i":
        assert type(value) is int and 0 <= value < 1 << WIDTH[t], f"not a canonical {t}: {value!r}"
        return value
    assert type(value) is float, f"not a float: {value!r}"
    if t == "f64":
        return f64_to_bits(value)
    bits = f32_to_bits(value)
    # every f32 value is held as the double of the same value (a NaN: payload in the top bits)
    assert f64_to_bits(f32_from_bits(bits)) == f64_to_bits(value), f"not an f32 value: {value!r}"
    return bits


def ours(name: str, operands: tuple[int, ...]) -> Outcome:
    params, result = _signature(name)
    try:
        value = _compiled(name)(*(_from_bits(t, x) for x, t in zip(operands, params)))
    except Trap as exc:
        return ("trap", str(exc))
    return ("value", _to_bits(result, value))


def _nan_payload(t: str, bits: int) -> int | None:
    """The mantissa of a NaN, None when `bits` is not a NaN of float type t."""
    mantissa = MANTISSA[t]
    exponent = ((1 << (WIDTH[t] - 1 - mantissa)) - 1) << mantissa
    payload = bits & ((1 << mantissa) - 1)
    return payload if bits & exponent == exponent and payload else None


def check(oracle: Callable, name: str, operands: tuple[int, ...]) -> None:
    expected, got = oracle(name, operands), ours(name, operands)
    params, result = _signature(name)
    if result[0] == "f" and expected[0] == "value" and got[0] == "value" and name not in BIT_EXACT:
        expected_payload = _nan_payload(result, expected[1])
        if expected_payload is not None:
            quiet = 1 << (MANTISSA[result] - 1)
            payload = _nan_payload(result, got[1])
            assert payload is not None and payload & quiet, f"{name}{operands}: {got[1]:#x} is no quiet NaN"
            nan_inputs = [_nan_payload(t, x) for x, t in zip(operands, params) if t[0] == "f"]
            if all(p in (None, quiet) for p in nan_inputs):
                assert payload == quiet, f"{name}{operands}: {got[1]:#x} is not the canonical NaN"
            return
    assert got == expected, f"{name}{tuple(hex(x) for x in operands)}"


def test_table_covers_every_scalar_numeric_instruction() -> None:
    scalar = {name for name, op in OPCODES.items()
              if op.sig is not None and name.split(".")[0] in WIDTH and not op.imms
              and not name.endswith(".const")}
    assert set(SCALAR_OPS) == scalar


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_template_is_one_expression_over_its_operands(name: str) -> None:
    arity = len(_signature(name)[0])
    template = SCALAR_OPS[name]
    assert all(f"{{{k}}}" in template for k in range(arity))
    compile(template.format(*(f"x{k}" for k in range(arity))), name, "eval")


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_edge_values_match_wasmtime(oracle: Callable, name: str) -> None:
    params, _ = _signature(name)
    for operands in itertools.product(*(EDGES[t] for t in params)):
        check(oracle, name, operands)


def _operand(t: str) -> st.SearchStrategy[int]:
    strategies = [st.sampled_from(EDGES[t]), st.integers(0, (1 << WIDTH[t]) - 1)]
    if t[0] == "f":
        strategies.append(st.floats(width=WIDTH[t]).map(f32_to_bits if t == "f32" else f64_to_bits))
    return st.one_of(strategies)


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_operands_match_wasmtime(oracle: Callable, name: str, data: st.DataObject) -> None:
    operands = tuple(data.draw(_operand(t)) for t in _signature(name)[0])
    check(oracle, name, operands)


@pytest.mark.parametrize(("name", "operands", "message"), [
    ("i32.div_s", (1, 0), "integer divide by zero"),
    ("i32.div_u", (1, 0), "integer divide by zero"),
    ("i64.rem_s", (0, 0), "integer divide by zero"),
    ("i64.rem_u", (5, 0), "integer divide by zero"),
    ("i32.div_s", (0x80000000, 0xFFFFFFFF), "integer overflow"),
    ("i64.div_s", (1 << 63, (1 << 64) - 1), "integer overflow"),
    ("i32.trunc_f32_s", (0x7FC00000,), "invalid conversion to integer"),
    ("i64.trunc_f64_u", (0xBFF0000000000000,), "integer overflow"),
    ("i32.trunc_f64_u", (0x7FF0000000000000,), "integer overflow"),
])
def test_traps_carry_the_spec_message(name: str, operands: tuple[int, ...], message: str) -> None:
    assert ours(name, operands) == ("trap", message)


@pytest.mark.parametrize(("name", "operands", "result"), [
    ("i32.rem_s", (0x80000000, 0xFFFFFFFF), 0),
    ("i32.div_s", (0xFFFFFFF9, 2), 0xFFFFFFFD),  # -7 / 2 = -3: toward zero
    ("i32.shl", (1, 33), 2),  # shift counts are taken modulo the width
    ("i64.rotr", (1, 65), 1 << 63),
    ("i32.ctz", (0,), 32),
    ("f32.convert_i64_u", (0x8000008000000001,), 0x5F000001),  # via a double would give 0x5F000000
    ("f32.convert_i64_s", (0x20000020000001,), 0x5A000001),  # 2**53 + 2**29 + 1
    ("f32.demote_f64", (0x47EFFFFFF0000000,), 0x7F800000),  # halfway above FLT_MAX: +inf
    ("f32.add", (0x7F7FFFFF, 0x7F7FFFFF), 0x7F800000),
    ("f32.nearest", (_f32(-0.5),), 0x80000000),
    ("f64.ceil", (_f64(-0.5),), 0x8000000000000000),
    ("f64.nearest", (_f64(2.5),), _f64(2.0)),
    ("f32.min", (0x00000000, 0x80000000), 0x80000000),
    ("f64.max", (0x8000000000000000, 0x0000000000000000), 0),
    ("f32.neg", (0x7FA00001,), 0xFFA00001),  # a signalling NaN keeps its payload and stays signalling
    ("f64.abs", (0xFFF0000000000001,), 0x7FF0000000000001),
    ("f32.copysign", (0x7F812345, 0x80000000), 0xFF812345),
    ("i32.trunc_sat_f32_s", (0x7FC00000,), 0),
    ("i64.trunc_sat_f64_u", (_f64(-1e300),), 0),
    ("i64.trunc_sat_f64_s", (_f64(1e300),), (1 << 63) - 1),
    ("i32.trunc_f32_s", (0xCF000000,), 0x80000000),  # -2**31 itself is in range
])
def test_known_results(name: str, operands: tuple[int, ...], result: int) -> None:
    assert ours(name, operands) == ("value", result)


def test_arithmetic_nans_are_quiet() -> None:
    assert ours("f32.add", (0x7FA00000, 0x3F800000)) == ("value", 0x7FE00000)
    assert ours("f64.promote_f32", (0x7F800001,)) == ("value", 0x7FF8000020000000)
    assert ours("f32.sqrt", (_f32(-1.0),)) == ("value", 0x7FC00000)
    assert ours("f64.div", (0, 0)) == ("value", 0x7FF8000000000000)


def test_memory_helpers_keep_f32_bits() -> None:
    for bits in EDGES["f32"]:
        assert numeric.f32_store_bits(numeric.f32_load(bits)) == bits
