"""`vmstack run PROG` for riscv64 ELF programs: exit statuses, signals as a shell reports them,
--strace, --env, --max-insns, and bad input as one-line errors."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios

from .riscv_programs import ROOT, SYSROOT, build, needs_qemu, needs_toolchain, run_qemu, run_vmstack

pytestmark = needs_toolchain


def _one_line_error(outcome, fragment: str) -> None:
    assert outcome.status == 1
    assert outcome.stderr.count("\n") == 1 and fragment in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_exit_status_and_arguments_pass_through() -> None:
    got = run_vmstack(build("hello", "static"), "hi", "there")
    assert (got.status, got.stdout, got.stderr) == (3, "hi there\n", "")


def test_strace_prints_calls_as_strace_does() -> None:
    got = run_vmstack(build("hello", "static"), "traced", extra=("--strace",))
    assert got.status == 3 and got.stdout == "traced\n"
    lines = got.stderr.splitlines()
    assert 'write(1, "traced\\n", 7) = 7' in lines
    assert 'openat(AT_FDCWD, "/nonexistent/file", O_RDONLY) = -1 ENOENT (No such file or directory)' in lines
    assert lines[-1] == "exit_group(3) = ?"


def test_env_is_the_hosts_plus_options() -> None:
    got = run_vmstack(build("basics", "static"), extra=("--env", "VMSTACK_TEST=set by option"))
    assert "VMSTACK_TEST=set by option\n" in got.stdout


def test_instruction_limit_stops_the_guest() -> None:
    got = run_vmstack(build("basics", "static"), extra=("--max-insns", "5000"))
    assert got.status == 125 and "instruction limit" in got.stderr and got.stderr.count("\n") == 1


@needs_qemu
def test_jump_to_garbage_is_a_segmentation_fault() -> None:
    program = build("garbage", "static")
    expected = run_qemu(program)
    got = run_vmstack(program)
    assert expected.status == got.status == 139
    assert got.stdout == expected.stdout == "jumping\n"
    assert got.stderr == "Segmentation fault\n"


def test_non_riscv_elf_is_refused() -> None:
    _one_line_error(run_vmstack(shutil.which("true")), "an ELF file for X86_64, not riscv64")


def test_truncated_elf_is_refused(tmp_path) -> None:
    cut = tmp_path / "cut"
    cut.write_bytes(build("hello", "static").read_bytes()[:3000])
    _one_line_error(run_vmstack(cut), "truncated ELF file")


def test_missing_interpreter_is_refused(tmp_path) -> None:
    got = run_vmstack(build("hello", "dynamic"), extra=("-L", str(tmp_path)))
    _one_line_error(got, "its interpreter /lib/ld-linux-riscv64-lp64d.so.1 does not exist")


@needs_qemu
def test_static_pie_the_dynamic_loader_run_as_a_program() -> None:
    """ld.so is an ET_DYN file without PT_INTERP (what a static-pie is): vmstack places it itself, and it
    then maps the program named on its command line through mmap."""
    loader = "/usr/riscv64-linux-gnu/lib/ld-linux-riscv64-lp64d.so.1"
    args = ("--library-path", "/usr/riscv64-linux-gnu/lib", str(build("hello", "dynamic")), "as", "static-pie")
    expected = run_qemu(loader, *args)
    got = run_vmstack(loader, *args)
    assert (got.status, got.stdout, got.stderr) == (expected.status, expected.stdout, expected.stderr)
    assert got.status == 3 and got.stdout == "as static-pie\n"


def _on_a_terminal(command: list[str], env: dict | None = None) -> str:
    """Run ``command`` with a pseudo-terminal of 33 rows and 101 columns as stdin and stdout."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode()


@needs_qemu
def test_terminal_ioctls_same_as_qemu() -> None:
    program = str(build("tty", "static"))
    expected = _on_a_terminal(["qemu-riscv64", "-L", SYSROOT, program])
    got = _on_a_terminal([sys.executable, "-m", "vmstack", "run", program], {**os.environ, "PYTHONPATH": str(ROOT)})
    assert "TIOCGWINSZ: 0 rows=33 cols=101" in expected and "isatty: 1 1" in expected
    assert got == expected


def _until_reader_leaves(command: list[str], env: dict | None = None) -> tuple[int, str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.readline() == b"y\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    return (proc.returncode if proc.returncode >= 0 else 128 - proc.returncode), err


@needs_qemu
def test_broken_pipe_same_as_qemu() -> None:
    program = str(build("yes", "static"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for mode in ("default", "ignore"):
        expected = _until_reader_leaves(["qemu-riscv64", "-L", SYSROOT, program, mode])
        got = _until_reader_leaves([sys.executable, "-m", "vmstack", "run", program, mode], env)
        assert got == expected
        assert expected == ((141, "") if mode == "default" else (2, "write failed: Broken pipe\n"))
