"""Bad input and limits under the compiled tier: `vmstack run --engine jit` ends each failure with
the same one-line message and exit status as the interpreter does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GUEST = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1 100)
  (func $inner (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "divide") (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func $deep (export "deep") (call $deep))
  (func (export "grow") (result i32) (memory.grow (i32.const 50)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "exit") (param i32) (call $exit (local.get 0)))
  (func (export "answer") (result i64 f64) (i64.const -7) (f64.const 2.5)))
"""

CASES = [
    ["--invoke", "divide", "{wat}", "0"],
    ["--invoke", "divide", "{wat}", "5"],
    ["--invoke", "spin", "--timeout", "0.5", "{wat}"],
    ["--invoke", "spin", "--fuel", "5000", "{wat}"],
    ["--invoke", "deep", "{wat}"],
    ["--invoke", "grow", "--max-memory", "1M", "{wat}"],
    ["--invoke", "load", "{wat}", "65534"],
    ["--invoke", "exit", "{wat}", "7"],
    ["--invoke", "answer", "{wat}"],
    ["--invoke", "nothing", "{wat}"],
    ["{bad}"],
    ["/nonexistent.wasm"],
]


def _vmstack(args: list[str]) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "vmstack", "run", *args], capture_output=True, text=True,
                            timeout=120, check=False)
    return result.returncode, result.stdout, result.stderr.splitlines()[0] if result.stderr else ""


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c[:2]))
def test_same_outcome_under_both_engines(case: list[str], tmp_path: Path) -> None:
    wat = tmp_path / "guest.wat"
    wat.write_text(GUEST)
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\1\0\0\0\x01\x05")
    args = [a.format(wat=wat, bad=bad) for a in case]
    interp = _vmstack(["--engine", "interp", *args])
    jit = _vmstack(["--engine", "jit", *args])
    assert jit == interp
    assert interp[0] != 0 or interp[1]  # every case fails with a status or prints a result


def test_unknown_engine_is_a_usage_error() -> None:
    status, _, message = _vmstack(["--engine", "fast", "x.wasm"])
    assert status == 2
    assert "--engine" in message


SIMD_SCRIPT = """(module
  (func (export "min") (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
  (func (export "pmax") (param v128 v128) (result v128) (f32x4.pmax (local.get 0) (local.get 1)))
  (func (export "nearest") (param v128) (result v128) (f64x2.nearest (local.get 0)))
  (func (export "demote") (param v128) (result v128) (f32x4.demote_f64x2_zero (local.get 0)))
  (func (export "trunc_sat") (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0))))
(assert_return (invoke "min" (v128.const f32x4 0 -0 nan 1) (v128.const f32x4 -0 0 1 nan))
               (v128.const f32x4 -0 -0 nan:canonical nan:canonical))
(assert_return (invoke "pmax" (v128.const f32x4 -0 nan 1 2) (v128.const f32x4 0 1 nan 3))
               (v128.const f32x4 -0 nan:canonical 1 3))
(assert_return (invoke "nearest" (v128.const f64x2 2.5 -0.5)) (v128.const f64x2 2 -0))
(assert_return (invoke "demote" (v128.const f64x2 1e40 0x1p-149)) (v128.const f32x4 inf 0x1p-149 0 0))
(assert_return (invoke "trunc_sat" (v128.const f32x4 3e9 -3e9 nan -1.5))
               (v128.const i32x4 2147483647 -2147483648 0 -1))
(assert_return (invoke "nearest" (v128.const f64x2 2.5 3.5)) (v128.const f64x2 3 4))
"""


def test_wast_scripts_run_alike_under_both_engines(tmp_path: Path) -> None:
    """`vmstack wast --engine jit` runs a script's float-lane SIMD compiled; the spec's answers pass
    and a wrong expectation (nearest rounds 2.5 to even) fails, under both engines alike."""
    script = tmp_path / "lanes.wast"
    script.write_text(SIMD_SCRIPT)
    outcomes = {}
    for engine in ("interp", "jit"):
        result = subprocess.run([sys.executable, "-m", "vmstack", "wast", "--engine", engine, str(script)],
                                capture_output=True, text=True, timeout=120, check=False)
        outcomes[engine] = (result.returncode, result.stdout)
    assert outcomes["jit"] == outcomes["interp"]
    assert outcomes["jit"][0] == 1
    assert outcomes["jit"][1].splitlines()[-1] == "6 passed, 1 failed"
    assert "lanes.wast:15: nearest" in outcomes["jit"][1]  # the failing assertion, by its line
