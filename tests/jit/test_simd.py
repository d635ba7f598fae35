"""The SIMD instructions give tier 1's results under the compiled tier, lane for lane, on random
and edge-case operands; every instruction of Wasm 2.0 is lowered (the float lanes' NaNs and the
single-lane loads and stores in depth: test_simd_floats)."""

from __future__ import annotations

import random

import pytest

from vmstack.jit import wasm
from vmstack.jit.wasm_simd import simd_handlers
from vmstack.wasm import runtime
from vmstack.wasm.opcodes import OPCODES
from vmstack.wasm.text import parse_wat
from vmstack.wasm.validate import validate_module

EDGES = [0, (1 << 128) - 1, int("80" * 16, 16), int("7f" * 16, 16), int("0001" * 8, 16), int("ff00" * 8, 16)]
PLAIN = sorted(name for name in simd_handlers() if not OPCODES[name].imms)


def test_every_instruction_of_wasm_2_0_is_lowered() -> None:
    wasm.lower_module(parse_wat("(module)"), False)
    structured = {"block", "loop", "if", "else", "end"}  # lowered by the function's walk itself
    assert sorted(set(OPCODES) - set(wasm.HANDLERS) - structured) == []
    assert "f32x4.demote_f64x2_zero" in wasm.HANDLERS and "v128.store64_lane" in wasm.HANDLERS


def _function(name: str) -> str:
    pops, pushes = OPCODES[name].sig
    params = " ".join(pops)
    args = " ".join(f"(local.get {i})" for i in range(len(pops)))
    return f'(func (export "{name}") (param {params}) (result {pushes[0]}) ({name} {args}))'


def _operand(rng: random.Random, valtype: str) -> int:
    if valtype == "v128":
        return rng.choice(EDGES) if rng.random() < 0.3 else rng.getrandbits(128)
    bits = 32 if valtype == "i32" else 64
    return rng.choice([0, 1, 7, 8, 31, 64, rng.getrandbits(bits)])


def _instances() -> dict:
    module = parse_wat("(module " + " ".join(_function(name) for name in PLAIN) + ")")
    validate_module(module)
    found = {}
    for engine in ("interp", "jit"):
        store = runtime.Store()
        store.engine = engine
        found[engine] = (store, runtime.instantiate(store, module, []))
    return found


INSTANCES: dict = {}


@pytest.mark.parametrize("name", PLAIN)
def test_compiled_simd_instruction_matches_the_interpreter(name: str) -> None:
    if not INSTANCES:
        INSTANCES.update(_instances())
    rng = random.Random(name)
    pops = OPCODES[name].sig[0]
    for _ in range(40):
        args = [_operand(rng, t) for t in pops]
        results = {engine: runtime.invoke(store, inst.exports[name], args)
                   for engine, (store, inst) in INSTANCES.items()}
        assert results["jit"] == results["interp"], (name, [hex(a) for a in args])


def test_lane_and_memory_instructions_match_the_interpreter() -> None:
    wat = """(module (memory 1)
      (func (export "run") (param v128 i32 i64) (result v128 i32 i64)
        (v128.store offset=16 (i32.const 0) (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
          (local.get 0) (i32x4.splat (local.get 1))))
        (i16x8.replace_lane 3 (v128.load offset=16 (i32.const 0)) (local.get 1))
        (i32.add (i8x16.extract_lane_s 5 (v128.load8_splat (i32.const 17)))
                 (i16x8.extract_lane_u 2 (v128.load32_zero (i32.const 18))))
        (i64.add (i64x2.extract_lane 1 (i64x2.replace_lane 1 (v128.load64_splat (i32.const 16)) (local.get 2)))
                 (i64x2.extract_lane 0 (v128.load64_zero (i32.const 20)))))
      (func (export "oob") (result v128) (v128.load (i32.const 65530))))"""
    module = parse_wat(wat)
    validate_module(module)
    rng = random.Random(5)
    outcomes = {}
    for engine in ("interp", "jit"):
        store = runtime.Store()
        store.engine = engine
        inst = runtime.instantiate(store, module, [])
        runs = [runtime.invoke(store, inst.exports["run"], [rng.getrandbits(128), rng.getrandbits(32),
                                                           rng.getrandbits(64)]) for _ in range(10)]
        try:
            runtime.invoke(store, inst.exports["oob"], [])
        except runtime.Trap as exc:
            runs.append(exc.message)
        outcomes[engine] = runs
        rng = random.Random(5)
    assert outcomes["jit"] == outcomes["interp"]
    assert outcomes["interp"][-1] == "out of bounds memory access"


def test_extending_loads_match_the_interpreter() -> None:
    loads = [f"v128.load{source}_{sign}" for source in ("8x8", "16x4", "32x2") for sign in "su"]
    funcs = " ".join(f'(func (export "{name}") (param i32) (result v128) ({name} offset=3 (local.get 0)))'
                     for name in loads)
    data = '(data (i32.const 0) "\\80\\7f\\ff\\01\\fe\\02\\81\\00\\ff\\ff\\80")'
    module = parse_wat(f"(module (memory 1) {data} {funcs})")
    validate_module(module)
    outcomes = {}
    for engine in ("interp", "jit"):
        store = runtime.Store()
        store.engine = engine
        inst = runtime.instantiate(store, module, [])
        runs = []
        for name in loads:
            for address in (0, 1, 65525, 65526):
                try:
                    runs.append(runtime.invoke(store, inst.exports[name], [address]))
                except runtime.Trap as exc:
                    runs.append(exc.message)
        outcomes[engine] = runs
        if engine == "jit":  # compiled, not left to the interpreter
            assert all(inst.exports[name].native_code is not None for name in loads)
    assert outcomes["jit"] == outcomes["interp"]
    assert outcomes["interp"][-1] == "out of bounds memory access"
    assert outcomes["interp"][-2] != "out of bounds memory access"
