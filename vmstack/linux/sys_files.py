"""File and directory system calls. Guest descriptors are host descriptors (as in qemu-user: the
guest is a process of the user, so fork, exec and inherited descriptors just work), so most calls
go to the host as they are; reads and writes that would block park the calling thread instead.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl as host_fcntl
import os
import select
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from .hostcall import host_syscall
from .process import Blocked, fd_ready
from .table import passthrough, syscall

if TYPE_CHECKING:
    from .process import Process, Thread

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000
IO_CHUNK = 1 << 24  # the most one read moves (a short read is always allowed)

passthrough(17, "getcwd", "obuf u")
passthrough(23, "dup", "fd")
passthrough(24, "dup3", "fd fd oflags")
passthrough(32, "flock", "fd i")
passthrough(33, "mknodat", "dirfd path mode u")
passthrough(34, "mkdirat", "dirfd path mode")
passthrough(35, "unlinkat", "dirfd path atflags")
passthrough(36, "symlinkat", "path dirfd path")
passthrough(37, "linkat", "dirfd path dirfd path atflags")
passthrough(43, "statfs", "path out120", lookup=True)
passthrough(44, "fstatfs", "fd out120")
passthrough(45, "truncate", "path l")
passthrough(46, "ftruncate", "fd l")
passthrough(47, "fallocate", "fd i l l")
passthrough(48, "faccessat", "dirfd path amode", lookup=True)
passthrough(49, "chdir", "path")
passthrough(50, "fchdir", "fd")
passthrough(51, "chroot", "path")
passthrough(52, "fchmod", "fd mode")
passthrough(53, "fchmodat", "dirfd path mode")
passthrough(54, "fchownat", "dirfd path i i atflags")
passthrough(55, "fchown", "fd i i")
passthrough(56, "openat", "dirfd path oflags mode", lookup=True)
passthrough(57, "close", "fd")
passthrough(59, "pipe2", "out8 oflags")
passthrough(61, "getdents64", "fd obuf u")
passthrough(62, "lseek", "fd l whence", returns="u")
passthrough(67, "pread64", "fd obuf u l")
passthrough(68, "pwrite64", "fd ibuf u l")
passthrough(71, "sendfile", "fd fd io8 u")
passthrough(81, "sync", "")
passthrough(82, "fsync", "fd")
passthrough(83, "fdatasync", "fd")
passthrough(84, "sync_file_range", "fd l l u")
passthrough(88, "utimensat", "dirfd path in32 atflags")
passthrough(276, "renameat2", "dirfd path dirfd path u")
passthrough(291, "statx", "dirfd path atflags u out256", lookup=True)
passthrough(439, "faccessat2", "dirfd path amode atflags", lookup=True)
passthrough(285, "copy_file_range", "fd io8 fd io8 u u")
passthrough(19, "eventfd2", "u oflags")
passthrough(26, "inotify_init1", "oflags")
passthrough(27, "inotify_add_watch", "fd path u")
passthrough(28, "inotify_rm_watch", "fd i")
passthrough(279, "memfd_create", "str u")
passthrough(223, "fadvise64", "fd l l i")
passthrough(8, "getxattr", "path str obuf u")
passthrough(9, "lgetxattr", "path str obuf u")
passthrough(10, "fgetxattr", "fd str obuf u")
passthrough(11, "listxattr", "path obuf u")
passthrough(12, "llistxattr", "path obuf u")
passthrough(13, "flistxattr", "fd obuf u")
passthrough(436, "close_range", "u u u")
passthrough(198, "socket", "i i i")
passthrough(199, "socketpair", "i i i out8")
passthrough(200, "bind", "fd ibuf u")
passthrough(201, "listen", "fd i")
passthrough(203, "connect", "fd ibuf u")
passthrough(210, "shutdown", "fd i")
passthrough(208, "setsockopt", "fd i i ibuf u")


def _is_blocking(fd: int) -> bool:
    try:
        return not host_fcntl.fcntl(fd, host_fcntl.F_GETFL) & os.O_NONBLOCK
    except OSError:
        return False  # a bad descriptor: the call itself reports it


def wait_for_fd(fd: int, events: int, attempt: Callable[[], int], restartable: bool = True) -> int:
    """Run ``attempt`` now if ``fd`` is ready (or non-blocking); otherwise park until it is."""
    if not _is_blocking(fd) or fd_ready(fd, events):
        return attempt()
    return _park_on_fd(fd, events, attempt, restartable)


def _park_on_fd(fd: int, events: int, attempt: Callable[[], int], restartable: bool) -> NoReturn:
    raise Blocked(attempt=lambda: attempt() if fd_ready(fd, events) else None, fds=((fd, events),),
                  restartable=restartable)


def _read_into_guest(proc: Process, fd: int, pieces: list[tuple[int, int]]) -> int:
    total = min(sum(n for _, n in pieces), IO_CHUNK)
    buf = ctypes.create_string_buffer(max(total, 1))
    result = host_syscall("read", fd, buf, total)
    if result > 0:
        _scatter(proc, buf.raw[:result], pieces)
    return result


def _scatter(proc: Process, data: bytes, pieces: list[tuple[int, int]]) -> None:
    """Spread ``data`` over the guest buffers ``pieces`` (an iovec list), in order."""
    at = 0
    for base, n in pieces:
        if at >= len(data):
            return
        proc.memory.write(base, data[at:at + n])
        at += n


def _write_from_guest(fd: int, data: bytes) -> int:
    return host_syscall("write", fd, ctypes.create_string_buffer(data, len(data)), len(data))


def _iovecs(proc: Process, iov: int, count: int) -> list[tuple[int, int]]:
    if count > 1024:
        raise OSError(errno.EINVAL, "too many iovecs")
    raw = proc.memory.read(iov, 16 * count)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]


@syscall(63, "read", "fd obuf u")
def sys_read(proc: Process, thread: Thread, fd: int, buf: int, count: int) -> int:
    return wait_for_fd(fd, select.POLLIN, lambda: _read_into_guest(proc, fd, [(buf, count)]))


@syscall(64, "write", "fd ibuf u")
def sys_write(proc: Process, thread: Thread, fd: int, buf: int, count: int) -> int:
    data = proc.memory.read(buf, min(count, IO_CHUNK))
    return wait_for_fd(fd, select.POLLOUT, lambda: _write_from_guest(fd, data))


@syscall(65, "readv", "fd p i")
def sys_readv(proc: Process, thread: Thread, fd: int, iov: int, count: int) -> int:
    pieces = _iovecs(proc, iov, count)
    return wait_for_fd(fd, select.POLLIN, lambda: _read_into_guest(proc, fd, pieces))


@syscall(66, "writev", "fd p i")
def sys_writev(proc: Process, thread: Thread, fd: int, iov: int, count: int) -> int:
    data = b"".join(proc.memory.read(base, n) for base, n in _iovecs(proc, iov, count))
    return wait_for_fd(fd, select.POLLOUT, lambda: _write_from_guest(fd, data))


# ---------------------------------------------------------------- stat

_STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")  # asm-generic struct stat, 128 bytes


def pack_stat(st: os.stat_result) -> bytes:
    def split(ns: int) -> tuple[int, int]:
        return ns // 1_000_000_000, ns % 1_000_000_000
    return _STAT.pack(st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev, 0,
                      st.st_size, st.st_blksize, 0, st.st_blocks, *split(st.st_atime_ns),
                      *split(st.st_mtime_ns), *split(st.st_ctime_ns), 0, 0)


@syscall(80, "fstat", "fd out128")
def sys_fstat(proc: Process, thread: Thread, fd: int, buf: int) -> int:
    proc.memory.write(buf, pack_stat(os.stat(fd)))
    return 0


@syscall(79, "newfstatat", "dirfd path out128 atflags")
def sys_newfstatat(proc: Process, thread: Thread, dirfd: int, path: int, buf: int, flags: int) -> int:
    name = proc.read_string(path)
    if not name:
        if not flags & AT_EMPTY_PATH:
            return -errno.ENOENT
        st = os.stat(dirfd) if dirfd != AT_FDCWD else os.stat(".")
    else:
        st = os.stat(proc.guest_path(name, lookup=True), dir_fd=None if dirfd == AT_FDCWD else dirfd,
                     follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)
    proc.memory.write(buf, pack_stat(st))
    return 0


@syscall(78, "readlinkat", "dirfd path obuf u")
def sys_readlinkat(proc: Process, thread: Thread, dirfd: int, path: int, buf: int, size: int) -> int:
    name = proc.read_string(path)
    if int(size) <= 0:
        return -errno.EINVAL
    target = proc.guest_path(name)
    if target == name:
        target = os.readlink(proc.guest_path(name, lookup=True), dir_fd=None if dirfd == AT_FDCWD else dirfd)
    proc.memory.write(buf, target[:size])
    return min(len(target), size)


# ---------------------------------------------------------------- fcntl and ioctl

F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 5, 6, 7, 36, 37, 38
LOCK_COMMANDS = {F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW}
FLOCK_SIZE = 32
# F_DUPFD F_GETFD F_SETFD F_GETFL F_SETFL F_SETOWN F_GETOWN F_SETSIG F_GETSIG, leases, notify,
# F_DUPFD_CLOEXEC, pipe sizes, seals: an int argument or none
INT_COMMANDS = {0, 1, 2, 3, 4, 8, 9, 10, 11, 1024, 1025, 1026, 1030, 1031, 1032, 1033, 1034}


@syscall(25, "fcntl", "fd i x")
def sys_fcntl(proc: Process, thread: Thread, fd: int, cmd: int, arg: int) -> int:
    if cmd in LOCK_COMMANDS:
        buf = ctypes.create_string_buffer(proc.memory.read(arg, FLOCK_SIZE), FLOCK_SIZE)
        result = host_syscall("fcntl", fd, cmd, buf)
        if result >= 0 and cmd in (F_GETLK, F_OFD_GETLK):
            proc.memory.write(arg, buf.raw)
        return result
    if cmd not in INT_COMMANDS:  # the rest take pointers (F_GETOWN_EX, the rw hints...)
        return -errno.EINVAL
    return host_syscall("fcntl", fd, cmd, arg)


# request -> (size of the struct it reads or writes, "in" / "out" / "" for an int argument)
IOCTLS = {
    0x5401: (36, "out"), 0x5402: (36, "in"), 0x5403: (36, "in"), 0x5404: (36, "in"),  # TCGETS, TCSETS*
    0x5413: (8, "out"), 0x5414: (8, "in"),        # TIOCGWINSZ, TIOCSWINSZ
    0x540F: (4, "out"), 0x5410: (4, "in"),        # TIOCGPGRP, TIOCSPGRP
    0x541B: (4, "out"), 0x5411: (4, "out"),       # FIONREAD, TIOCOUTQ
    0x5421: (4, "in"), 0x5452: (4, "in"),         # FIONBIO, FIOASYNC
    0x5429: (4, "out"), 0x80045430: (4, "out"), 0x40045431: (4, "in"),  # TIOCGSID, TIOCGPTN, TIOCSPTLCK
    0x540E: (0, ""), 0x5422: (0, ""), 0x5451: (0, ""), 0x5450: (0, ""),  # TIOCSCTTY TIOCNOTTY FIOCLEX FIONCLEX
    0x540B: (0, ""), 0x540A: (0, ""), 0x5409: (0, ""), 0x5425: (0, ""),  # TCFLSH TCXONC TCSBRK TCSBRKP
}


@syscall(29, "ioctl", "fd x x")
def sys_ioctl(proc: Process, thread: Thread, fd: int, request: int, arg: int) -> int:
    request &= 0xFFFFFFFF
    if request not in IOCTLS:
        return -errno.ENOTTY
    size, direction = IOCTLS[request]
    if not direction:
        return host_syscall("ioctl", fd, request, arg)
    buf = ctypes.create_string_buffer(size)
    if direction == "in":
        buf.raw = proc.memory.read(arg, size)
    result = host_syscall("ioctl", fd, request, buf)
    if result >= 0 and direction == "out":
        proc.memory.write(arg, buf.raw)
    return result



# ---------------------------------------------------------------- sockets (addresses out through a length)

SOCKADDR_MAX = 128


def _with_address_out(proc: Process, name: str, leading: list, addr: int, addrlen: int, trailing: list) -> int:
    """A host call that writes a sockaddr (or option) and its length through guest pointers."""
    if not addr:
        return host_syscall(name, *leading, None, None, *trailing)
    (room,) = struct.unpack("<I", proc.memory.read(addrlen, 4))
    buf = ctypes.create_string_buffer(max(min(room, SOCKADDR_MAX), 1))
    length = ctypes.c_uint32(min(room, SOCKADDR_MAX))
    result = host_syscall(name, *leading, buf, ctypes.byref(length), *trailing)
    if result >= 0:
        proc.memory.write(addr, buf.raw[:min(room, length.value)])
        proc.memory.write(addrlen, struct.pack("<I", length.value))
    return result


@syscall(242, "accept4", "fd p p oflags")
def sys_accept4(proc: Process, thread: Thread, fd: int, addr: int, addrlen: int, flags: int) -> int:
    return wait_for_fd(fd, select.POLLIN,
                       lambda: _with_address_out(proc, "accept4", [fd], addr, addrlen, [flags]))


@syscall(202, "accept", "fd p p")
def sys_accept(proc: Process, thread: Thread, fd: int, addr: int, addrlen: int) -> int:
    return sys_accept4(proc, thread, fd, addr, addrlen, 0)


def _socket_address_query(name: str) -> Callable[..., int]:
    def handler(proc: Process, thread: Thread, fd: int, addr: int, addrlen: int) -> int:
        return _with_address_out(proc, name, [fd], addr, addrlen, [])
    return handler


for _nr, _name in ((204, "getsockname"), (205, "getpeername")):
    syscall(_nr, _name, "fd p p")(_socket_address_query(_name))


@syscall(209, "getsockopt", "fd i i p p")
def sys_getsockopt(proc: Process, thread: Thread, fd: int, level: int, option: int, value: int,
                   length: int) -> int:
    return _with_address_out(proc, "getsockopt", [fd, level, option], value, length, [])


@syscall(206, "sendto", "fd ibuf u x p u")
def sys_sendto(proc: Process, thread: Thread, fd: int, buf: int, count: int, flags: int, addr: int,
               addrlen: int) -> int:
    data = proc.memory.read(buf, min(count, IO_CHUNK))
    target = ctypes.create_string_buffer(proc.memory.read(addr, addrlen), addrlen) if addr else None
    return wait_for_fd(fd, select.POLLOUT, lambda: host_syscall(
        "sendto", fd, ctypes.create_string_buffer(data, len(data)), len(data), flags, target, addrlen if addr else 0))


@syscall(207, "recvfrom", "fd obuf u x p p")
def sys_recvfrom(proc: Process, thread: Thread, fd: int, buf: int, count: int, flags: int, addr: int,
                 addrlen: int) -> int:
    def attempt() -> int:
        data = ctypes.create_string_buffer(max(min(count, IO_CHUNK), 1))
        result = _with_address_out(proc, "recvfrom", [fd, data, min(count, IO_CHUNK), flags], addr, addrlen, [])
        if result > 0:
            proc.memory.write(buf, data.raw[:result])
        return result
    return wait_for_fd(fd, select.POLLIN, attempt)


# struct msghdr (the same on both sides): name, namelen, iov, iovlen, control, controllen, flags
MSGHDR = struct.Struct("<QI4xQQQQi4x")


class _HostMsghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _HostIovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _HostMessage:
    """A host msghdr mirroring the guest's at ``msg``: one iovec holding ``data`` to send (or ``room``
    bytes to receive into), and copies of the name and control buffers."""

    def __init__(self, proc: Process, msg: int, data: bytes | None, room: int = 0) -> None:
        self.name, namelen, _iov, _iovlen, self.control, controllen, _ = MSGHDR.unpack(
            proc.memory.read(msg, MSGHDR.size))
        sending = data is not None
        namelen, controllen = min(namelen, SOCKADDR_MAX), min(controllen, 1 << 16)
        self.name_buf = ctypes.create_string_buffer(
            proc.memory.read(self.name, namelen) if self.name and sending else b"", max(namelen, 1))
        self.control_buf = ctypes.create_string_buffer(
            proc.memory.read(self.control, controllen) if self.control and sending else b"", max(controllen, 1))
        size = len(data) if sending else room
        self.payload = ctypes.create_string_buffer(data or b"", max(size, 1))
        self.vector = _HostIovec(ctypes.cast(self.payload, ctypes.c_void_p), size)
        self.header = _HostMsghdr(
            ctypes.cast(self.name_buf, ctypes.c_void_p) if self.name else None, namelen if self.name else 0,
            ctypes.cast(ctypes.pointer(self.vector), ctypes.c_void_p), 1,
            ctypes.cast(self.control_buf, ctypes.c_void_p) if self.control else None,
            controllen if self.control else 0, 0)


def _message_pieces(proc: Process, msg: int) -> list[tuple[int, int]]:
    _, _, iov, iovlen, *_ = MSGHDR.unpack(proc.memory.read(msg, MSGHDR.size))
    return _iovecs(proc, iov, iovlen)


@syscall(211, "sendmsg", "fd p x")
def sys_sendmsg(proc: Process, thread: Thread, fd: int, msg: int, flags: int) -> int:
    data = b"".join(proc.memory.read(base, n) for base, n in _message_pieces(proc, msg))
    message = _HostMessage(proc, msg, data)
    return wait_for_fd(fd, select.POLLOUT, lambda: host_syscall("sendmsg", fd, ctypes.byref(message.header), flags))


@syscall(212, "recvmsg", "fd p x")
def sys_recvmsg(proc: Process, thread: Thread, fd: int, msg: int, flags: int) -> int:
    def attempt() -> int:
        pieces = _message_pieces(proc, msg)
        message = _HostMessage(proc, msg, None, min(sum(n for _, n in pieces), IO_CHUNK))
        header = message.header
        result = host_syscall("recvmsg", fd, ctypes.byref(header), flags)
        if result >= 0:
            _scatter(proc, message.payload.raw[:result], pieces)
            if message.name:
                proc.memory.write(message.name, message.name_buf.raw[:header.namelen])
            if message.control:
                proc.memory.write(message.control, message.control_buf.raw[:header.controllen])
            fields = list(MSGHDR.unpack(proc.memory.read(msg, MSGHDR.size)))
            fields[1], fields[5], fields[6] = header.namelen, header.controllen, header.flags
            proc.memory.write(msg, MSGHDR.pack(*fields))
        return result
    return wait_for_fd(fd, select.POLLIN, attempt)
