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
