"""SIMD (v128) semantics of ``vmstack.wasm.simd`` checked against wasmtime, instruction by instruction.

Every 0xFD instruction (v128.const aside: the execution tiers emit it as a literal) becomes one exported
function of a wasmtime module that takes v128 operands as i64 halves and float scalars as their bit
patterns, so nothing is altered at the boundary. The same operands go through the instruction's
template in ``simd.SIMD_OPS``; results must agree bit for bit, except that a NaN lane of float
arithmetic only has to be a NaN the spec allows (canonical when no input lane is a NaN).
"""

from __future__ import annotations

import functools
import random
import re
from typing import Any

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstack.wasm import simd
from vmstack.wasm.errors import Trap
from vmstack.wasm.numeric import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from vmstack.wasm.opcodes import OPCODES

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
PAGE = 65536
SIMD_NAMES = [name for name, op in OPCODES.items() if op.prefix == 0xFD]
PURE_OPS = [name for name in simd.SIMD_OPS if "memarg" not in OPCODES[name].imms]
MEMORY_OPS = [name for name in simd.SIMD_OPS if "memarg" in OPCODES[name].imms]
MEMARG_OFFSETS = (0, 0x20)
SHUFFLES = (tuple(range(16)), tuple(range(31, -1, -2)),
            (0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
            (31, 0, 30, 1, 15, 16, 8, 8, 8, 8, 24, 24, 7, 23, 12, 3))
LANE_WIDTH = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}

# lane bit patterns worth trying: integer boundaries and, for 32/64-bit lanes, float specials
# (±0, ±inf, quiet/signalling NaNs with payloads, subnormals, halves, conversion limits)
EDGES = {
    8: [0, 1, 0x7F, 0x80, 0x81, 0xFF, 0xFE, 0x40, 0x3F],
    16: [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000, 0x00FF, 0xFF00, 0x3FFF],
    32: [0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0x0000FFFF, 0x00008000,
         0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA12345, 0xFFC0BEEF,
         0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x3F000000, 0x3FC00000,
         0x40200000, 0xBF000000, 0xBFC00000, 0x4F000000, 0x4F800000, 0xCF000000, 0xCF000001, 0x4EFFFFFF,
         0x4F7FFFFF, 0x4B000001, 0x4B7FFFFF, 0x46FFFE00, 0xC7000000],
    64: [0, 1, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, M64, 0xFFFFFFFF, 0x80000000, 0xFFFFFFFF80000000,
         0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
         0x7FF0000000000001, 0x7FF4000000ABCDEF, 0xFFF8000000001234, 0x800FFFFFFFFFFFFF, 0x0010000000000000,
         0x7FEFFFFFFFFFFFFF, 0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000, 0x3FF8000000000000,
         0x4004000000000000, 0xBFE0000000000000, 0x41E0000000000000, 0x41F0000000000000, 0xC1E0000000000000,
         0xC1E0000000200000, 0x41DFFFFFFFC00000, 0x41EFFFFFFFE00000, 0x47EFFFFFE0000000, 0x47EFFFFFF0000000,
         0x36A0000000000000, 0x3690000000000000, 0x4330000000000001, 0x3FF0000010000000, 0x3FF0000030000000],
}
SHIFT_COUNTS = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 0xFFFFFFFF]


def join_lanes(values: list[int], width: int) -> int:
    return sum(v << (i * width) for i, v in enumerate(values))


def edge_vectors() -> list[int]:
    """Each edge value in each lane position, next to the other edges of its width."""
    vectors = []
    for width, edges in EDGES.items():
        count = 128 // width
        vectors += [join_lanes([edges[(start + i) % len(edges)] for i in range(count)], width)
                    for start in range(len(edges))]
    return vectors + [0, M128, 0x0F0E0D0C0B0A09080706050403020100, 0x8000000080000000800000008000000]


EDGE_POOLS = {"v128": edge_vectors(), "i32": EDGES[32] + SHIFT_COUNTS, "i64": EDGES[64] + SHIFT_COUNTS,
              "f32": EDGES[32], "f64": EDGES[64]}


def edge_operands(types: tuple[str, ...]) -> list[tuple[int, ...]]:
    """Operand tuples that walk each pool at a different stride, so operands meet in many pairings."""
    rounds = 3 * max(len(EDGE_POOLS[t]) for t in types)
    strides = (1, 7, 13)
    return [tuple(EDGE_POOLS[t][(k * strides[j] + j) % len(EDGE_POOLS[t])] for j, t in enumerate(types))
            for k in range(rounds)]


