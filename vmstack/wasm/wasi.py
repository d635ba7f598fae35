"""WASI preview 1 (`wasi_snapshot_preview1`): every function, capability-based.

The guest sees only what its WasiConfig grants: argv, environment, standard
streams and preopened directories; paths resolve strictly beneath a preopen
(vmstack.host.sandbox) and each descriptor carries the rights it was opened
with. Host errors become WASI errno values, chosen to match wasmtime's; a bad
guest pointer is EFAULT, never a host crash.
"""

from __future__ import annotations

import errno as host_errno
import fcntl
import functools
import os
import select
import stat
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from ..host.fdtable import FdTable, OpenFile, kind_of
from ..host.sandbox import resolve
from .errors import ExitTrap, WasmError
from .module import FuncType

MODULE = "wasi_snapshot_preview1"


def _words(text: str) -> list[str]:
    return text.split()


# errno names in WASI order (index = WASI errno value)
_ERRNO_NAMES = _words(
    "SUCCESS 2BIG ACCES ADDRINUSE ADDRNOTAVAIL AFNOSUPPORT AGAIN ALREADY BADF BADMSG BUSY CANCELED "
    "CHILD CONNABORTED CONNREFUSED CONNRESET DEADLK DESTADDRREQ DOM DQUOT EXIST FAULT FBIG HOSTUNREACH "
    "IDRM ILSEQ INPROGRESS INTR INVAL IO ISCONN ISDIR LOOP MFILE MLINK MSGSIZE MULTIHOP NAMETOOLONG "
    "NETDOWN NETRESET NETUNREACH NFILE NOBUFS NODEV NOENT NOEXEC NOLCK NOLINK NOMEM NOMSG NOPROTOOPT "
    "NOSPC NOSYS NOTCONN NOTDIR NOTEMPTY NOTRECOVERABLE NOTSOCK NOTSUP NOTTY NXIO OVERFLOW OWNERDEAD PERM "
    "PIPE PROTO PROTONOSUPPORT PROTOTYPE RANGE ROFS SPIPE SRCH STALE TIMEDOUT TXTBSY XDEV NOTCAPABLE"
)
ERRNO = {name: i for i, name in enumerate(_ERRNO_NAMES)}
SUCCESS, BADF, FAULT, INVAL, IO, NOTDIR, ISDIR, PERM, NOTSUP, SPIPE, ILSEQ, NOTCAPABLE = (
    ERRNO[n] for n in _words("SUCCESS BADF FAULT INVAL IO NOTDIR ISDIR PERM NOTSUP SPIPE ILSEQ NOTCAPABLE"))
_HOST_TO_WASI = {code: ERRNO.get(name[1:], IO) for code, name in host_errno.errorcode.items()}
_HOST_TO_WASI[host_errno.EOPNOTSUPP] = NOTSUP

# filetype values; 'stream' and 'pipe' are unknown (0), as wasmtime reports redirected stdio and pipes
FILETYPE = {"block": 1, "char": 2, "dir": 3, "file": 4, "socket": 6, "symlink": 7}
FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC = 1, 2, 4, 8, 16
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = 1, 2, 4, 8
LOOKUP_SYMLINK_FOLLOW = 1
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
EVENT_CLOCK, EVENT_FD_READ, EVENT_FD_WRITE = 0, 1, 2
SUBCLOCK_ABSTIME = 1

