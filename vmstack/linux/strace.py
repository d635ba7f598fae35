"""--strace: each guest system call printed to stderr the way strace prints it, e.g.
``openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`` or ``= -1 ENOENT (No such file or directory)``.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from .table import Syscall, _struct_size

if TYPE_CHECKING:
    from .process import Process

AT_FDCWD = -100
STRING_LIMIT = 32
CREATING = 0o100 | 0o20000000  # O_CREAT, __O_TMPFILE

_OPEN_FLAGS = [(0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
               (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"),
               (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
               (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
               (0o4000000, "__O_SYNC"), (0o10000000, "O_PATH"), (0o20000000, "__O_TMPFILE")]
_PROT = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")]
_MAP = [(0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"),
        (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
        (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"),
        (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE")]
_AT = [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"), (0x400, "AT_SYMLINK_FOLLOW"),
       (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH")]
_ACCESS = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")]
_WHENCE = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
_CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
           3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
           6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME"}
_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
SIGNAL_NAMES = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
                8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
                14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
                20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
                26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}


def signal_name(signo: int) -> str:
    if signo in SIGNAL_NAMES:
        return SIGNAL_NAMES[signo]
    return f"SIGRT_{signo - 32}" if 32 <= signo <= 64 else str(signo)


def _flags(value: int, table: list[tuple[int, str]], zero: str = "0") -> str:
    names = []
    for mask, name in table:
        if value & mask:
            names.append(name)
            value &= ~mask
    if value:
        names.append(hex(value))
    return "|".join(names) or zero


def _quote(data: bytes, limit: int | None = STRING_LIMIT) -> str:
    shown = data if limit is None else data[:limit]
    out = []
    for byte in shown:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:o}")
    return '"' + "".join(out) + '"' + ("..." if limit is not None and len(data) > limit else "")


def _pointer(value: int) -> str:
    return "NULL" if value == 0 else hex(value)


def format_arg(proc: Process, kind: str, value: int, length: int | None, result: int | None) -> str:
    """One argument as strace shows it; ``length`` is the next argument (buffer kinds)."""
    try:
        if kind == "dirfd" and value == AT_FDCWD:
            return "AT_FDCWD"
        if kind in ("i", "fd", "dirfd", "l", "u"):
            return str(value)
        if kind == "x":
            return hex(value)
        if kind in ("path", "str"):
            return _pointer(value) if value == 0 else _quote(proc.read_string(value), None if kind == "path"
                                                               else STRING_LIMIT)
        if kind == "ibuf":
            return _quote(proc.memory.read(value, min(length or 0, STRING_LIMIT + 1)))
        if kind == "obuf":
            if result is None or result < 0:
                return _pointer(value)
            return _quote(proc.memory.read(value, min(result, STRING_LIMIT + 1)))
        if kind == "oflags":
            access = ("O_RDONLY", "O_WRONLY", "O_RDWR", "0x3")[value & 3]
            rest = _flags(value & ~3, _OPEN_FLAGS, "")
            return access + ("|" + rest if rest else "")
        if kind == "mode":
            return f"0{value:o}"
        if kind == "atflags":
            return _flags(value, _AT)
        if kind == "amode":
            return _flags(value, _ACCESS, "F_OK")
        if kind == "prot":
            return _flags(value, _PROT, "PROT_NONE")
        if kind == "mflags":
            return _flags(value, _MAP)
        if kind == "whence":
            return _WHENCE.get(value, str(value))
        if kind == "clock":
            return _CLOCKS.get(value, str(value))
        if kind == "how":
            return _HOW.get(value, str(value))
        if kind == "sig":
            return signal_name(value) if value else "0"
    except Exception:  # noqa: BLE001 - an unreadable argument is shown as its address
        return _pointer(value)
    if _struct_size(kind) is not None or kind == "p":
        return _pointer(value)
    return str(value)


def format_result(call: Syscall | None, result: int) -> str:
    if result < 0 and result >= -4095:
        code = -result
        name = errno.errorcode.get(code, f"E{code}")
        return f"-1 {name} ({os.strerror(code)})"
    if call is not None and call.returns == "x":
        return hex(result)
    return str(result)


def format_call(proc: Process, call: Syscall | None, nr: int, args: list[int], result: int | None) -> str:
    """``name(args...)`` with the result appended when there is one (``= ?`` for calls that never return)."""
    if call is None:
        text = f"syscall_{nr:#x}(" + ", ".join(hex(a) for a in args) + ")"
    else:
        shown = []
        for i, kind in enumerate(call.kinds):
            if kind == "mode" and i and call.kinds[i - 1] == "oflags" and not args[i - 1] & CREATING:
                continue  # strace shows open's mode only when the call may create a file
            length = args[i + 1] if i + 1 < len(args) else None
            shown.append(format_arg(proc, kind, args[i], length, result))
        text = f"{call.name}(" + ", ".join(shown) + ")"
    return text + (" = ?" if result is None else " = " + format_result(call, result))
