"""Real programs from Debian source packages, built for riscv64 by guests/build.py, under vmstack and
under qemu-riscv64: the sqlite3 shell and lua5.4 (static and dynamic) on small workloads of
guests/riscv/workloads/ and lua on the wasm tests' full workload (sqlite3's full one takes too long),
and busybox (Debian's busybox-static configuration) running applets and shell pipelines. Stdout,
stderr and exit status must be identical (a signal death translated as in test_differential).

busybox's shell runs most applets by an execve of /proc/self/exe. Under qemu-user without binfmt_misc
that execve fails (the host cannot run a riscv64 ELF) and the shell goes on to search PATH, where it
would find the host's own tools (coreutils' wc formats differently). So under qemu, PATH holds only
one host wrapper per applet that runs busybox's applet under qemu-riscv64, what an execve does on
Linux; under vmstack, PATH is an empty directory (its execve of /proc/self/exe works)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.linux.test_differential import (
    QEMU,
    SYSROOT,
    expected_vmstack_outcome,
    guest_build,
    run_qemu,
    run_vmstack,
)

WORKLOADS = guest_build.GUESTS_DIR / "riscv" / "workloads"
INPUT_TEXT = "banana\napple\ncherry\napple\n"

# (program, target, arguments, stdin file or None, what the oracle's stdout must contain).
DEBIAN_CASES = [
    ("sqlite3", "riscv64", [], WORKLOADS / "sqlite3.sql", "RISCV|8|3|3.5|Inf"),
    ("sqlite3", "riscv64-dynamic", [], WORKLOADS / "sqlite3.sql", "RISCV|8|3|3.5|Inf"),
    ("lua", "riscv64", ["-"], WORKLOADS / "lua.lua", "Lua 5.4 done"),
    ("lua", "riscv64-dynamic", ["-"], WORKLOADS / "lua.lua", "Lua 5.4 done"),
    # The wasm tests' full lua workload too (about 7 CPU s here; sqlite3's full one takes 30).
    ("lua", "riscv64", ["-"], guest_build.WORKLOADS["lua"][1], "Lua 5.4 done"),
]

# (busybox arguments, whether INPUT_TEXT is its stdin, what the oracle's stdout must contain). Each
# runs in a directory holding one file, fruit.txt (INPUT_TEXT). The applets run mostly inside one
# shell each (in its process, or forked), which spares a start-up of the emulator per applet.
APPLETS = (
    "sort -u fruit.txt; wc -l -w -c < fruit.txt; sha256sum < fruit.txt; sed -e 's/an/AN/g' fruit.txt; "
    "seq 1 3 10; expr 7 '*' 6; ls -1; cut -c 2-4 fruit.txt | uniq -c; basename /a/b/c.txt .txt; "
    "awk 'BEGIN { for (i = 1; i <= 5; i++) s += i * i; printf \"%d %.3f %s\\n\", s, s / 7, substr(\"busybox\", 4) }'; "
    "printf '%05d|%x|%s\\n' 42 255 end; test -f fruit.txt && echo exists; word=riscv; echo $((6 * 7)) ${#word}"
)
BUSYBOX_CASES = [
    (["echo", "hello", "from", "busybox"], False, "hello from busybox"),
    (["sh", "-c", APPLETS], False, "55 7.857 ybox"),
    (["sh", "-c", "i=0; while [ $i -lt 4 ]; do i=$((i + 1)); echo line $i; done; echo done $i"], False, "done 4"),
    (["sh", "-c", "read first; echo \"first: $first\"; cat | tr a-z A-Z"], True, "first: banana"),
    (["sh", "-c", ("printf '%s\\n' c b a | sort | head -n 2; x=$(echo nested | rev); echo $x; (exit 3); "
                   "echo subshell $?; false")], False, "subshell 3"),
]


@pytest.mark.parametrize(("name", "target", "args", "stdin", "marker"), DEBIAN_CASES,
                         ids=[f"{name}-{target}-{'small' if stdin.parent == WORKLOADS else 'full'}"
                              for name, target, _, stdin, _ in DEBIAN_CASES])
def test_debian_program_agrees_with_qemu(name: str, target: str, args: list[str], stdin: Path,
                                         marker: str) -> None:
    program = guest_build.build(name, target)
    oracle = run_qemu(program, args, stdin)
    assert marker in oracle.stdout, oracle
    assert run_vmstack(program, args, stdin) == expected_vmstack_outcome(oracle)


@pytest.fixture(scope="module")
def busybox_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The PATH each runner's busybox gets (see the module docstring), by runner."""
    program = guest_build.build("busybox", "riscv64")
    listing = run_qemu(program, ["--list"])
    assert listing.status == 0 and "sh" in listing.stdout.split(), listing
    applets, empty = tmp_path_factory.mktemp("applets"), tmp_path_factory.mktemp("empty")
    for applet in listing.stdout.split():
        wrapper = applets / applet
        wrapper.write_text(f'#!/bin/sh\nexec {QEMU} -L {SYSROOT} {program} {applet} "$@"\n')
        wrapper.chmod(0o755)
    return {"run_qemu": {"PATH": str(applets)}, "run_vmstack": {"PATH": str(empty)}}


@pytest.mark.parametrize(("args", "reads_input", "marker"), BUSYBOX_CASES,
                         ids=[f"busybox-{index}-{args[0]}" for index, (args, *_) in enumerate(BUSYBOX_CASES)])
def test_busybox_agrees_with_qemu(args: list[str], reads_input: bool, marker: str, tmp_path: Path,
                                  busybox_paths: dict[str, dict[str, str]]) -> None:
    program = guest_build.build("busybox", "riscv64")
    outcomes = []
    for run in (run_qemu, run_vmstack):
        directory = tmp_path / run.__name__
        directory.mkdir()
        (directory / "fruit.txt").write_text(INPUT_TEXT)
        stdin = directory / "fruit.txt" if reads_input else None
        outcomes.append(run(program, args, stdin, directory, busybox_paths[run.__name__]))
    oracle, observed = outcomes
    assert marker in oracle.stdout, oracle
    assert observed == expected_vmstack_outcome(oracle)
