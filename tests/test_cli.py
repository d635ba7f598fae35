"""The `vmstack` command as a user meets it: real processes, exit statuses and
one-line errors (never a Python traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmstack import __version__

LOOP = '(module (func (export "_start") (loop br 0)))'
GROW = """(module (memory (export "memory") 1)
  (func (export "_start") (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))))"""
TRAP = """(module $m
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $outer (export "go") (param i32) (result i32) (call $inner (local.get 0))))"""
EXIT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))"""
FIB = """(module (func $fib (export "fib") (param i64) (result i64)
  (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
    (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                   (call $fib (i64.sub (local.get 0) (i64.const 2))))))))"""


def vmstack(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmstack", *args], capture_output=True, text=True, check=False,
                          cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(proc: subprocess.CompletedProcess, status: int, needle: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr.splitlines()[0]


@pytest.fixture
def wat(tmp_path):
    def write(text: str, name: str = "m.wat") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_demo_runs_the_bundled_guest():
    proc = vmstack("demo")
    assert proc.returncode == 0, proc.stderr
    assert "Hello" in proc.stdout


def test_help_and_version_leave_as_argparse_makes_them():
    """The command ends without the interpreter's teardown: argparse's own exits still give their
    output and status through the pipe."""
    version, usage, missing = vmstack("--version"), vmstack("--help"), vmstack("run")
    assert (version.returncode, version.stdout) == (0, f"vmstack {__version__}\n")
    assert usage.returncode == 0 and usage.stdout.startswith("usage: vmstack") and "container" in usage.stdout
    assert missing.returncode == 2 and "the following arguments are required: PROG" in missing.stderr


def test_invoke_prints_results(wat):
    proc = vmstack("run", "--invoke", "fib", wat(FIB), "20")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "6765"


def test_guest_exit_status_is_passed_through(wat):
    proc = vmstack("run", wat(EXIT))
    assert proc.returncode == 7
    assert proc.stderr == ""


def test_trap_reports_message_and_backtrace(wat):
    proc = vmstack("run", "--invoke", "go", wat(TRAP), "0")
    assert_one_line_error(proc, 134, "integer divide by zero")
    assert "inner" in proc.stderr and "outer" in proc.stderr
    assert proc.stderr.index("inner") < proc.stderr.index("outer")  # innermost frame first


def test_fuel_limit(wat):
    assert_one_line_error(vmstack("run", "--fuel", "100000", wat(LOOP)), 123, "fuel")


def test_timeout_limit(wat):
    assert_one_line_error(vmstack("run", "--timeout", "0.5", wat(LOOP)), 124, "time limit")


def test_memory_limit(wat):
    assert_one_line_error(vmstack("run", "--max-memory", "4M", wat(GROW)), 122, "memory")


@pytest.mark.parametrize("args, needle", [
    (["run", "--fuel", "lots", "x.wasm"], "invalid count"),
    (["run", "--max-memory", "huge", "x.wasm"], "invalid size"),
    (["run", "--timeout", "-1", "x.wasm"], "greater than zero"),
    (["run", "does-not-exist.wasm"], "no such file"),
    (["frobnicate"], "invalid choice"),
    (["run", "--env", "novalue", "x.wat"], "K=V"),
])
def test_bad_command_lines(args, needle, tmp_path):
    (tmp_path / "x.wat").write_text('(module (func (export "_start")))')
    assert_one_line_error(vmstack(*args, cwd=tmp_path), 2, needle)


@pytest.mark.parametrize("content, needle", [
    (b"\0asm\x01\0\0\0\x01\x05\x01\x60", "malformed"),           # truncated type section
    (b"\0asm\x02\0\0\0", "malformed"),                             # wrong version
    (b"(module (func (result i32) i64.const 1))", "invalid"),     # type mismatch
    (b"(module (func i32.frobnicate))", "malformed"),             # unknown instruction in text
    (b"\x89PNG\r\n\x1a\n\0\0\0", "neither"),                      # not a module at all
])
def test_bad_modules(content, needle, tmp_path):
    path = tmp_path / "bad.wasm"
    path.write_bytes(content)
    proc = vmstack("run", str(path))
    assert proc.returncode in (1, 2)
    assert_one_line_error(proc, proc.returncode, needle)


def test_unlinkable_module(wat):
    proc = vmstack("run", wat('(module (import "env" "nope" (func)) (func (export "_start")))'))
    assert_one_line_error(proc, 1, "nope")


def test_inspect_lists_sections_imports_exports(wat):
    proc = vmstack("inspect", wat(EXIT))
    assert proc.returncode == 0, proc.stderr
    assert "wasi_snapshot_preview1.proc_exit" in proc.stdout
    assert "_start" in proc.stdout and "code" in proc.stdout


def test_wast_counts_passes_and_failures(wat):
    good = wat('(module (func (export "f") (result i32) i32.const 1))\n'
               '(assert_return (invoke "f") (i32.const 1))\n'
               '(assert_return (invoke "f") (i32.const 2))\n'
               '(assert_invalid (module (func (result i32))) "type mismatch")\n', "t.wast")
    proc = vmstack("wast", good)
    assert proc.stdout.strip().splitlines()[-1] == "3 passed, 1 failed"
    assert proc.returncode == 1


def test_guest_cannot_reach_outside_its_preopen(tmp_path):
    """A guest asking for ../secret through its preopen gets an error, and the host file is untouched."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    secret = tmp_path / "secret"
    secret.write_text("keep")
    module = tmp_path / "escape.wat"
    module.write_text("""(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "../secret")
      ;; path_open(fd 3, follow, "../secret", O_TRUNC, all rights) -> exit with the errno
      (func (export "_start")
        (call $exit (call $open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 9)
                               (i32.const 8) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 64)))))""")
    proc = vmstack("run", "--dir", f"{sandbox}::/", str(module))
    assert proc.returncode == 63, proc.stderr  # EPERM, as wasmtime answers
    assert secret.read_text() == "keep"
    assert os.listdir(sandbox) == []
