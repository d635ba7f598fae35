"""The compiled tier's float lanes are the interpreter's, bit for bit: every f32x4/f64x2 instruction
(arithmetic, min/max/pmin/pmax, sqrt, rounding, comparisons, conversions) and the single-lane loads
and stores, on hypothesis-drawn lanes rich in NaN payloads (quiet and signalling, both signs), ±0,
±inf, subnormals, halves and the limits of the integer conversions. In both tiers a float lane
instruction also gives, lane by lane, what its scalar instruction gives."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstack.wasm import runtime
from vmstack.wasm.numeric import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from vmstack.wasm.opcodes import OPCODES
from vmstack.wasm.text import parse_wat
from vmstack.wasm.validate import validate_module

ENGINES = ("interp", "jit")
LANE_BITS = {"f32x4": 32, "f64x2": 64, "i32x4": 32}


def _float_bits(bits: int) -> st.SearchStrategy[int]:
    """Lane bit patterns: NaNs with any payload, the special values, floats of any size, any bits."""
    exponent_bits = 8 if bits == 32 else 11
    mantissa_bits = bits - 1 - exponent_bits
    sign = st.sampled_from([0, 1 << (bits - 1)])
    all_ones = ((1 << exponent_bits) - 1) << mantissa_bits
    nan = st.builds(lambda s, m: s | all_ones | m, sign, st.integers(1, (1 << mantissa_bits) - 1))
    quiet_nan = st.builds(lambda s, m: s | all_ones | (1 << (mantissa_bits - 1)) | m, sign,
                          st.integers(0, 3))
    subnormal = st.builds(lambda s, m: s | m, sign, st.integers(1, (1 << mantissa_bits) - 1))
    to_bits = f32_to_bits if bits == 32 else f64_to_bits
    specials = [0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1.0, -1.0, 2.0 ** 23, 2.0 ** 52, float("inf"),
                -float("inf"), 2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0, 4294967295.0,
                4294967296.0, 3.4028234663852886e38, -0.999999940395355]
    return st.one_of(nan, quiet_nan, subnormal, st.sampled_from([to_bits(x) for x in specials]),
                     st.floats(width=bits).map(to_bits), st.integers(0, (1 << bits) - 1))


def _int_lanes() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 16777217, 33554435]),
                     st.integers(0, (1 << 32) - 1))


SPECIALS = {  # ±0, ±1, ±inf, a subnormal, the largest finite, quiet and signalling NaNs with payloads
    32: [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x00000001, 0x7F7FFFFF,
         0x7FC00000, 0xFFC00001, 0x7F800002, 0xFFA00003, 0x3F000000, 0xCF000000],
    64: [0, 1 << 63, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 1,
         0x7FEFFFFFFFFFFFFF, 0x7FF8000000000000, 0xFFF8000000000001, 0x7FF0000000000002, 0xFFF4000000000003,
         0x3FE0000000000000, 0xC1E0000000000000],
}
LANES = {"f32x4": _float_bits(32), "f64x2": _float_bits(64), "i32x4": _int_lanes()}


def _v128(shape: str) -> st.SearchStrategy[int]:
    bits = LANE_BITS[shape]
    return st.lists(LANES[shape], min_size=128 // bits, max_size=128 // bits).map(
        lambda lanes: sum(lane << (i * bits) for i, lane in enumerate(lanes)))


def _operand_shape(name: str) -> str:
    """The shape of an instruction's v128 operands: the one its name converts from, else its own."""
    for source in ("f32x4", "f64x2", "i32x4"):
        if f"_{source}" in name:
            return source
    return name.split(".")[0]


FLOAT_OPS = sorted(name for name, op in OPCODES.items() if op.prefix == 0xFD and not op.imms
                   and ("f32x4" in name or "f64x2" in name) and op.sig[0] and set(op.sig[0]) == {"v128"})
SCALAR_TWINS = [name for name in FLOAT_OPS if name.replace("x4.", ".").replace("x2.", ".") in OPCODES
                and not name.endswith(("pmin", "pmax"))]


def _instances(wat: str) -> dict:
    module = parse_wat(wat)
    validate_module(module)
    found = {}
    for engine in ENGINES:
        store = runtime.Store()
        store.engine = engine
        found[engine] = (store, runtime.instantiate(store, module, []))
    return found