# rights, bit by bit in the spec's order
_RIGHT_NAMES = _words(
    "FD_DATASYNC FD_READ FD_SEEK FD_FDSTAT_SET_FLAGS FD_SYNC FD_TELL FD_WRITE FD_ADVISE FD_ALLOCATE "
    "PATH_CREATE_DIRECTORY PATH_CREATE_FILE PATH_LINK_SOURCE PATH_LINK_TARGET PATH_OPEN FD_READDIR "
    "PATH_READLINK PATH_RENAME_SOURCE PATH_RENAME_TARGET PATH_FILESTAT_GET PATH_FILESTAT_SET_SIZE "
    "PATH_FILESTAT_SET_TIMES FD_FILESTAT_GET FD_FILESTAT_SET_SIZE FD_FILESTAT_SET_TIMES PATH_SYMLINK "
    "PATH_REMOVE_DIRECTORY PATH_UNLINK_FILE POLL_FD_READWRITE SOCK_SHUTDOWN SOCK_ACCEPT"
)
RIGHT = {name: 1 << bit for bit, name in enumerate(_RIGHT_NAMES)}
ALL_RIGHTS = (1 << len(_RIGHT_NAMES)) - 1
FILE_RIGHTS = sum(RIGHT[n] for n in _words(
    "FD_DATASYNC FD_READ FD_SEEK FD_FDSTAT_SET_FLAGS FD_SYNC FD_TELL FD_WRITE FD_ADVISE FD_ALLOCATE "
    "FD_FILESTAT_GET FD_FILESTAT_SET_SIZE FD_FILESTAT_SET_TIMES POLL_FD_READWRITE"))
DIR_RIGHTS = ALL_RIGHTS & ~FILE_RIGHTS | sum(RIGHT[n] for n in _words(
    "FD_DATASYNC FD_FDSTAT_SET_FLAGS FD_SYNC FD_FILESTAT_GET FD_FILESTAT_SET_TIMES"))
_WRITE_RIGHTS = RIGHT["FD_WRITE"] | RIGHT["FD_ALLOCATE"] | RIGHT["FD_FILESTAT_SET_SIZE"]
_READ_RIGHTS = RIGHT["FD_READ"] | RIGHT["FD_READDIR"]

CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
          3: time.CLOCK_THREAD_CPUTIME_ID}
MAX_IO_BYTES = 1 << 24  # one fd_read/fd_write moves at most this much (a short count is legal)
_MAX_WAIT_S = 60.0  # poll_oneoff sleeps in slices of at most this long

_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
_PRESTAT = struct.Struct("<BxxxI")
_FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")
_FDSTAT = struct.Struct("<BxHxxxxQQ")
_DIRENT = struct.Struct("<QQIBxxx")
_SUBSCRIPTION = struct.Struct("<QB7xIxxxxQQH6x")  # userdata, tag, clock id/fd, timeout, precision, flags
_EVENT = struct.Struct("<QHB5xQH6x")  # userdata, error, type, nbytes, flags


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


