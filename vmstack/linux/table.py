"""The riscv64 (asm-generic) system-call table: each entry is a number, a name, an argument spec
and a handler. The spec says what each argument is, which both converts the raw registers for the
handler (file descriptors and signed values are sign-extended) and lets --strace print the call as
strace does. Calls whose structures the x86-64 host lays out identically are passed through to
the host with their buffers copied in and out (``passthrough``).

Argument kinds: i (signed 32-bit), l (signed 64-bit), u (unsigned), x (hex), p (pointer), fd,
dirfd, path / str (NUL-terminated strings), ibuf / obuf (a buffer whose length is the next
argument, read from or written to the guest), inN / outN / ioN (a struct of N bytes), and flag
kinds printed symbolically: oflags, mode, atflags, prot, mflags, amode, whence, sig, clock, how.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .hostcall import host_syscall

if TYPE_CHECKING:
    from .process import Process, Thread

Handler = Callable[..., Any]
SIGNED32 = {"i", "fd", "dirfd", "sig"}
MAX_BUFFER = 1 << 24  # the most one call moves through a host buffer (short counts are allowed)


@dataclass
class Syscall:
    nr: int
    name: str
    kinds: list[str]
    handler: Handler
    returns: str = "i"  # how --strace prints the result: i, x (an address) or u

    def convert(self, raw: list[int]) -> list[int]:
        args = []
        for kind, value in zip(self.kinds, raw):
            if kind in SIGNED32:
                value &= 0xFFFFFFFF
                value -= (value & 0x80000000) << 1
            elif kind == "l":
                value -= (value & (1 << 63)) << 1
            args.append(value)
        return args


SYSCALLS: dict[int, Syscall] = {}


def syscall(nr: int, name: str, spec: str = "", returns: str = "i") -> Callable[[Handler], Handler]:
    """Register ``handler(process, thread, *args) -> int`` as system call ``nr``."""
    def register(handler: Handler) -> Handler:
        SYSCALLS[nr] = Syscall(nr, name, spec.split(), handler, returns)
        return handler
    return register


def _struct_size(kind: str) -> int | None:
    for prefix in ("in", "out", "io"):
        if kind.startswith(prefix) and kind[len(prefix):].isdigit():
            return int(kind[len(prefix):])
    return None


def passthrough(nr: int, name: str, spec: str = "", host_name: str | None = None, returns: str = "i",
                lookup: bool = False) -> None:
    """Register a call made on the host as is; ``lookup`` resolves path arguments through the sysroot."""
    kinds = spec.split()
    host = host_name or name

    def handler(proc: Process, thread: Thread, *args: int) -> int:
        host_args: list[Any] = []
        copy_back: list[tuple[int, Any, int | None]] = []  # (guest address, buffer, fixed size)
        capped: dict[int, int] = {}  # index of a length argument -> the length the host buffer has
        for i, (kind, value) in enumerate(zip(kinds, args)):
            size = _struct_size(kind)
            if i in capped:
                host_args.append(capped[i])
            elif kind in ("path", "str") and value == 0:
                host_args.append(None)
            elif kind in ("path", "str"):
                text = proc.read_string(value)
                if kind == "path":
                    text = proc.guest_path(text, lookup)
                host_args.append(ctypes.c_char_p(text))
            elif kind in ("ibuf", "obuf") and value == 0:
                host_args.append(None)
            elif kind in ("ibuf", "obuf"):
                length = capped[i + 1] = min(args[i + 1], MAX_BUFFER)
                if kind == "ibuf":
                    host_args.append(ctypes.create_string_buffer(proc.memory.read(value, length), length))
                else:
                    buf = ctypes.create_string_buffer(length)
                    host_args.append(buf)
                    copy_back.append((value, buf, None))
            elif size is not None and value:
                buf = ctypes.create_string_buffer(size)
                if not kind.startswith("out"):
                    buf.raw = proc.memory.read(value, size)
                host_args.append(buf)
                if not kind.startswith("in"):
                    copy_back.append((value, buf, size))
            else:
                host_args.append(value)
        result = host_syscall(host, *host_args)
        if result >= 0:
            for addr, buf, size in copy_back:
                proc.memory.write(addr, buf.raw[:size if size is not None else result])
        return result

    SYSCALLS[nr] = Syscall(nr, name, kinds, handler, returns)