def _lane_functions() -> str:
    funcs = []
    for name in FLOAT_OPS:
        pops = OPCODES[name].sig[0]
        args = " ".join(f"(local.get {i})" for i in range(len(pops)))
        funcs.append(f'(func (export "{name}") (param {" ".join(pops)}) (result v128) ({name} {args}))')
    for name in SCALAR_TWINS:
        scalar = name.replace("x4.", ".").replace("x2.", ".")
        pops, pushes = OPCODES[scalar].sig
        args = " ".join(f"(local.get {i})" for i in range(len(pops)))
        funcs.append(f'(func (export "{scalar}") (param {" ".join(pops)}) (result {pushes[0]}) ({scalar} {args}))')
    for shape, t in (("f32x4", "f32"), ("f64x2", "f64")):
        last = 128 // LANE_BITS[shape] - 1
        funcs.append(f'(func (export "{shape}.splat") (param {t}) (result v128) ({shape}.splat (local.get 0)))')
        funcs.append(f'(func (export "{shape}.extract_lane") (param v128) (result {t}) '
                     f'({shape}.extract_lane {last} (local.get 0)))')
        funcs.append(f'(func (export "{shape}.replace_lane") (param v128 {t}) (result v128) '
                     f'({shape}.replace_lane {last} (local.get 0) (local.get 1)))')
    return "(module " + " ".join(funcs) + ")"


INSTANCES: dict = {}


def _cached_instances(cache: dict, wat: Callable[[], str]) -> dict:
    """Instances of the module ``wat()`` under each engine, made once per test session."""
    if not cache:
        cache.update(_instances(wat()))
    return cache


def _lanes_instances() -> dict:
    return _cached_instances(INSTANCES, _lane_functions)


def _invoke(engine: str, name: str, args: list) -> list:
    store, inst = _lanes_instances()[engine]
    return runtime.invoke(store, inst.exports[name], args)


@pytest.mark.parametrize("name", FLOAT_OPS)
def test_float_lane_instruction_is_compiled_and_matches_the_interpreter(name: str) -> None:
    inst = _lanes_instances()["jit"][1]
    assert inst.exports[name].native_code is not None  # compiled, not left to the interpreter

    arity = len(OPCODES[name].sig[0])

    def agree(args: list[int]) -> None:
        interp, jit = (_invoke(engine, name, args) for engine in ENGINES)
        assert jit == interp, (name, [hex(a) for a in args], hex(interp[0]), hex(jit[0]))
    _check_operands(agree, _operand_shape(name), arity, 80)


def _check_operands(check: Callable[[list[int]], None], shape: str, arity: int, examples: int) -> None:
    """``check`` every pairing of the special values, then ``examples`` hypothesis-drawn operand lists."""
    for args in _special_operands(shape, arity):
        check(args)
    settings(max_examples=examples, deadline=None, derandomize=True, database=None)(
        given(st.lists(_v128(shape), min_size=arity, max_size=arity))(check))()