# ---------------------------------------------------------------- the wasmtime side

BOUNDARY_TYPES = {"v128": ("i64", "i64"), "i32": ("i32",), "i64": ("i64",), "f32": ("i32",), "f64": ("i64",)}


def operand_text(valtype: str, first_param: int) -> str:
    if valtype == "v128":
        return f"(i64x2.replace_lane 1 (i64x2.splat (local.get {first_param})) (local.get {first_param + 1}))"
    if valtype in ("f32", "f64"):
        return f"({valtype}.reinterpret_i{valtype[1:]} (local.get {first_param}))"
    return f"(local.get {first_param})"


def immediates_text(name: str, imm: Any, offset: int) -> str:
    imms = OPCODES[name].imms
    text = [f"offset={offset}"] if "memarg" in imms else []
    if "lanes16" in imms:
        text += [str(i) for i in imm]
    elif "lane" in imms:
        text.append(str(imm))
    return " ".join(text)


def wat_function(name: str, imm: Any, offset: int) -> str:
    params, results = OPCODES[name].sig
    boundary: list[str] = []
    operands = []
    for valtype in params:
        operands.append(operand_text(valtype, len(boundary)))
        boundary += BOUNDARY_TYPES[valtype]
    instr = f"({name} {immediates_text(name, imm, offset)} {' '.join(operands)})"
    result_types = [t for r in results for t in BOUNDARY_TYPES[r]]
    result_text = f' (result {" ".join(result_types)})' if result_types else ""
    header = (f'(func (export "{export_name(name, imm, offset)}") (param {" ".join(boundary)}){result_text}'
              " (local $r v128)")

    if results == ("v128",):
        halves = "(i64x2.extract_lane 0 (local.get $r)) (i64x2.extract_lane 1 (local.get $r))"
        body = f"(local.set $r {instr}) {halves}"
    elif results and results[0] in ("f32", "f64"):
        body = f"(i{results[0][1:]}.reinterpret_{results[0]} {instr})"
    else:
        body = instr
    return f"{header} {body})"


def export_name(name: str, imm: Any, offset: int) -> str:
    return f"{name} {imm} {offset}".replace(" ", "/").replace(",", "")


