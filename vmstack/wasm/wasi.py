"""WASI preview 1 (`wasi_snapshot_preview1`): every function, capability-based.

The guest sees only what its WasiConfig grants: argv, environment, standard
streams and preopened directories; paths resolve strictly beneath a preopen
(vmstack.host.sandbox). Host errors become WASI errno values; a bad guest
pointer is EFAULT, never a host crash.
"""

from __future__ import annotations

import errno as host_errno
import functools
import os
import select
import stat
import struct
import time
from collections.abc import Callable
from typing import Any

from ..host.fdtable import FdTable, OpenFile, kind_of
from ..host.sandbox import resolve
from .errors import ExitTrap
from .module import FuncType

MODULE = "wasi_snapshot_preview1"

# errno names in WASI order (index = WASI errno value)
_ERRNO_NAMES = (
    "SUCCESS 2BIG ACCES ADDRINUSE ADDRNOTAVAIL AFNOSUPPORT AGAIN ALREADY BADF BADMSG BUSY CANCELED "
    "CHILD CONNABORTED CONNREFUSED CONNRESET DEADLK DESTADDRREQ DOM DQUOT EXIST FAULT FBIG HOSTUNREACH "
    "IDRM ILSEQ INPROGRESS INTR INVAL IO ISCONN ISDIR LOOP MFILE MLINK MSGSIZE MULTIHOP NAMETOOLONG "
    "NETDOWN NETRESET NETUNREACH NFILE NOBUFS NODEV NOENT NOEXEC NOLCK NOLINK NOMEM NOMSG NOPROTOOPT "
    "NOSPC NOSYS NOTCONN NOTDIR NOTEMPTY NOTRECOVERABLE NOTSOCK NOTSUP NOTTY NXIO OVERFLOW OWNERDEAD PERM "
    "PIPE PROTO PROTONOSUPPORT PROTOTYPE RANGE ROFS SPIPE SRCH STALE TIMEDOUT TXTBSY XDEV NOTCAPABLE"
).split()
ERRNO = {name: i for i, name in enumerate(_ERRNO_NAMES)}
SUCCESS, BADF, FAULT, INVAL, IO, NOTDIR, ISDIR, PERM, NOTSUP, NOSYS, SPIPE, NOENT, EXIST = (
    ERRNO[n] for n in "SUCCESS BADF FAULT INVAL IO NOTDIR ISDIR PERM NOTSUP NOSYS SPIPE NOENT EXIST".split())
_HOST_TO_WASI = {code: ERRNO.get(name[1:], IO) for code, name in host_errno.errorcode.items()}
_HOST_TO_WASI[host_errno.EOPNOTSUPP] = NOTSUP

FILETYPE = {"other": 0, "block": 1, "char": 2, "dir": 3, "file": 4, "socket": 6, "symlink": 7, "pipe": 0}
FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC = 1, 2, 4, 8, 16
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = 1, 2, 4, 8
LOOKUP_SYMLINK_FOLLOW = 1
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
RIGHT_FD_READ, RIGHT_FD_WRITE = 1 << 1, 1 << 6
ALL_RIGHTS = (1 << 30) - 1
DIR_RIGHTS = ALL_RIGHTS & ~(RIGHT_FD_READ | RIGHT_FD_WRITE | (1 << 2) | (1 << 5))
CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
          3: time.CLOCK_THREAD_CPUTIME_ID}

_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q"))
_IOVEC = struct.Struct("<II")
_FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")
_FDSTAT = struct.Struct("<BxHxxxxQQ")
_DIRENT = struct.Struct("<QQIBxxx")
_SUBSCRIPTION = struct.Struct("<QB7xIxxxxQQH6x")  # userdata, tag, clock id/fd, timeout, precision, flags
_EVENT = struct.Struct("<QHB5xQH6x")