class _Refused(Exception):
    """A check inside a WASI function failed: return ``errno`` to the guest."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


_SIGNATURES: dict[str, str] = {}


def wasi_function(params: str) -> Callable:
    """Register a preview-1 function: ``params`` spells its parameters, i = i32, I = i64."""

    def register(method: Callable) -> Callable:
        _SIGNATURES[method.__name__] = params

        @functools.wraps(method)
        def guarded(self: Wasi, *args: int) -> int:
            try:
                return method(self, *args)
            except _Refused as refusal:
                return refusal.errno
            except OSError as exc:
                return _errno_of(exc)
            except (struct.error, IndexError):
                return FAULT
            except UnicodeError:
                return ILSEQ
            except (OverflowError, ValueError):
                return INVAL

        return guarded

    return register


class Wasi:
    """One guest's WASI context: its fd table, arguments, environment and clocks."""

    def __init__(self, config: WasiConfig) -> None:
        self.config = config
        self.memory: Any = None
        self.fds = FdTable()
        try:
            for index, spec in enumerate(config.stdio):
                self.fds.files[index] = self._stdio_file(index, spec)
            for host, guest in config.preopens:
                fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                self.fds.add(OpenFile(fd, "dir", DIR_RIGHTS, ALL_RIGHTS, preopen=guest))
        except OSError as exc:
            self.close()
            raise WasmError(f"WASI set-up failed: {exc.filename}: {exc.strerror}") from None
        self._funcs: dict[str, Any] | None = None

    @staticmethod
    def _stdio_file(index: int, spec: str | int | None) -> OpenFile:
        """Standard streams are byte streams that cannot seek, as in wasmtime: a terminal is a
        character device, anything else (file, pipe, nothing) a stream of unknown type."""
        if isinstance(spec, int):
            host_fd, owned = spec, False
        elif spec is None:
            host_fd, owned = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC), True
        else:
            flags = os.O_RDONLY if index == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            host_fd, owned = os.open(spec, flags | os.O_CLOEXEC, 0o644), True
        rights = RIGHT["FD_READ"] if index == 0 else RIGHT["FD_WRITE"]
        kind = "char" if os.isatty(host_fd) else "stream"
        return OpenFile(host_fd, kind, rights, rights, owned=owned)

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

    # ---- guest memory

    @property
    def mem(self) -> bytearray:
        if self.memory is None:
            raise IndexError("no memory bound")
        return self.memory.data

    def _check(self, ptr: int, length: int) -> bytearray:
        mem = self.mem
        if ptr + length > len(mem):
            raise IndexError("guest pointer out of bounds")
        return mem

    def read_bytes(self, ptr: int, length: int) -> bytes:
        return bytes(self._check(ptr, length)[ptr:ptr + length])

    def write_bytes(self, ptr: int, data: bytes) -> None:
        self._check(ptr, len(data))[ptr:ptr + len(data)] = data

    def read_str(self, ptr: int, length: int) -> str:
        return self.read_bytes(ptr, length).decode("utf-8")

    def put(self, fmt: struct.Struct, ptr: int, *values: Any) -> None:
        fmt.pack_into(self.mem, ptr, *values)

    def iovecs(self, ptr: int, count: int) -> list[tuple[int, int]]:
        """The (buffer, length) pairs of an iovec array, each checked to lie in memory."""
        mem = self.mem
        vectors = [_IOVEC.unpack_from(mem, ptr + 8 * i) for i in range(count)]
        for buf, length in vectors:
            self._check(buf, length)
        return vectors

    # ---- descriptors and paths

    def file(self, fd: int, needs: int = 0) -> OpenFile:
        """The open file ``fd``, which must hold the rights ``needs``: lacking read or write is
        EBADF (what POSIX and wasmtime answer), lacking any other right ENOTCAPABLE."""
        f = self.fds.get(fd)
        if f is None:
            raise _Refused(BADF)
        missing = needs & ~f.rights
        if missing:
            raise _Refused(BADF if missing & (RIGHT["FD_READ"] | RIGHT["FD_WRITE"]) else NOTCAPABLE)
        return f

    def non_directory(self, fd: int, needs: int) -> OpenFile:
        """An open file that is not a directory (reads, writes and seeks on one are EBADF)."""
        f = self.file(fd)
        if f.kind == "dir":
            raise _Refused(BADF)
        return self.file(fd, needs)

    def dir_path(self, fd: int, ptr: int, length: int, needs: int, follow: bool = False) -> tuple[int, str]:
        """Resolve the guest path at ``ptr`` beneath directory ``fd``: ``(parent host fd, name)``."""
        f = self.file(fd)
        if f.kind != "dir":
            raise _Refused(NOTDIR)
        self.file(fd, needs)
        return resolve(f.host_fd, self.read_str(ptr, length), follow)

    def _at(self, fd: int, path: int, length: int, needs: int, follow: bool,
            action: Callable[[int, str], Any]) -> Any:
        parent, name = self.dir_path(fd, path, length, needs, follow)
        try:
            return action(parent, name)
        finally:
            os.close(parent)

    # ---- args, environment, clocks, random, scheduling, exit

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
        self.put(_U64, ptr, max(1, round(time.clock_getres(CLOCKS[clock]) * 1e9)))
        return SUCCESS

    @wasi_function("iIi")
    def clock_time_get(self, clock: int, precision: int, ptr: int) -> int:
        if clock not in CLOCKS:
            return INVAL
        self.put(_U64, ptr, time.clock_gettime_ns(CLOCKS[clock]))
        return SUCCESS

    @wasi_function("ii")
    def random_get(self, buf: int, length: int) -> int:
        self._check(buf, length)
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
        return NOTSUP  # deprecated; wasmtime answers the same

    # ---- file descriptors

    @wasi_function("iIIi")
    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        f = self.non_directory(fd, RIGHT["FD_ADVISE"])
        if advice > 5:
            return INVAL
        os.posix_fadvise(f.host_fd, offset, length, advice)
        return SUCCESS

    @wasi_function("iII")
    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        self.non_directory(fd, 0)
        return NOTSUP  # as wasmtime: preallocation is not offered

    @wasi_function("i")
    def fd_close(self, fd: int) -> int:
        self.fds.close(fd)
        return SUCCESS

    @wasi_function("i")
    def fd_datasync(self, fd: int) -> int:
        os.fdatasync(self.non_directory(fd, RIGHT["FD_DATASYNC"]).host_fd)
        return SUCCESS

    @wasi_function("i")
    def fd_sync(self, fd: int) -> int:
        os.fsync(self.non_directory(fd, RIGHT["FD_SYNC"]).host_fd)
        return SUCCESS

    @wasi_function("ii")
    def fd_fdstat_get(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        self.put(_FDSTAT, ptr, FILETYPE.get(f.kind, 0), f.flags, f.rights, f.inheriting)
        return SUCCESS

    @wasi_function("ii")
    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        if self.file(fd).kind in ("dir", "stream", "char"):
            return BADF  # as wasmtime: only files the guest opened (never the host's own stdio)
        f = self.file(fd, RIGHT["FD_FDSTAT_SET_FLAGS"])
        if flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK):
            return INVAL  # the sync flags can only be chosen at open, as in wasmtime
        changed = os.O_APPEND | os.O_NONBLOCK
        host = (os.O_APPEND if flags & FDFLAG_APPEND else 0) | (os.O_NONBLOCK if flags & FDFLAG_NONBLOCK else 0)
        current = fcntl.fcntl(f.host_fd, fcntl.F_GETFL)
        fcntl.fcntl(f.host_fd, fcntl.F_SETFL, (current & ~changed) | host)
        f.flags = (f.flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK)) | flags
        return SUCCESS

    @wasi_function("iII")
    def fd_fdstat_set_rights(self, fd: int, base: int, inheriting: int) -> int:
        f = self.file(fd)
        if base & ~f.rights or inheriting & ~f.inheriting:
            return NOTCAPABLE  # rights only ever shrink
        f.rights, f.inheriting = base, inheriting
        return SUCCESS

    def _filestat(self, ptr: int, st: os.stat_result) -> int:
        self.put(_FILESTAT, ptr, st.st_dev, st.st_ino, FILETYPE.get(kind_of(st.st_mode), 0), st.st_nlink,
                 st.st_size, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
        return SUCCESS

    @wasi_function("ii")
    def fd_filestat_get(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        if f.kind == "stream":  # stdio tells nothing of the host file behind it, as in wasmtime
            self.put(_FILESTAT, ptr, 0, 0, 0, 0, 0, 0, 0, 0)
            return SUCCESS
        return self._filestat(ptr, os.fstat(f.host_fd))

    @wasi_function("iI")
    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        os.ftruncate(self.non_directory(fd, 0).host_fd, size)  # a read-only file: the host's EINVAL, as wasmtime
        return SUCCESS

    @staticmethod
    def _times(atim: int, mtim: int, flags: int, current: os.stat_result) -> tuple[int, int]:
        if (flags & FST_ATIM and flags & FST_ATIM_NOW) or (flags & FST_MTIM and flags & FST_MTIM_NOW):
            raise _Refused(INVAL)
        now = time.time_ns()
        a = atim if flags & FST_ATIM else now if flags & FST_ATIM_NOW else current.st_atime_ns
        m = mtim if flags & FST_MTIM else now if flags & FST_MTIM_NOW else current.st_mtime_ns
        return a, m

    @wasi_function("iIIi")
    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, flags: int) -> int:
        f = self.file(fd, RIGHT["FD_FILESTAT_SET_TIMES"])
        os.utime(f.host_fd, ns=self._times(atim, mtim, flags, os.fstat(f.host_fd)))
        return SUCCESS

    def _scatter(self, vectors: list[tuple[int, int]], data: bytes) -> int:
        offset = 0
        for buf, length in vectors:
            piece = data[offset:offset + length]
            self.write_bytes(buf, piece)
            offset += len(piece)
        return offset

    def _gather(self, vectors: list[tuple[int, int]]) -> bytes:
        return b"".join(self.read_bytes(buf, length) for buf, length in vectors)[:MAX_IO_BYTES]

    @staticmethod
    def _total(vectors: list[tuple[int, int]]) -> int:
        return min(MAX_IO_BYTES, sum(length for _, length in vectors))

    @wasi_function("iiii")
    def fd_read(self, fd: int, iovs: int, count: int, nread: int) -> int:
        f = self.non_directory(fd, RIGHT["FD_READ"])
        vectors = self.iovecs(iovs, count)
        self.put(_U32, nread, self._scatter(vectors, os.read(f.host_fd, self._total(vectors))))
        return SUCCESS

    @wasi_function("iiiIi")
    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, nread: int) -> int:
        f = self._seekable(fd, RIGHT["FD_READ"] | RIGHT["FD_SEEK"])
        vectors = self.iovecs(iovs, count)
        self.put(_U32, nread, self._scatter(vectors, os.pread(f.host_fd, self._total(vectors), offset)))
        return SUCCESS

    @wasi_function("iiii")
    def fd_write(self, fd: int, iovs: int, count: int, nwritten: int) -> int:
        f = self.non_directory(fd, RIGHT["FD_WRITE"])
        self.put(_U32, nwritten, os.write(f.host_fd, self._gather(self.iovecs(iovs, count))))
        return SUCCESS

    @wasi_function("iiiIi")
    def fd_pwrite(self, fd: int, iovs: int, count: int, offset: int, nwritten: int) -> int:
        f = self._seekable(fd, RIGHT["FD_WRITE"] | RIGHT["FD_SEEK"])
        self.put(_U32, nwritten, os.pwrite(f.host_fd, self._gather(self.iovecs(iovs, count)), offset))
        return SUCCESS

    def _seekable(self, fd: int, needs: int) -> OpenFile:
        f = self.non_directory(fd, 0)
        if f.kind in ("char", "pipe", "socket", "stream"):
            raise _Refused(SPIPE)
        return self.file(fd, needs)

    @wasi_function("iIii")
    def fd_seek(self, fd: int, offset: int, whence: int, newoffset: int) -> int:
        f = self._seekable(fd, RIGHT["FD_SEEK"] if offset or whence != os.SEEK_CUR else RIGHT["FD_TELL"])
        if whence > 2:
            return INVAL
        signed = offset - (1 << 64) if offset & (1 << 63) else offset
        self.put(_U64, newoffset, os.lseek(f.host_fd, signed, whence))
        return SUCCESS

    @wasi_function("ii")
    def fd_tell(self, fd: int, ptr: int) -> int:
        f = self._seekable(fd, RIGHT["FD_TELL"])
        self.put(_U64, ptr, os.lseek(f.host_fd, 0, os.SEEK_CUR))
        return SUCCESS

    @wasi_function("ii")
    def fd_prestat_get(self, fd: int, ptr: int) -> int:
        f = self.file(fd)
        if f.preopen is None:
            return BADF
        self.put(_PRESTAT, ptr, 0, len(f.preopen.encode("utf-8")))
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
        """Entries from ``cookie`` on, each a dirent header and its name; the last one is cut
        off at ``length``, which tells wasi-libc to retry with a larger buffer."""
        f = self.file(fd)
        if f.kind != "dir":
            return BADF
        self.file(fd, RIGHT["FD_READDIR"])
        self._check(buf, length)
        if cookie == 0 or not f.dir_cache:
            f.dir_cache = self._list_dir(f.host_fd)
        out = bytearray()
        for index in range(cookie, len(f.dir_cache)):
            if len(out) >= length:
                break
            name, ino, kind = f.dir_cache[index]
            encoded = name.encode("utf-8", "surrogateescape")
            out += _DIRENT.pack(index + 1, ino, len(encoded), kind) + encoded
        self.write_bytes(buf, bytes(out[:length]))
        self.put(_U32, bufused, min(len(out), length))
        return SUCCESS

    @staticmethod
    def _list_dir(host_fd: int) -> list[tuple[str, int, int]]:
        """A snapshot of a directory: ``.`` and ``..`` (given the directory's own inode, so
        nothing above a preopen is looked at), then every entry by name."""
        own = os.fstat(host_fd).st_ino
        entries = [(".", own, FILETYPE["dir"]), ("..", own, FILETYPE["dir"])]
        for name in sorted(os.listdir(host_fd)):
            try:
                st = os.stat(name, dir_fd=host_fd, follow_symlinks=False)
                entries.append((name, st.st_ino, FILETYPE.get(kind_of(st.st_mode), 0)))
            except OSError:
                entries.append((name, 0, 0))
        return entries

    @wasi_function("ii")
    def fd_renumber(self, fd: int, to: int) -> int:
        self.fds.renumber(fd, to)
        return SUCCESS

    # ---- paths

    @wasi_function("iii")
    def path_create_directory(self, fd: int, path: int, length: int) -> int:
        self._at(fd, path, length, RIGHT["PATH_CREATE_DIRECTORY"], False,
                 lambda d, n: os.mkdir(n, 0o777, dir_fd=d))
        return SUCCESS

    @wasi_function("iiiii")
    def path_filestat_get(self, fd: int, flags: int, path: int, length: int, ptr: int) -> int:
        st = self._at(fd, path, length, RIGHT["PATH_FILESTAT_GET"], bool(flags & LOOKUP_SYMLINK_FOLLOW),
                      lambda d, n: os.stat(n, dir_fd=d, follow_symlinks=False))
        return self._filestat(ptr, st)

    @wasi_function("iiiiIIi")
    def path_filestat_set_times(self, fd: int, flags: int, path: int, length: int, atim: int, mtim: int,
                                fst: int) -> int:
        def touch(d: int, n: str) -> None:
            times = self._times(atim, mtim, fst, os.stat(n, dir_fd=d, follow_symlinks=False))
            os.utime(n, ns=times, dir_fd=d, follow_symlinks=False)

        self._at(fd, path, length, RIGHT["PATH_FILESTAT_SET_TIMES"], bool(flags & LOOKUP_SYMLINK_FOLLOW), touch)
        return SUCCESS

    def _two_paths(self, old: tuple[int, int, int, int, bool], new: tuple[int, int, int, int],
                   action: Callable[[int, str, int, str], None]) -> int:
        """Resolve two paths (fd, ptr, len, right[, follow]) and act on both (parent fd, name) pairs."""
        src_dir, src = self.dir_path(*old)
        try:
            self._at(*new, False, lambda d, n: action(src_dir, src, d, n))
        finally:
            os.close(src_dir)
        return SUCCESS

    @wasi_function("iiiiiii")
    def path_link(self, old_fd: int, old_flags: int, old_path: int, old_len: int, new_fd: int, new_path: int,
                  new_len: int) -> int:
        return self._two_paths(
            (old_fd, old_path, old_len, RIGHT["PATH_LINK_SOURCE"], bool(old_flags & LOOKUP_SYMLINK_FOLLOW)),
            (new_fd, new_path, new_len, RIGHT["PATH_LINK_TARGET"]),
            lambda sd, s, d, n: os.link(s, n, src_dir_fd=sd, dst_dir_fd=d, follow_symlinks=False))

    @wasi_function("iiiiii")
    def path_rename(self, fd: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int) -> int:
        return self._two_paths(
            (fd, old_path, old_len, RIGHT["PATH_RENAME_SOURCE"], False),
            (new_fd, new_path, new_len, RIGHT["PATH_RENAME_TARGET"]),
            lambda sd, s, d, n: os.rename(s, n, src_dir_fd=sd, dst_dir_fd=d))

    @staticmethod
    def _open_flags(oflags: int, fdflags: int, read: bool, write: bool) -> int:
        flags = os.O_NOFOLLOW | os.O_CLOEXEC
        flags |= os.O_RDWR if write and read else os.O_WRONLY if write else os.O_RDONLY
        for bit, host in ((OFLAG_CREAT, os.O_CREAT), (OFLAG_EXCL, os.O_EXCL), (OFLAG_TRUNC, os.O_TRUNC),
                          (OFLAG_DIRECTORY, os.O_DIRECTORY)):
            flags |= host if oflags & bit else 0
        for bit, host in ((FDFLAG_APPEND, os.O_APPEND), (FDFLAG_NONBLOCK, os.O_NONBLOCK),
                          (FDFLAG_SYNC | FDFLAG_RSYNC, os.O_SYNC), (FDFLAG_DSYNC, os.O_DSYNC)):
            flags |= host if fdflags & bit else 0
        return flags

    @staticmethod
    def _open_at(parent: int, name: str, flags: int) -> int:
        try:
            return os.open(name, flags, 0o666, dir_fd=parent)
        except NotADirectoryError:  # O_DIRECTORY on an unfollowed symlink: ELOOP, as wasmtime says
            if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
                raise OSError(host_errno.ELOOP, "symbolic link not followed", name) from None
            raise

    @wasi_function("iiiiiIIii")
    def path_open(self, fd: int, dirflags: int, path: int, length: int, oflags: int, rights: int,
                  inheriting: int, fdflags: int, fd_ptr: int) -> int:
        self._check(fd_ptr, 4)
        needs = RIGHT["PATH_OPEN"] | (RIGHT["PATH_CREATE_FILE"] if oflags & OFLAG_CREAT else 0)
        write = bool(rights & _WRITE_RIGHTS or fdflags & FDFLAG_APPEND)
        flags = self._open_flags(oflags, fdflags, bool(rights & _READ_RIGHTS), write)
        host_fd = self._at(fd, path, length, needs, bool(dirflags & LOOKUP_SYMLINK_FOLLOW),
                           lambda d, n: self._open_at(d, n, flags))
        kind = kind_of(os.fstat(host_fd).st_mode)
        allowed = self.file(fd).inheriting & (DIR_RIGHTS if kind == "dir" else FILE_RIGHTS)
        new = OpenFile(host_fd, kind, rights & allowed, inheriting & self.file(fd).inheriting, fdflags)
        self.put(_U32, fd_ptr, self.fds.add(new))
        return SUCCESS

    @wasi_function("iiiiii")
    def path_readlink(self, fd: int, path: int, length: int, buf: int, buf_len: int, bufused: int) -> int:
        target = self._at(fd, path, length, RIGHT["PATH_READLINK"], False, lambda d, n: os.readlink(n, dir_fd=d))
        data = target.encode("utf-8", "surrogateescape")[:buf_len]
        self.write_bytes(buf, data)
        self.put(_U32, bufused, len(data))
        return SUCCESS

    @wasi_function("iii")
    def path_remove_directory(self, fd: int, path: int, length: int) -> int:
        self._at(fd, path, length, RIGHT["PATH_REMOVE_DIRECTORY"], False, lambda d, n: os.rmdir(n, dir_fd=d))
        return SUCCESS

    @wasi_function("iiiii")
    def path_symlink(self, old_path: int, old_len: int, fd: int, new_path: int, new_len: int) -> int:
        target = self.read_str(old_path, old_len)
        if target.startswith("/"):
            return PERM  # an absolute target could never resolve inside; wasmtime refuses it too
        self._at(fd, new_path, new_len, RIGHT["PATH_SYMLINK"], False, lambda d, n: os.symlink(target, n, dir_fd=d))
        return SUCCESS

    @wasi_function("iii")
    def path_unlink_file(self, fd: int, path: int, length: int) -> int:
        def unlink(d: int, n: str) -> None:
            if stat.S_ISDIR(os.stat(n, dir_fd=d, follow_symlinks=False).st_mode):
                raise _Refused(ISDIR)
            os.unlink(n, dir_fd=d)

        self._at(fd, path, length, RIGHT["PATH_UNLINK_FILE"], False, unlink)
        return SUCCESS

    # ---- polling

    @wasi_function("iiii")
    def poll_oneoff(self, subs: int, events: int, count: int, nevents: int) -> int:
        """Wait until a clock subscription fires or a descriptor is ready; regular files and
        directories are always ready. Reports every event ready at once."""
        if count == 0:
            return INVAL
        self._check(subs, 48 * count)
        self._check(events, 32 * count)
        ready, waits = self._subscriptions(subs, count)
        while not ready:
            ready = self._wait(*waits)
        for k, (userdata, err, kind, nbytes) in enumerate(ready):
            _EVENT.pack_into(self.mem, events + 32 * k, userdata, err, kind, nbytes, 0)
        self.put(_U32, nevents, len(ready))
        return SUCCESS

    def _subscriptions(self, subs: int, count: int) -> tuple[list[tuple[int, int, int, int]], tuple]:
        """Split subscriptions into events ready now and what to wait for: clock deadlines
        (monotonic ns) and host fds to watch for reading and writing, each with its userdata."""
        ready: list[tuple[int, int, int, int]] = []
        clocks: list[tuple[int, int]] = []
        readers: dict[int, int] = {}
        writers: dict[int, int] = {}
        for i in range(count):
            userdata, tag, ident, timeout, _precision, flags = _SUBSCRIPTION.unpack_from(self.mem, subs + 48 * i)
            if tag == EVENT_CLOCK:
                if ident not in CLOCKS:
                    ready.append((userdata, INVAL, tag, 0))
                    continue
                if flags & SUBCLOCK_ABSTIME:
                    timeout = max(0, timeout - time.clock_gettime_ns(CLOCKS[ident]))
                clocks.append((time.monotonic_ns() + timeout, userdata))
            elif tag in (EVENT_FD_READ, EVENT_FD_WRITE):
                f = self.fds.get(ident)
                if f is None:
                    ready.append((userdata, BADF, tag, 0))
                elif f.kind in ("file", "dir"):
                    ready.append((userdata, SUCCESS, tag, self._unread(f) if tag == EVENT_FD_READ else 0))
                else:
                    (readers if tag == EVENT_FD_READ else writers)[f.host_fd] = userdata
            else:
                raise _Refused(INVAL)
        return ready, (clocks, readers, writers)

    @staticmethod
    def _unread(f: OpenFile) -> int:
        if f.kind != "file":
            return 0
        return max(0, os.fstat(f.host_fd).st_size - os.lseek(f.host_fd, 0, os.SEEK_CUR))

    @staticmethod
    def _wait(clocks: list[tuple[int, int]], readers: dict[int, int],
              writers: dict[int, int]) -> list[tuple[int, int, int, int]]:
        """One wait of at most _MAX_WAIT_S; returns what became ready (maybe nothing yet)."""
        wait = _MAX_WAIT_S
        if clocks:
            wait = min(wait, max(0.0, (min(due for due, _ in clocks) - time.monotonic_ns()) / 1e9))
        if readers or writers:
            can_read, can_write, _ = select.select(list(readers), list(writers), [], wait)
        else:
            time.sleep(wait)
            can_read = can_write = []
        ready = [(readers[fd], SUCCESS, EVENT_FD_READ, 0) for fd in can_read]
        ready += [(writers[fd], SUCCESS, EVENT_FD_WRITE, 0) for fd in can_write]
        now = time.monotonic_ns()
        return ready + [(userdata, SUCCESS, EVENT_CLOCK, 0) for due, userdata in clocks if due <= now]

    # ---- sockets: none are granted to guests, so every descriptor is not a socket

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
