"""--strace's formatting of calls, arguments and results, against strace's own conventions."""

from __future__ import annotations

from types import SimpleNamespace

from vmstack.linux import sys_files, sys_memory  # noqa: F401 - register the calls
from vmstack.linux.strace import format_call
from vmstack.linux.table import SYSCALLS
from vmstack.riscv.memory import PROT_READ, PROT_WRITE, Memory

BUFFER = 0x10000


def _process_with(data: bytes) -> SimpleNamespace:
    memory = Memory()
    memory.map(BUFFER, 4096, PROT_READ | PROT_WRITE)
    memory.poke(BUFFER, data)
    return SimpleNamespace(memory=memory, read_string=lambda addr: memory.read_cstring(addr))


def _line(name: str, raw: list[int], result: int | None, data: bytes = b"") -> str:
    call = next(c for c in SYSCALLS.values() if c.name == name)
    return format_call(_process_with(data), call, call.nr, call.convert(raw), result)


def test_open_with_and_without_a_mode() -> None:
    assert _line("openat", [(-100) & (2**64 - 1), BUFFER, 0, 0], 3, b"/etc/passwd\0") == \
        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3'
    assert _line("openat", [5, BUFFER, 0o1101 | 0o2000000, 0o644], -2, b"out\0") == \
        'openat(5, "out", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = -1 ENOENT (No such file or directory)'


def test_buffers_are_quoted_and_cut() -> None:
    assert _line("write", [1, BUFFER, 6], 6, b"hi\n\t\"x") == 'write(1, "hi\\n\\t\\"x", 6) = 6'
    long = b"0123456789" * 4
    assert _line("write", [2, BUFFER, 40], 40, long) == f'write(2, "{long[:32].decode()}"..., 40) = 40'


def test_mmap_flags_and_addresses() -> None:
    assert _line("mmap", [0, 8192, PROT_READ | PROT_WRITE, 0x22, (-1) & (2**64 - 1), 0], 0x3ff7ffe000) == \
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = 0x3ff7ffe000"


def test_unknown_and_endless_calls() -> None:
    proc = _process_with(b"")
    assert format_call(proc, None, 4000, [1, 2, 0, 0, 0, 0], -38) == \
        "syscall_0xfa0(0x1, 0x2, 0x0, 0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)"
    assert _line("exit_group", [3], None) == "exit_group(3) = ?"