class WasiConfig:
    """What a guest may see, shaped like wasmtime-py's WasiConfig."""

    def __init__(self) -> None:
        self._argv: list[str] = []
        self._env: list[tuple[str, str]] = []
        self.preopens: list[tuple[str, str]] = []
        self.stdio: list[str | int | None] = [None, None, None]  # None = nothing, int = inherit

    @property
    def argv(self) -> list[str]:
        return self._argv

    @argv.setter
    def argv(self, value: list[str]) -> None:
        self._argv = [str(a) for a in value]

    @property
    def env(self) -> list[tuple[str, str]]:
        return self._env

    @env.setter
    def env(self, value: list[tuple[str, str]]) -> None:
        self._env = [(str(k), str(v)) for k, v in value]

    def inherit_argv(self) -> None:
        import sys

        self._argv = list(sys.argv)

    def inherit_env(self) -> None:
        self._env = list(os.environ.items())

    def inherit_stdin(self) -> None:
        self.stdio[0] = 0

    def inherit_stdout(self) -> None:
        self.stdio[1] = 1

    def inherit_stderr(self) -> None:
        self.stdio[2] = 2

    def _set_file(self, index: int, path: str) -> None:
        self.stdio[index] = str(path)

    stdin_file = property(None, lambda self, path: self._set_file(0, path))
    stdout_file = property(None, lambda self, path: self._set_file(1, path))
    stderr_file = property(None, lambda self, path: self._set_file(2, path))

    def preopen_dir(self, host_path: str, guest_path: str, *_perms: Any) -> None:
        self.preopens.append((str(host_path), str(guest_path)))


def _errno_of(exc: OSError) -> int:
    return _HOST_TO_WASI.get(exc.errno or 0, IO)


_SIGNATURES: dict[str, str] = {}


def wasi_function(params: str) -> Callable:
    """Register a preview-1 function: ``params`` spells its parameters, i = i32, I = i64."""

    def register(method: Callable) -> Callable:
        _SIGNATURES[method.__name__] = params

        @functools.wraps(method)
        def guarded(self: Wasi, *args: int) -> int:
            try:
                return method(self, *args)
            except OSError as exc:
                return _errno_of(exc)
            except (struct.error, IndexError, UnicodeDecodeError):
                return FAULT

        return guarded

    return register


