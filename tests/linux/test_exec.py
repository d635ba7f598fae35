"""execve of riscv64 programs. qemu-user without binfmt_misc cannot do this (the host kernel refuses
a riscv64 file with ENOEXEC), so the oracle is qemu-riscv64 running the exec'd command line directly,
with the same environment and inherited descriptors; the parent's lines are what Linux prints."""

from __future__ import annotations

import errno
import os
import subprocess

from .riscv_programs import SYSROOT, build, needs_qemu, needs_toolchain, run_vmstack

pytestmark = [needs_toolchain, needs_qemu]


def _qemu_child(program, *args: str) -> str:
    """The exec'd program's line, from qemu-riscv64 run with fd 20 open and the execve's environment."""
    def open_fd_20() -> None:  # in the child only, so no descriptor of the test process is touched
        os.dup2(os.open(os.devnull, os.O_RDONLY), 20)

    done = subprocess.run(["qemu-riscv64", "-L", SYSROOT, str(program), *args], capture_output=True, text=True,
                          env={"EXEC_VAR": "given to execve"}, preexec_fn=open_fd_20, close_fds=False,
                          check=False)
    assert done.returncode == 42
    return done.stdout


def test_execve_of_riscv_programs_and_scripts() -> None:
    for link in ("static", "dynamic"):
        program = build("exec", link)
        expected = (_qemu_child(program, "child", "via /proc/self/exe") + "status 42\n"
                    + _qemu_child(program, "child", "/tmp/the-script", "extra") + "status 42\n"
                    + f"execve missing failed: errno={errno.ENOENT}\nstatus 99\n"
                    + f"execve not-executable failed: errno={errno.EACCES}\nstatus 99\n")
        got = run_vmstack(program)
        assert (got.status, got.stderr) == (0, "")
        assert got.stdout == expected
