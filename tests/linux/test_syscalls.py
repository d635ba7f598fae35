"""Small riscv64 C programs, one per group of system calls, run under vmstack and under
qemu-riscv64 (the oracle): stdout and exit status must be identical, static and dynamic."""

from __future__ import annotations

import pytest

from .riscv_programs import build, needs_qemu, needs_toolchain, run_qemu, run_vmstack

pytestmark = [needs_toolchain, needs_qemu]

PROGRAMS = ["basics", "files", "memory", "signals", "procs", "threads", "sockets", "epoll", "messages"]


@pytest.mark.parametrize("link", ["static", "dynamic"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_same_as_qemu(name: str, link: str) -> None:
    program = build(name, link)
    args = ("one", "two words")
    env = {"VMSTACK_TEST": "from the host"}
    expected = run_qemu(program, *args, env=env)
    got = run_vmstack(program, *args, env=env)
    assert got.stderr == expected.stderr
    assert got.stdout == expected.stdout
    assert got.status == expected.status
