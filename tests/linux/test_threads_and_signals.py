"""Green threads that block (pipes, sleeps, timed waits), a deadlock reported instead of a hang,
and signals sent from the host reaching the guest: its handler, or its death reported as a shell's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from .riscv_programs import ROOT, SYSROOT, build, needs_qemu, needs_toolchain, run_qemu, run_vmstack

pytestmark = needs_toolchain


@needs_qemu
def test_blocking_threads_same_as_qemu() -> None:
    program = build("waits", "dynamic")
    expected = run_qemu(program)
    got = run_vmstack(program)
    assert (got.status, got.stdout, got.stderr) == (expected.status, expected.stdout, expected.stderr)


def test_deadlock_is_reported() -> None:
    got = run_vmstack(build("deadlock", "static"))
    assert got.stdout == "both hold one lock\n"
    assert got.status == 125
    assert got.stderr == "vmstack: deadlock: all 2 guest thread(s) wait on futexes that no one can wake\n"


def _signalled(command: list[str], mode: str, env: dict | None = None) -> tuple[int, str, str]:
    proc = subprocess.Popen([*command, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    status = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return status, "ready\n" + out, err


@needs_qemu
@pytest.mark.parametrize("mode", ["handle", "default"])
def test_host_signal_reaches_the_guest(mode: str) -> None:
    program = str(build("waits", "static"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    expected = _signalled(["qemu-riscv64", "-L", SYSROOT, program], mode)
    got = _signalled([sys.executable, "-m", "vmstack", "run", program], mode, env)
    assert got[:2] == expected[:2]
    assert expected[0] == (5 if mode == "handle" else 128 + signal.SIGTERM)
    assert got[2] == ("" if mode == "handle" else "Terminated\n")