def _special_operands(shape: str, arity: int) -> list[list[int]]:
    """Every pair (or single value) of SPECIALS, one to a lane, packed into operand vectors."""
    bits = LANE_BITS[shape]
    values = SPECIALS[bits] if shape != "i32x4" else [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
    pairs = [(x, y) for x in values for y in values] if arity == 2 else [(x,) for x in values]
    count = 128 // bits
    operands = []
    for start in range(0, len(pairs), count):
        chunk = pairs[start:start + count]
        operands.append([sum(pair[k] << (i * bits) for i, pair in enumerate(chunk)) for k in range(arity)])
    return operands


def _scalar_lanes(v: int, shape: str) -> list:
    """The lanes of ``v`` as the scalars the embedding API passes (f32 payloads kept)."""
    bits = LANE_BITS[shape]
    from_bits = f32_from_bits if bits == 32 else f64_from_bits
    return [from_bits((v >> (i * bits)) & ((1 << bits) - 1)) for i in range(128 // bits)]


def _scalar_bits(value, valtype: str) -> int:
    return {"f32": f32_to_bits, "f64": f64_to_bits}.get(valtype, lambda x: x)(value)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", SCALAR_TWINS)
def test_float_lanes_give_what_the_scalar_instruction_gives(name: str, engine: str) -> None:
    """f32x4.add's lane i is f32.add of the lanes i, NaN payloads included (and so for every twin)."""
    shape = name.split(".")[0]
    scalar = name.replace("x4.", ".").replace("x2.", ".")
    pushed = OPCODES[scalar].sig[1][0]
    bits = LANE_BITS[shape]
    lane_mask = (1 << bits) - 1
    arity = len(OPCODES[name].sig[0])

    def agree(args: list[int]) -> None:
        result = _invoke(engine, name, args)[0]
        for i, lanes in enumerate(zip(*(_scalar_lanes(a, shape) for a in args))):
            expected = _scalar_bits(_invoke(engine, scalar, list(lanes))[0], pushed)
            if pushed == "i32":  # a comparison: all ones or zero in the lane
                expected *= lane_mask
            assert (result >> (i * bits)) & lane_mask == expected, (name, i, [hex(a) for a in args])
    _check_operands(agree, shape, arity, 40)


@pytest.mark.parametrize("shape", ["f32x4", "f64x2"])
def test_float_splat_and_lane_access_keep_nan_payloads(shape: str) -> None:
    t = "f32" if shape == "f32x4" else "f64"
    from_bits = f32_from_bits if t == "f32" else f64_from_bits

    @settings(max_examples=80, deadline=None, derandomize=True, database=None)
    @given(vector=_v128(shape), lane=LANES[shape])
    def agree(vector: int, lane: int) -> None:
        results = {}
        for engine in ENGINES:
            splat = _invoke(engine, f"{shape}.splat", [from_bits(lane)])[0]
            extracted = _scalar_bits(_invoke(engine, f"{shape}.extract_lane", [vector])[0], t)
            replaced = _invoke(engine, f"{shape}.replace_lane", [vector, from_bits(lane)])[0]
            results[engine] = (splat, extracted, replaced)
        assert results["jit"] == results["interp"], (hex(vector), hex(lane))
        bits = LANE_BITS[shape]
        assert results["interp"][1] == vector >> (128 - bits)  # the lane's bits, untouched
        assert results["interp"][2] >> (128 - bits) == lane
    agree()


MEMORY_INSTANCES: dict = {}


def _memory_functions() -> str:
    funcs = []
    for bits in (8, 16, 32, 64):
        for lane in (0, 128 // bits - 1):
            for kind in ("load", "store"):
                name = f"v128.{kind}{bits}_lane"
                body = f"({name} offset=7 {lane} (local.get 0) (local.get 1))"
                result = "(result v128)" if kind == "load" else ""
                funcs.append(f'(func (export "{name}/{lane}") (param i32 v128) {result} {body})')
    funcs.append('(func (export "peek") (param i32) (result v128) (v128.load (local.get 0)))')
    return "(module (memory (export \"memory\") 1) " + " ".join(funcs) + ")"


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(memory=st.binary(min_size=64, max_size=64), address=st.one_of(st.integers(0, 40), st.integers(65480, 65535),
                                                                     st.integers(0, (1 << 32) - 1)),
       vector=st.integers(0, (1 << 128) - 1), bits=st.sampled_from([8, 16, 32, 64]),
       last=st.booleans(), kind=st.sampled_from(["load", "store"]))
def test_single_lane_loads_and_stores_match_the_interpreter(memory: bytes, address: int, vector: int, bits: int,
                                                            last: bool, kind: str) -> None:
    name = f"v128.{kind}{bits}_lane/{(128 // bits - 1) if last else 0}"
    outcomes = []
    for store, inst in _cached_instances(MEMORY_INSTANCES, _memory_functions).values():
        data = inst.exports["memory"].data
        data[:64] = memory
        data[-64:] = memory
        try:
            outcome = ["ok", runtime.invoke(store, inst.exports[name], [address, vector])]
        except runtime.Trap as exc:
            outcome = ["trap", exc.message]
        outcome.append(bytes(data[:64] + data[-64:]))
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1], (name, address, hex(vector))


def test_single_lane_accesses_trap_past_the_end_and_write_one_lane() -> None:
    """The oracle the differential test leans on: tier 1 traps and writes as the spec says (on an
    instance of its own: the differential test leaves random bytes in its memory)."""
    (store, inst), _ = _instances(_memory_functions()).values()
    value = int.from_bytes(bytes(range(1, 17)), "little")
    assert runtime.invoke(store, inst.exports["v128.store16_lane/7"], [100, value]) == []
    assert inst.exports["memory"].data[107:109] == bytes([15, 16])
    assert runtime.invoke(store, inst.exports["peek"], [107])[0] & 0xFFFF == 0x100F
    with pytest.raises(runtime.Trap, match="out of bounds memory access"):  # bytes 65529..65536
        runtime.invoke(store, inst.exports["v128.store64_lane/1"], [65536 - 14, value])
    assert struct.unpack("<Q", bytes(inst.exports["memory"].data[65528:]))[0] == 0  # nothing written