def immediates(name: str) -> list[Any]:
    op = OPCODES[name]
    if "lanes16" in op.imms:
        return list(SHUFFLES)
    if "lane" not in op.imms:
        return [None]
    if "memarg" in op.imms:  # v128.loadN_lane / v128.storeN_lane
        return list(range(128 // int(re.search(r"(\d+)_lane", name).group(1))))
    return list(range(128 // LANE_WIDTH[name.split(".")[0]]))


class Oracle:
    """One wasmtime instance exporting every SIMD instruction as a function."""

    def __init__(self) -> None:
        funcs = [wat_function(name, imm, 0) for name in PURE_OPS for imm in immediates(name)]
        funcs += [wat_function(name, imm, offset) for name in MEMORY_OPS for imm in immediates(name)
                  for offset in MEMARG_OFFSETS]
        self.store = wasmtime.Store()
        module = wasmtime.Module(self.store.engine, f'(module (memory (export "mem") 1) {" ".join(funcs)})')
        self.exports = wasmtime.Instance(self.store, module, []).exports(self.store)
        self.memory = self.exports["mem"]

    def call(self, name: str, imm: Any, operands: tuple[int, ...], offset: int = 0) -> int | None:
        """Run the instruction on operand bit patterns; the result's bit pattern (or None for stores)."""
        params, results = OPCODES[name].sig
        args: list[int] = []
        for valtype, bits in zip(params, operands):
            if valtype == "v128":
                args += [signed(bits & M64, 64), signed(bits >> 64, 64)]
            else:
                args.append(signed(bits, 64 if valtype in ("i64", "f64") else 32))
        out = self.exports[export_name(name, imm, offset)](self.store, *args)
        if not results:
            return None
        if results == ("v128",):
            return (out[0] & M64) | ((out[1] & M64) << 64)
        return out & (M64 if results[0] in ("i64", "f64") else 0xFFFFFFFF)


def signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    return Oracle()


# ---------------------------------------------------------------- the vmstack side

@functools.cache
def compiled_template(name: str, imm: Any, operand_count: int):
    names = [f"x{k}" for k in range(operand_count)]
    return compile(simd.SIMD_OPS[name].format(*names, mem="mem", ea="ea", imm=repr(imm)), name, "eval")


def ours(name: str, imm: Any, operands: tuple[int, ...], mem: bytearray | None = None, offset: int = 0):
    """Evaluate the template on operand bit patterns (floats handed over as values, as the tiers do)."""
    params, results = OPCODES[name].sig
    env: dict[str, Any] = {"mem": mem, "ea": operands[0] + offset} if mem is not None else {}
    for k, (valtype, bits) in enumerate(zip(params, operands)):
        env[f"x{k}"] = {"f32": f32_from_bits, "f64": f64_from_bits}.get(valtype, int)(bits)
    value = eval(compiled_template(name, imm, len(operands)), vars(simd), env)
    if results and results[0] == "f32":
        return f32_to_bits(value)
    if results and results[0] == "f64":
        return f64_to_bits(value)
    return value


# ---------------------------------------------------------------- comparing results

BIT_EXACT_FLOAT_OPS = {"abs", "neg", "pmin", "pmax", "splat", "replace_lane", "extract_lane",
                       "eq", "ne", "lt", "gt", "le", "ge"}
FLOAT_ARITHMETIC = {name for name in PURE_OPS
                    if name[:5] in ("f32x4", "f64x2") and name.split(".")[1] not in BIT_EXACT_FLOAT_OPS}


def input_shape(name: str) -> str:
    for shape in ("f32x4", "f64x2", "i32x4"):
        if shape in name.split(".")[1]:
            return shape
    return name[:5]


def nan_lanes(vector: int, shape: str) -> list[bool]:
    width = LANE_WIDTH[shape]
    exponent = (1 << (width - 1)) - (1 << (width - 1 - (8 if width == 32 else 11)))
    mantissa = (1 << (width - 1 - (8 if width == 32 else 11))) - 1
    return [(lane & exponent) == exponent and bool(lane & mantissa)
            for lane in ((vector >> (i * width)) & ((1 << width) - 1) for i in range(128 // width))]


def assert_float_lanes_agree(name: str, operands: tuple[int, ...], got: int, want: int) -> None:
    """Equal lanes, except where wasmtime gives a NaN: any quiet NaN does (canonical if no input was NaN)."""
    shape = name[:5]
    width = LANE_WIDTH[shape]
    quiet = 1 << (width - 2 - (8 if width == 32 else 11))
    canonical_required = not any(any(nan_lanes(v, input_shape(name))) for v in operands)
    for i, (got_nan, want_nan) in enumerate(zip(nan_lanes(got, shape), nan_lanes(want, shape))):
        got_lane, want_lane = ((v >> (i * width)) & ((1 << width) - 1) for v in (got, want))
        if not want_nan:
            assert got_lane == want_lane, f"{name} lane {i}: {got_lane:#x} != {want_lane:#x}"
            continue
        assert got_nan and got_lane & quiet, f"{name} lane {i}: {got_lane:#x} is not a quiet NaN"
        if canonical_required:
            assert got_lane & ((quiet << 1) - 1) == quiet, f"{name} lane {i}: {got_lane:#x} is not canonical"


def check_pure(oracle: Oracle, name: str, imm: Any, operands: tuple[int, ...]) -> None:
    want = oracle.call(name, imm, operands)
    got = ours(name, imm, operands)
    if name in FLOAT_ARITHMETIC:
        assert_float_lanes_agree(name, operands, got, want)
    else:
        assert got == want, f"{name} {imm} {[hex(x) for x in operands]}: {got:#x} != {want:#x}"


# ---------------------------------------------------------------- tests

def test_every_simd_instruction_has_a_template() -> None:
    assert len(SIMD_NAMES) == 236
    assert set(simd.SIMD_OPS) == set(SIMD_NAMES) - {"v128.const"}
    for name, template in simd.SIMD_OPS.items():
        assert template.startswith("simd_" + name.replace(".", "_") + "(")
        assert callable(vars(simd)[template.split("(")[0]])


@pytest.mark.parametrize("name", PURE_OPS)
def test_edge_cases_match_wasmtime(oracle: Oracle, name: str) -> None:
    for imm in immediates(name):
        for operands in edge_operands(OPCODES[name].sig[0]):
            check_pure(oracle, name, imm, operands)


def lane_masks() -> list[int]:
    """Masks picking every other lane, or one lane, of each lane width."""
    masks = []
    for width in EDGES:
        lane = (1 << width) - 1
        masks.append(join_lanes([lane, 0] * (64 // width), width))
        masks += [lane << (i * width) for i in range(0, 128 // width, 3)]
    return masks


def blend(edges: int, noise: int, mask: int) -> int:
    return (noise & mask) | (edges & ~mask & M128)


V128_VALUES = st.one_of(st.integers(0, M128), st.sampled_from(EDGE_POOLS["v128"]),
                        st.builds(blend, st.sampled_from(EDGE_POOLS["v128"]), st.integers(0, M128),
                                  st.sampled_from(lane_masks())))
OPERAND_STRATEGIES = {
    "v128": V128_VALUES,
    "i32": st.one_of(st.sampled_from(EDGES[32] + SHIFT_COUNTS), st.integers(0, (1 << 32) - 1)),
    "i64": st.one_of(st.sampled_from(EDGES[64]), st.integers(0, M64)),
    "f32": st.one_of(st.sampled_from(EDGES[32]), st.integers(0, (1 << 32) - 1)),
    "f64": st.one_of(st.sampled_from(EDGES[64]), st.integers(0, M64)),
}


@pytest.mark.parametrize("name", PURE_OPS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_generated_operands_match_wasmtime(oracle: Oracle, name: str, data: st.DataObject) -> None:
    imm = data.draw(st.sampled_from(immediates(name)), label="immediate")
    operands = tuple(data.draw(OPERAND_STRATEGIES[t], label=t) for t in OPCODES[name].sig[0])
    check_pure(oracle, name, imm, operands)


ADDRESSES = [0, 1, 7, 1000, PAGE - 64, PAGE - 32, PAGE - 16, PAGE - 9, PAGE - 8, PAGE - 5, PAGE - 4, PAGE - 3,
             PAGE - 2, PAGE - 1, PAGE, PAGE + 1, 0x7FFFFFFF, 0xFFFFFFF0, 0xFFFFFFFF]


@pytest.mark.parametrize("name", MEMORY_OPS)
def test_memory_ops_match_wasmtime_in_and_out_of_bounds(oracle: Oracle, name: str) -> None:
    rng = random.Random(name)
    for imm in immediates(name):
        for offset in MEMARG_OFFSETS:
            for address in ADDRESSES:
                content = rng.randbytes(PAGE)
                operands = (address, rng.getrandbits(128))[:len(OPCODES[name].sig[0])]
                oracle.memory.write(oracle.store, content, 0)
                mem = bytearray(content)
                try:
                    want = oracle.call(name, imm, operands, offset)
                except wasmtime.Trap as trap:
                    assert "out of bounds" in str(trap)
                    with pytest.raises(Trap, match="out of bounds memory access"):
                        ours(name, imm, operands, mem, offset)
                else:
                    assert ours(name, imm, operands, mem, offset) == want, (name, imm, offset, address)
                assert mem == oracle.memory.read(oracle.store, 0, PAGE), (name, imm, offset, address)


def test_store_straddling_the_end_writes_nothing() -> None:
    mem = bytearray(range(256)) * 256
    before = bytes(mem)
    for template in ("simd_v128_store(mem, ea, v)", "simd_v128_store64_lane(mem, ea, v, 1)"):
        with pytest.raises(Trap, match="out of bounds memory access"):
            eval(template, vars(simd), {"mem": mem, "ea": PAGE - 4, "v": M128})
    assert mem == before
    simd.simd_v128_store(mem, PAGE - 16, M128)
    assert mem[-16:] == b"\xff" * 16 and mem[:-16] == before[:-16]


def test_load_reads_lane_zero_from_the_lowest_address() -> None:
    mem = bytearray(range(32))
    assert simd.simd_v128_load(mem, 1) == int.from_bytes(bytes(range(1, 17)), "little")
    assert simd.simd_i8x16_extract_lane_u(simd.simd_v128_load(mem, 16), 0) == 16
    assert simd.simd_v128_load8_lane(mem, 31, 0, 15) == 31 << 120
    with pytest.raises(Trap, match="out of bounds memory access"):
        simd.simd_v128_load(mem, 17)