class Wasi:
    """One guest's WASI context: its fd table, arguments, environment and clocks."""

    def __init__(self, config: WasiConfig) -> None:
        self.config = config
        self.memory: Any = None
        self.fds = FdTable()
        for index, spec in enumerate(config.stdio):
            self.fds.files[index] = self._stdio_file(index, spec)
        for host, guest in config.preopens:
            fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY)
            self.fds.add(OpenFile(fd, "dir", DIR_RIGHTS, ALL_RIGHTS, preopen=guest))
        self._funcs: dict[str, Any] | None = None

    def _stdio_file(self, index: int, spec: str | int | None) -> OpenFile:
        if isinstance(spec, int):
            kind = kind_of(os.fstat(spec).st_mode)
            rights = RIGHT_FD_READ if index == 0 else RIGHT_FD_WRITE
            if kind == "file":  # redirected from or to a file: seekable, not a terminal
                rights |= (1 << 2) | (1 << 5) | (1 << 21)
            return OpenFile(spec, kind, rights | (1 << 27), owned=False)
        if spec is None:
            fd = os.open(os.devnull, os.O_RDWR)
        else:
            flags = os.O_RDONLY if index == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            fd = os.open(spec, flags, 0o644)
        return OpenFile(fd, "file", ALL_RIGHTS & ~DIR_RIGHTS | (1 << 21))

    def bind_memory(self, memory: Any) -> None:
        self.memory = memory

    def close(self) -> None:
        self.fds.close_all()

    def host_functions(self) -> dict[str, Any]:
        if self._funcs is None:
            from .runtime import HostFunc

            funcs = {}
            for name, params in _SIGNATURES.items():
                types = tuple("i64" if c == "I" else "i32" for c in params)
                results = () if name == "proc_exit" else ("i32",)
                funcs[name] = HostFunc(FuncType(types, results), getattr(self, name), name)
            self._funcs = funcs
        return self._funcs

    # ---- memory access

    @property
    def mem(self) -> bytearray:
        if self.memory is None:
            raise IndexError("no memory")
        return self.memory.data

    def read_bytes(self, ptr: int, length: int) -> bytes:
        mem = self.mem
        if ptr + length > len(mem):
            raise IndexError("out of bounds")
        return bytes(mem[ptr:ptr + length])

    def write_bytes(self, ptr: int, data: bytes) -> None:
        mem = self.mem
        if ptr + len(data) > len(mem):
            raise IndexError("out of bounds")
        mem[ptr:ptr + len(data)] = data

    def read_str(self, ptr: int, length: int) -> str:
        return self.read_bytes(ptr, length).decode("utf-8")

    def put(self, fmt: struct.Struct, ptr: int, *values: Any) -> None:
        fmt.pack_into(self.mem, ptr, *values)

    def iovecs(self, ptr: int, count: int) -> list[tuple[int, int]]:
        mem = self.mem
        return [_IOVEC.unpack_from(mem, ptr + 8 * i) for i in range(count)]

    def file(self, fd: int) -> OpenFile:
        f = self.fds.get(fd)
        if f is None:
            raise OSError(host_errno.EBADF, "bad file descriptor")
        return f

    def dir_path(self, fd: int, ptr: int, length: int, follow: bool = False) -> tuple[int, str]:
        f = self.file(fd)
        if f.kind != "dir":
            raise OSError(host_errno.ENOTDIR, "not a directory")
        return resolve(f.host_fd, self.read_str(ptr, length), follow)

    # ---- args, environment, clocks, random, scheduling

    def _strings(self, items: list[str], ptrs: int, buf: int) -> int:
        for i, item in enumerate(items):
            data = item.encode("utf-8") + b"\0"
            self.put(_U32, ptrs + 4 * i, buf)
            self.write_bytes(buf, data)
            buf += len(data)
        return SUCCESS

    def _sizes(self, items: list[str], count_ptr: int, size_ptr: int) -> int:
        self.put(_U32, count_ptr, len(items))
        self.put(_U32, size_ptr, sum(len(s.encode("utf-8")) + 1 for s in items))
        return SUCCESS

    def _environ(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.config.env]

    @wasi_function("ii")
    def args_get(self, argv: int, buf: int) -> int:
        return self._strings(self.config.argv, argv, buf)

    @wasi_function("ii")
    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self.config.argv, count_ptr, size_ptr)

    @wasi_function("ii")
    def environ_get(self, environ: int, buf: int) -> int:
        return self._strings(self._environ(), environ, buf)

    @wasi_function("ii")
    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self._environ(), count_ptr, size_ptr)

    @wasi_function("ii")
    def clock_res_get(self, clock: int, ptr: int) -> int:
        if clock not in CLOCKS:
            return INVAL
        res = time.clock_getres(CLOCKS[clock])
        self.put(_U64, ptr, max(1, int(res * 1e9)))
        return SUCCESS

    @wasi_function("iIi")
    def clock_time_get(self, clock: int, precision: int, ptr: int) -> int:
        if clock not in CLOCKS:
            return INVAL
        self.put(_U64, ptr, time.clock_gettime_ns(CLOCKS[clock]))
        return SUCCESS

    @wasi_function("ii")
    def random_get(self, buf: int, length: int) -> int:
        self.write_bytes(buf, os.urandom(length))
        return SUCCESS

    @wasi_function("")
    def sched_yield(self) -> int:
        os.sched_yield()
        return SUCCESS

    @wasi_function("i")
    def proc_exit(self, code: int) -> None:
        raise ExitTrap(code)

    @wasi_function("i")
    def proc_raise(self, sig: int) -> int:
        return NOSYS

    # ---- file descriptors

    @wasi_function("iIIi")
    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        f = self.file(fd)
        if advice > 5:
            return INVAL
        if f.kind == "dir":
            return BADF
        return SUCCESS

    @wasi_function("iII")
    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        f = self.file(fd)
        if f.kind != "file":
            return BADF
        size = os.fstat(f.host_fd).st_size
        if offset + length > size:
            os.ftruncate(f.host_fd, offset + length)
        return SUCCESS

    @wasi_function("i")
    def fd_close(self, fd: int) -> int:
        self.file(fd)
        self.fds.close(fd)
        return SUCCESS

    @wasi_function("i")
    def fd_datasync(self, fd: int) -> int:
        os.fdatasync(self.file(fd).host_fd)
        return SUCCESS

    @wasi_function("i")
    def fd_sync(self, fd: int) -> int:
        os.fsync(self.file(fd).host_fd)
        return SUCCESS

    @wasi_function("ii")
    def fd_fdstat_get(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        kind = f.kind if f.kind != "file" else kind_of(os.fstat(f.host_fd).st_mode)
        self.put(_FDSTAT, ptr, FILETYPE.get(kind, 0), f.flags, f.rights, f.inheriting)
        return SUCCESS

    @wasi_function("ii")
    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        f = self.file(fd)
        if flags & ~(FDFLAG_APPEND | FDFLAG_DSYNC | FDFLAG_NONBLOCK | FDFLAG_RSYNC | FDFLAG_SYNC):
            return INVAL
        host = os.O_APPEND if flags & FDFLAG_APPEND else 0
        host |= os.O_NONBLOCK if flags & FDFLAG_NONBLOCK else 0
        import fcntl

        current = fcntl.fcntl(f.host_fd, fcntl.F_GETFL)
        fcntl.fcntl(f.host_fd, fcntl.F_SETFL, (current & ~(os.O_APPEND | os.O_NONBLOCK)) | host)
        f.flags = flags
        return SUCCESS

    @wasi_function("iII")
    def fd_fdstat_set_rights(self, fd: int, base: int, inheriting: int) -> int:
        f = self.file(fd)
        if base & ~f.rights or inheriting & ~f.inheriting:
            return ERRNO["NOTCAPABLE"]
        f.rights, f.inheriting = base, inheriting
        return SUCCESS

    def _filestat(self, ptr: int, st: os.stat_result) -> int:
        self.put(_FILESTAT, ptr, st.st_dev, st.st_ino, FILETYPE.get(kind_of(st.st_mode), 0), st.st_nlink,
                 st.st_size, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
        return SUCCESS

    @wasi_function("ii")
    def fd_filestat_get(self, fd: int, ptr: int) -> int:
        return self._filestat(ptr, os.fstat(self.file(fd).host_fd))

    @wasi_function("iI")
    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        f = self.file(fd)
        if f.kind == "dir":
            return BADF
        os.ftruncate(f.host_fd, size)
        return SUCCESS

    @staticmethod
    def _times(atim: int, mtim: int, flags: int, current: os.stat_result | None) -> tuple[int, int] | None:
        if (flags & FST_ATIM and flags & FST_ATIM_NOW) or (flags & FST_MTIM and flags & FST_MTIM_NOW):
            return None
        now = time.time_ns()
        a = atim if flags & FST_ATIM else now if flags & FST_ATIM_NOW else current.st_atime_ns
        m = mtim if flags & FST_MTIM else now if flags & FST_MTIM_NOW else current.st_mtime_ns
        return a, m

    @wasi_function("iIIi")
    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, flags: int) -> int:
        f = self.file(fd)
        times = self._times(atim, mtim, flags, os.fstat(f.host_fd))
        if times is None:
            return INVAL
        os.utime(f.host_fd, ns=times)
        return SUCCESS

    def _read_into(self, iovs: int, count: int, reader: Callable[[int], bytes]) -> int:
        total = 0
        for buf, length in self.iovecs(iovs, count):
            if length == 0:
                continue
            data = reader(length)
            self.write_bytes(buf, data)
            total += len(data)
            if len(data) < length:
                break
        return total

    def _gather(self, iovs: int, count: int) -> bytes:
        return b"".join(self.read_bytes(buf, length) for buf, length in self.iovecs(iovs, count))

    @wasi_function("iiii")
    def fd_read(self, fd: int, iovs: int, count: int, nread: int) -> int:
        f = self.file(fd)
        if f.kind == "dir":
            return ISDIR
        self.put(_U32, nread, self._read_into(iovs, count, lambda n: os.read(f.host_fd, n)))
        return SUCCESS

    @wasi_function("iiiIi")
    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, nread: int) -> int:
        f = self.file(fd)
        if f.kind == "dir":
            return ISDIR
        position = [offset]

        def reader(n: int) -> bytes:
            data = os.pread(f.host_fd, n, position[0])
            position[0] += len(data)
            return data

        self.put(_U32, nread, self._read_into(iovs, count, reader))
        return SUCCESS

    @wasi_function("iiii")
    def fd_write(self, fd: int, iovs: int, count: int, nwritten: int) -> int:
        f = self.file(fd)
        if f.kind == "dir":
            return BADF
        data = self._gather(iovs, count)
        written = 0
        while written < len(data):
            written += os.write(f.host_fd, data[written:])
        self.put(_U32, nwritten, written)
        return SUCCESS

    @wasi_function("iiiIi")
    def fd_pwrite(self, fd: int, iovs: int, count: int, offset: int, nwritten: int) -> int:
        f = self.file(fd)
        if f.kind == "dir":
            return BADF
        if f.flags & FDFLAG_APPEND:
            return NOTSUP
        self.put(_U32, nwritten, os.pwrite(f.host_fd, self._gather(iovs, count), offset))
        return SUCCESS

    @wasi_function("ii")
    def fd_prestat_get(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        if f.preopen is None:
            return BADF
        self.put(_U32, ptr, 0)
        self.put(_U32, ptr + 4, len(f.preopen.encode("utf-8")))
        return SUCCESS

    @wasi_function("iii")
    def fd_prestat_dir_name(self, fd: int, path: int, length: int) -> int:
        f = self.file(fd)
        if f.preopen is None:
            return BADF
        name = f.preopen.encode("utf-8")
        if length < len(name):
            return ERRNO["NAMETOOLONG"]
        self.write_bytes(path, name)
        return SUCCESS

    @wasi_function("iiiIi")
    def fd_readdir(self, fd: int, buf: int, length: int, cookie: int, bufused: int) -> int:
        f = self.file(fd)
        if f.kind != "dir":
            return NOTDIR
        if cookie == 0 or not f.dir_cache:
            f.dir_cache = self._list_dir(f.host_fd)
        out = bytearray()
        for index in range(cookie, len(f.dir_cache)):
            name, ino, kind = f.dir_cache[index]
            encoded = name.encode("utf-8", "surrogateescape")
            out += _DIRENT.pack(index + 1, ino, len(encoded), kind) + encoded
            if len(out) >= length:
                break
        out = out[:length]
        self.write_bytes(buf, bytes(out))
        self.put(_U32, bufused, len(out))
        return SUCCESS

    @staticmethod
    def _list_dir(host_fd: int) -> list[tuple[str, int, int]]:
        entries = []
        for name in [".", ".."] + sorted(os.listdir(host_fd)):
            try:
                st = os.stat(name, dir_fd=host_fd, follow_symlinks=False)
                entries.append((name, st.st_ino, FILETYPE.get(kind_of(st.st_mode), 0)))
            except OSError:
                entries.append((name, 0, 0))
        return entries

    @wasi_function("ii")
    def fd_renumber(self, fd: int, to: int) -> int:
        self.file(fd)
        self.file(to)
        self.fds.renumber(fd, to)
        return SUCCESS

    @wasi_function("iIii")
    def fd_seek(self, fd: int, offset: int, whence: int, newoffset: int) -> int:
        f = self.file(fd)
        if f.kind in ("dir",):
            return BADF
        if f.kind in ("char", "pipe", "socket"):
            return SPIPE
        if whence > 2:
            return INVAL
        signed = offset - (1 << 64) if offset & (1 << 63) else offset
        self.put(_U64, newoffset, os.lseek(f.host_fd, signed, whence))
        return SUCCESS

    @wasi_function("ii")
    def fd_tell(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        if f.kind in ("char", "pipe", "socket"):
            return SPIPE
        self.put(_U64, ptr, os.lseek(f.host_fd, 0, os.SEEK_CUR))
        return SUCCESS

    # ---- paths

    def _at(self, fd: int, path: int, length: int, follow: bool, action: Callable[[int, str], Any]) -> Any:
        parent, name = self.dir_path(fd, path, length, follow)
        try:
            return action(parent, name)
        finally:
            os.close(parent)

    @wasi_function("iii")
    def path_create_directory(self, fd: int, path: int, length: int) -> int:
        self._at(fd, path, length, False, lambda d, n: os.mkdir(n, 0o777, dir_fd=d))
        return SUCCESS

    @wasi_function("iiiii")
    def path_filestat_get(self, fd: int, flags: int, path: int, length: int, ptr: int) -> int:
        follow = bool(flags & LOOKUP_SYMLINK_FOLLOW)
        st = self._at(fd, path, length, follow, lambda d, n: os.stat(n, dir_fd=d, follow_symlinks=False))
        return self._filestat(ptr, st)

    @wasi_function("iiiiIIi")
    def path_filestat_set_times(self, fd: int, flags: int, path: int, length: int, atim: int, mtim: int,
                                fst: int) -> int:
        follow = bool(flags & LOOKUP_SYMLINK_FOLLOW)

        def touch(d: int, n: int) -> int:
            times = self._times(atim, mtim, fst, os.stat(n, dir_fd=d, follow_symlinks=False))
            if times is None:
                return INVAL
            os.utime(n, ns=times, dir_fd=d, follow_symlinks=False)
            return SUCCESS

        return self._at(fd, path, length, follow, touch)

    @wasi_function("iiiiiii")
    def path_link(self, old_fd: int, old_flags: int, old_path: int, old_len: int, new_fd: int, new_path: int,
                  new_len: int) -> int:
        follow = bool(old_flags & LOOKUP_SYMLINK_FOLLOW)
        src_dir, src = self.dir_path(old_fd, old_path, old_len, follow)
        try:
            self._at(new_fd, new_path, new_len, False,
                     lambda d, n: os.link(src, n, src_dir_fd=src_dir, dst_dir_fd=d, follow_symlinks=False))
        finally:
            os.close(src_dir)
        return SUCCESS

    @wasi_function("iiiiiIIii")
    def path_open(self, fd: int, dirflags: int, path: int, length: int, oflags: int, rights: int,
                  inheriting: int, fdflags: int, fd_ptr: int) -> int:
        base = self.file(fd)
        follow = bool(dirflags & LOOKUP_SYMLINK_FOLLOW)
        write = bool(rights & (RIGHT_FD_WRITE | (1 << 22) | (1 << 8))) or bool(fdflags & FDFLAG_APPEND)
        read = bool(rights & (RIGHT_FD_READ | (1 << 14)))
        flags = os.O_NOFOLLOW | os.O_CLOEXEC
        flags |= os.O_RDWR if write and read else os.O_WRONLY if write else os.O_RDONLY
        if oflags & OFLAG_CREAT:
            flags |= os.O_CREAT
        if oflags & OFLAG_EXCL:
            flags |= os.O_EXCL
        if oflags & OFLAG_TRUNC:
            flags |= os.O_TRUNC
        if oflags & OFLAG_DIRECTORY:
            flags |= os.O_DIRECTORY
        if fdflags & FDFLAG_APPEND:
            flags |= os.O_APPEND
        if fdflags & FDFLAG_NONBLOCK:
            flags |= os.O_NONBLOCK
        if fdflags & (FDFLAG_SYNC | FDFLAG_RSYNC):
            flags |= os.O_SYNC
        if fdflags & FDFLAG_DSYNC:
            flags |= os.O_DSYNC

        def open_at(d: int, n: int) -> int:
            try:
                return os.open(n, flags, 0o666, dir_fd=d)
            except IsADirectoryError:
                if write:
                    raise
                return os.open(n, (flags & ~(os.O_WRONLY | os.O_RDWR)) | os.O_DIRECTORY, dir_fd=d)

        host_fd = self._at(fd, path, length, follow, open_at)
        kind = kind_of(os.fstat(host_fd).st_mode)
        new = OpenFile(host_fd, kind, rights & base.inheriting, inheriting & base.inheriting, fdflags)
        self.put(_U32, fd_ptr, self.fds.add(new))
        return SUCCESS

    @wasi_function("iiiiii")
    def path_readlink(self, fd: int, path: int, length: int, buf: int, buf_len: int, bufused: int) -> int:
        target = self._at(fd, path, length, False, lambda d, n: os.readlink(n, dir_fd=d))
        data = target.encode("utf-8", "surrogateescape")[:buf_len]
        self.write_bytes(buf, data)
        self.put(_U32, bufused, len(data))
        return SUCCESS

    @wasi_function("iii")
    def path_remove_directory(self, fd: int, path: int, length: int) -> int:
        self._at(fd, path, length, False, lambda d, n: os.rmdir(n, dir_fd=d))
        return SUCCESS

    @wasi_function("iiiiii")
    def path_rename(self, fd: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int) -> int:
        src_dir, src = self.dir_path(fd, old_path, old_len)
        try:
            self._at(new_fd, new_path, new_len, False,
                     lambda d, n: os.rename(src, n, src_dir_fd=src_dir, dst_dir_fd=d))
        finally:
            os.close(src_dir)
        return SUCCESS

    @wasi_function("iiiii")
    def path_symlink(self, old_path: int, old_len: int, fd: int, new_path: int, new_len: int) -> int:
        target = self.read_str(old_path, old_len)
        if target.startswith("/"):
            return PERM
        self._at(fd, new_path, new_len, False, lambda d, n: os.symlink(target, n, dir_fd=d))
        return SUCCESS

    @wasi_function("iii")
    def path_unlink_file(self, fd: int, path: int, length: int) -> int:
        def unlink(d: int, n: str) -> None:
            if stat.S_ISDIR(os.stat(n, dir_fd=d, follow_symlinks=False).st_mode):
                raise IsADirectoryError(host_errno.EISDIR, "is a directory")
            os.unlink(n, dir_fd=d)

        self._at(fd, path, length, False, unlink)
        return SUCCESS

    # ---- polling

    @wasi_function("iiii")
    def poll_oneoff(self, subs: int, events: int, count: int, nevents: int) -> int:
        if count == 0:
            return INVAL
        mem = self.mem
        now = time.monotonic_ns()
        deadline = None
        clocks, readers, writers, out = [], {}, {}, []
        for i in range(count):
            userdata, tag, ident, timeout, _precision, flags = _SUBSCRIPTION.unpack_from(mem, subs + 48 * i)
            if tag == 0:
                if ident not in CLOCKS:
                    out.append((userdata, INVAL, 0))
                    continue
                if flags & 1:  # absolute
                    timeout = max(0, timeout - time.clock_gettime_ns(CLOCKS[ident]))
                due = now + timeout
                clocks.append((due, userdata))
                deadline = due if deadline is None else min(deadline, due)
            elif tag in (1, 2):
                f = self.fds.get(ident)
                if f is None:
                    out.append((userdata, BADF, tag))
                elif f.kind in ("file", "dir"):
                    out.append((userdata, SUCCESS, tag))  # regular files are always ready
                else:
                    (readers if tag == 1 else writers)[f.host_fd] = userdata
            else:
                return INVAL
        if not out and (readers or writers or deadline is not None):
            wait = None if deadline is None else max(0.0, (deadline - time.monotonic_ns()) / 1e9)
            ready_r, ready_w, _ = select.select(list(readers), list(writers), [], wait)
            out += [(readers[fd], SUCCESS, 1) for fd in ready_r]
            out += [(writers[fd], SUCCESS, 2) for fd in ready_w]
            if not out:
                after = time.monotonic_ns()
                out += [(u, SUCCESS, 0) for due, u in clocks if due <= after]
        for k, (userdata, err, kind) in enumerate(out):
            _EVENT.pack_into(mem, events + 32 * k, userdata, err, kind, 0, 0)
        self.put(_U32, nevents, len(out))
        return SUCCESS

    # ---- sockets: none are granted to guests

    @wasi_function("iii")
    def sock_accept(self, fd: int, flags: int, fd_ptr: int) -> int:
        return self._not_socket(fd)

    @wasi_function("iiiiii")
    def sock_recv(self, fd: int, data: int, data_len: int, flags: int, len_ptr: int, flags_ptr: int) -> int:
        return self._not_socket(fd)

    @wasi_function("iiiii")
    def sock_send(self, fd: int, data: int, data_len: int, flags: int, len_ptr: int) -> int:
        return self._not_socket(fd)

    @wasi_function("ii")
    def sock_shutdown(self, fd: int, how: int) -> int:
        return self._not_socket(fd)

    def _not_socket(self, fd: int) -> int:
        self.file(fd)
        return ERRNO["NOTSOCK"]
