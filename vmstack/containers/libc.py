"""ctypes bindings to the libc calls Python 3.11 lacks (unshare, setns, mount, umount2, pivot_root,
capget/capset, prctl, bpf, clone3 into a cgroup, renameat2's exchange), raising OSError with errno like
the os module does."""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

SYS_PIVOT_ROOT = 155
SYS_CAPGET = 125
SYS_CAPSET = 126
SYS_MOUNT_SETATTR = 442
SYS_BPF = 321
SYS_CLONE3 = 435
CLONE_INTO_CGROUP = 0x200000000
SIGCHLD = 17
AT_RECURSIVE = 0x8000


def _check(result: int, what: str, path: str | None = None) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}", path)
    return result


def _bytes(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(path: str, other: str) -> None:
    """Swap two paths atomically (renameat2 with RENAME_EXCHANGE, Linux 3.15)."""
    _check(_libc.renameat2(AT_FDCWD, _bytes(path), AT_FDCWD, _bytes(other), RENAME_EXCHANGE), "renameat2", path)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
           f"mount {source or ''} on {target}", target)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_bytes(target), flags), f"umount {target}", target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(SYS_PIVOT_ROOT, _bytes(new_root), _bytes(put_old)), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_CAP_VERSION_3 = 0x20080522


def capget() -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling thread as 64-bit masks."""
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    _check(_libc.syscall(SYS_CAPGET, ctypes.byref(header), data), "capget")
    return tuple(data[0].__getattribute__(f) | data[1].__getattribute__(f) << 32
                 for f in ("effective", "permitted", "inheritable"))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    for i in range(2):
        data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
    _check(_libc.syscall(SYS_CAPSET, ctypes.byref(header), data), "capset")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def mount_setattr_recursive(path: str, attr_set: int, attr_clr: int) -> None:
    """Set/clear MOUNT_ATTR_* flags on the mount at path and every mount below it (Linux 5.12)."""
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, _bytes(path), AT_RECURSIVE, ctypes.byref(attr),
                         ctypes.sizeof(attr)), f"mount_setattr {path}", path)


def bpf(command: int, attr: ctypes.Array, what: str) -> int:
    """bpf(2) with the union bpf_attr `attr` (a zero-filled byte array laid out for `command`)."""
    return _check(_libc.syscall(SYS_BPF, command, attr, ctypes.sizeof(attr)), what)


_python = ctypes.PyDLL(None, use_errno=True)  # the GIL stays held across the call, as os.fork holds it
_python.syscall.restype = ctypes.c_long


class _CloneArgs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("flags", "pidfd", "child_tid", "parent_tid", "exit_signal",
                                                     "stack", "stack_size", "tls", "set_tid", "set_tid_size",
                                                     "cgroup")]


def fork_into_cgroup(cgroup_fd: int) -> int:
    """fork(2) whose child starts in the cgroup v2 directory open at `cgroup_fd` (clone3 with
    CLONE_INTO_CGROUP, Linux 5.7), with the interpreter's fork bookkeeping around it as os.fork does
    it; 0 in the child, its pid in the parent."""
    args = _CloneArgs(flags=CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=cgroup_fd)
    _python.PyOS_BeforeFork()
    pid = _python.syscall(SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args))
    if pid == 0:
        _python.PyOS_AfterFork_Child()
        return 0
    _python.PyOS_AfterFork_Parent()
    return _check(pid, "clone3")
