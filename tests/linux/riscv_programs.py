"""Build the small riscv64 C programs of tests/linux/programs/ (static and dynamic, cached by the
hash of source and flags) and run them under vmstack and under the oracle, qemu-riscv64."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCES = Path(__file__).parent / "programs"
CACHE = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack")) / "linux-tests"
SYSROOT = "/usr/riscv64-linux-gnu"
CC = "riscv64-linux-gnu-gcc"
ROOT = Path(__file__).resolve().parents[2]

needs_toolchain = pytest.mark.skipif(not shutil.which(CC) or not os.path.isdir(SYSROOT),
                                     reason="gcc-riscv64-linux-gnu and libc6-dev-riscv64-cross are needed")
needs_qemu = pytest.mark.skipif(not shutil.which("qemu-riscv64"), reason="qemu-user is needed")


def build(name: str, link: str = "static") -> Path:
    """The program tests/linux/programs/NAME.c compiled for riscv64 at -O2 (``link`` static or dynamic)."""
    source = SOURCES / f"{name}.c"
    flags = ["-O2", "-Wall", "-pthread", *(["-static"] if link == "static" else [])]
    key = hashlib.sha256(source.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    out = CACHE / f"{name}-{link}-{key}"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        subprocess.run([CC, *flags, "-o", str(tmp), str(source)], check=True, capture_output=True)
        tmp.rename(out)
    return out


@dataclass
class Outcome:
    status: int      # exit status, or 128+N for a death by signal N (as a shell reports it)
    stdout: str
    stderr: str


def run_vmstack(program: Path | str, *args: str, extra: tuple[str, ...] = (), stdin: str | None = None,
                env: dict | None = None, timeout: float = 240, cwd: str | None = None) -> Outcome:
    command = [sys.executable, "-m", "vmstack", "run", *extra, str(program), *args]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, input=stdin, env=full_env, check=False,
                          timeout=timeout, cwd=cwd)
    return Outcome(done.returncode, done.stdout, done.stderr)


def run_qemu(program: Path | str, *args: str, stdin: str | None = None, env: dict | None = None,
             cwd: str | None = None) -> Outcome:
    done = subprocess.run(["qemu-riscv64", "-L", SYSROOT, str(program), *args], capture_output=True,
                          text=True, input=stdin, env={**os.environ, **(env or {})}, timeout=60, cwd=cwd,
                          check=False)
    status = done.returncode if done.returncode >= 0 else 128 - done.returncode
    return Outcome(status, done.stdout, done.stderr)
