"""WASI preview 1: each function against a bytearray-backed memory, then C programs
(guests/wasi/*.c, built with clang for wasm32-wasi) run under vmstack and under
wasmtime with the same preopened directory, which must print the same and exit alike."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
import wasmtime

from vmstack.wasm import binary, runtime
from vmstack.wasm.errors import ExitTrap, WasmError
from vmstack.wasm.wasi import ALL_RIGHTS, ERRNO, RIGHT, Wasi, WasiConfig

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "wasi"
E = ERRNO
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
APPEND, NONBLOCK, DSYNC = 1, 4, 2
IOVECS, SCRATCH, PATHS = 0x100, 0x1000, 0x8000  # guest addresses the helpers use


class FakeMemory:
    """What Wasi needs of a runtime.MemInst: a ``data`` bytearray."""

    def __init__(self, pages: int = 1) -> None:
        self.data = bytearray(65536 * pages)


class Guest:
    """A Wasi context over a fake memory, with helpers to lay out arguments like a guest."""

    def __init__(self, config: WasiConfig) -> None:
        self.wasi = Wasi(config)
        self.memory = FakeMemory()
        self.wasi.bind_memory(self.memory)
        self.funcs = self.wasi.host_functions()

    def __call__(self, name: str, *args: int) -> int:
        return self.funcs[name].call(*args)

    @property
    def mem(self) -> bytearray:
        return self.memory.data

    def u32(self, ptr: int) -> int:
        return struct.unpack_from("<I", self.mem, ptr)[0]

    def u64(self, ptr: int) -> int:
        return struct.unpack_from("<Q", self.mem, ptr)[0]

    def string(self, text: str | bytes, ptr: int = PATHS) -> tuple[int, int]:
        data = text.encode() if isinstance(text, str) else text
        self.mem[ptr:ptr + len(data)] = data
        return ptr, len(data)

    def iovecs(self, *pieces: bytes | int) -> tuple[int, int]:
        """Lay out iovecs at IOVECS over buffers at SCRATCH: bytes to write, or a length to read into."""
        buf = SCRATCH
        for i, piece in enumerate(pieces):
            length = piece if isinstance(piece, int) else len(piece)
            if not isinstance(piece, int):
                self.mem[buf:buf + length] = piece
            struct.pack_into("<II", self.mem, IOVECS + 8 * i, buf, length)
            buf += length
        return IOVECS, len(pieces)

    def open(self, path: str, oflags: int = 0, rights: int = ALL_RIGHTS, fdflags: int = 0, follow: bool = True,
             dirfd: int = 3) -> tuple[int, int]:
        err = self("path_open", dirfd, int(follow), *self.string(path), oflags, rights, rights, fdflags, 0x20)
        return err, self.u32(0x20)

    def opened(self, path: str, oflags: int = 0, **options: int) -> int:
        err, fd = self.open(path, oflags, **options)
        assert err == 0
        return fd

    def write(self, fd: int, *pieces: bytes) -> int:
        err = self("fd_write", fd, *self.iovecs(*pieces), 0x20)
        assert err == 0
        return self.u32(0x20)

    def read(self, fd: int, *lengths: int) -> bytes:
        assert self("fd_read", fd, *self.iovecs(*lengths), 0x20) == 0
        return bytes(self.mem[SCRATCH:SCRATCH + self.u32(0x20)])


@pytest.fixture
def box(tmp_path):
    """A preopened directory tmp/box (guest "/sandbox") beside a file tmp/secret."""
    (tmp_path / "secret").write_text("keep")
    (tmp_path / "box").mkdir()
    return tmp_path / "box"


@pytest.fixture
def guest(box, tmp_path):
    config = WasiConfig()
    config.argv = ["prog", "héllo"]
    config.env = [("A", "1"), ("EMPTY", "")]
    config.stdout_file = str(tmp_path / "stdout")
    config.preopen_dir(str(box), "/sandbox")
    g = Guest(config)
    yield g
    g.wasi.close()


# ---- the function table


def test_every_preview1_function_has_wasmtimes_signature():
    """A module importing all 46 functions with the witx signatures links in wasmtime and in vmstack."""
    funcs = Wasi(WasiConfig()).host_functions()
    assert len(funcs) == 46
    imports = "".join(
        f'(import "wasi_snapshot_preview1" "{name}" (func (param {" ".join(f.type.params)}) '
        f'(result {" ".join(f.type.results)})))' for name, f in funcs.items())
    wat = f"(module {imports.replace(' (result )', '')})"
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker.instantiate(store, wasmtime.Module(engine, wat))
    module = binary.decode_module(wasmtime.wat2wasm(wat))
    runtime.instantiate(runtime.Store(), module, [funcs[imp.name] for imp in module.imports])


def test_bad_preopen_is_a_clean_error(tmp_path):
    config = WasiConfig()
    config.preopen_dir(str(tmp_path / "missing"), "/")
    with pytest.raises(WasmError):
        Wasi(config)


def test_close_releases_host_descriptors(guest):
    host_fds = [f.host_fd for f in guest.wasi.fds.files.values() if f.owned]
    guest.wasi.close()
    for fd in host_fds:
        with pytest.raises(OSError):
            os.fstat(fd)


# ---- args, environment, clocks, random, process


def test_args_and_environ(guest):
    assert guest("args_sizes_get", 0, 4) == 0
    assert (guest.u32(0), guest.u32(4)) == (2, len("prog\0héllo\0".encode()))
    assert guest("args_get", 0x10, 0x40) == 0
    assert (guest.u32(0x10), guest.u32(0x14)) == (0x40, 0x45)
    assert bytes(guest.mem[0x40:0x4c]) == "prog\0héllo\0".encode()
    assert guest("environ_sizes_get", 0, 4) == 0
    assert (guest.u32(0), guest.u32(4)) == (2, 11)
    assert guest("environ_get", 0x10, 0x40) == 0
    assert bytes(guest.mem[0x40:0x4b]) == b"A=1\0EMPTY=\0"


def test_clocks(guest):
    for clock in range(4):
        assert guest("clock_res_get", clock, 0) == 0
        assert guest.u64(0) > 0
        assert guest("clock_time_get", clock, 1, 8) == 0
    assert abs(guest.u64(8) - time.thread_time_ns()) < 10**9
    assert guest("clock_time_get", 0, 1, 8) == 0
    assert abs(guest.u64(8) - time.time_ns()) < 10**9
    guest("clock_time_get", 1, 1, 8)
    first = guest.u64(8)
    guest("clock_time_get", 1, 1, 8)
    assert guest.u64(8) >= first
    assert guest("clock_time_get", 4, 1, 8) == E["INVAL"]
    assert guest("clock_res_get", 9, 0) == E["INVAL"]


def test_random_get(guest):
    assert guest("random_get", 0x100, 64) == 0
    assert any(guest.mem[0x100:0x140])
    assert guest("random_get", 65536 - 8, 16) == E["FAULT"]
    assert not any(guest.mem[65536 - 8:])


def test_proc_exit_raise_and_yield(guest):
    with pytest.raises(ExitTrap) as info:
        guest("proc_exit", 17)
    assert info.value.code == 17
    assert guest("proc_raise", 9) == E["NOTSUP"]
    assert guest("sched_yield") == 0


def test_sockets_are_not_offered(guest):
    assert guest("sock_accept", 3, 0, 0) == E["NOTSOCK"]
    assert guest("sock_recv", 0, 0, 0, 0, 0, 0) == E["NOTSOCK"]
    assert guest("sock_send", 1, 0, 0, 0, 0) == E["NOTSOCK"]
    assert guest("sock_shutdown", 99, 1) == E["BADF"]


# ---- guest memory


def test_bad_pointers_are_efault(guest):
    assert guest("fd_write", 1, 65536 - 4, 1, 0) == E["FAULT"]
    struct.pack_into("<II", guest.mem, 0, 65530, 100)
    assert guest("fd_write", 1, 0, 1, 0x20) == E["FAULT"]
    assert guest("args_sizes_get", 65534, 0) == E["FAULT"]
    assert guest("path_open", 3, 0, 65530, 100, 0, 0, 0, 0, 0) == E["FAULT"]
    assert guest("fd_prestat_get", 3, 0xFFFFFFFF) == E["FAULT"]


def test_no_memory_bound_is_efault(box):
    funcs = Wasi(WasiConfig()).host_functions()
    assert funcs["args_sizes_get"].call(0, 4) == E["FAULT"]


def test_memory_replaced_by_growth_is_followed(guest):
    guest.memory.data = bytearray(2 * 65536)
    assert guest("args_sizes_get", 70000, 70004) == 0
    assert guest.u32(70000) == 2


def test_invalid_utf8_path_is_eilseq(guest):
    assert guest("path_create_directory", 3, *guest.string(b"\xff\xfe")) == E["ILSEQ"]


# ---- descriptors


def test_stdio_streams(tmp_path):
    (tmp_path / "in").write_bytes(b"input data")
    config = WasiConfig()
    config.stdin_file = str(tmp_path / "in")
    config.stdout_file = str(tmp_path / "out")
    g = Guest(config)
    assert g.read(0, 5, 3) == b"input da"
    assert g.write(1, b"one ", b"two") == 7
    assert g("fd_write", 2, *g.iovecs(b"x"), 0x20) == 0  # no stderr given: a sink
    assert g("fd_seek", 1, 0, 1, 0x20) == E["SPIPE"]
    assert g("fd_tell", 0, 0x20) == E["SPIPE"]
    assert g("fd_fdstat_get", 1, 0x40) == 0
    assert g.mem[0x40] == 0  # unknown file type, as wasmtime reports redirected stdio
    assert g.u64(0x48) == RIGHT["FD_WRITE"]
    assert g("fd_write", 0, *g.iovecs(b"x"), 0x20) == E["BADF"]
    assert g("fd_prestat_get", 1, 0x40) == E["BADF"]
    assert g("fd_fdstat_set_flags", 1, NONBLOCK) == E["BADF"]  # never the host's own stdio
    g.wasi.close()
    assert (tmp_path / "out").read_bytes() == b"one two"


def test_prestat(guest):
    assert guest("fd_prestat_get", 3, 0x40) == 0
    assert (guest.mem[0x40], guest.u32(0x44)) == (0, len("/sandbox"))
    assert guest("fd_prestat_dir_name", 3, 0x50, 8) == 0
    assert bytes(guest.mem[0x50:0x58]) == b"/sandbox"
    assert guest("fd_prestat_dir_name", 3, 0x50, 3) == E["NAMETOOLONG"]
    assert guest("fd_prestat_get", 4, 0x40) == E["BADF"]
    assert guest("fd_fdstat_get", 3, 0x40) == 0
    assert guest.mem[0x40] == 3  # directory


def test_file_read_write_seek(guest, box):
    err, fd = guest.open("f.txt", O_CREAT | O_TRUNC)
    assert err == 0
    assert guest.write(fd, b"hello, ", b"world") == 12
    assert guest("fd_tell", fd, 0x40) == 0 and guest.u64(0x40) == 12
    assert guest("fd_seek", fd, (-5) & (2**64 - 1), 2, 0x40) == 0 and guest.u64(0x40) == 7
    assert guest.read(fd, 3, 10) == b"world"
    assert guest("fd_seek", fd, (-1) & (2**64 - 1), 0, 0x40) == E["INVAL"]
    assert guest("fd_seek", fd, 0, 3, 0x40) == E["INVAL"]
    assert guest("fd_pwrite", fd, *guest.iovecs(b"J"), 0, 0x20) == 0
    assert guest("fd_pread", fd, *guest.iovecs(4), 0, 0x20) == 0
    assert bytes(guest.mem[SCRATCH:SCRATCH + guest.u32(0x20)]) == b"Jell"
    assert guest("fd_tell", fd, 0x40) == 0 and guest.u64(0x40) == 12
    assert (box / "f.txt").read_bytes() == b"Jello, world"
    assert guest("fd_close", fd) == 0
    assert guest("fd_close", fd) == E["BADF"]
    assert guest("fd_read", fd, *guest.iovecs(1), 0x20) == E["BADF"]


def test_open_flags(guest, box):
    (box / "old").write_text("old")
    assert guest.open("old", O_CREAT | O_EXCL)[0] == E["EXIST"]
    assert guest.open("missing")[0] == E["NOENT"]
    assert guest.open("old", O_DIRECTORY)[0] == E["NOTDIR"]
    assert guest.open(".", rights=RIGHT["FD_WRITE"])[0] == E["ISDIR"]
    err, fd = guest.open("old", O_TRUNC, rights=RIGHT["FD_WRITE"])
    assert err == 0 and (box / "old").read_text() == ""
    assert guest("fd_read", fd, *guest.iovecs(1), 0x20) == E["BADF"]
    err, ro = guest.open("old", rights=RIGHT["FD_READ"])
    assert guest("fd_write", ro, *guest.iovecs(b"x"), 0x20) == E["BADF"]
    err, d = guest.open(".", O_DIRECTORY, rights=RIGHT["FD_READ"] | RIGHT["FD_READDIR"])
    assert err == 0
    assert guest("fd_read", d, *guest.iovecs(1), 0x20) == E["BADF"]
    assert guest("fd_seek", d, 0, 0, 0x20) == E["BADF"]
    assert guest.open("old", dirfd=fd)[0] == E["NOTDIR"]


def test_append_and_fdstat_flags(guest, box):
    fd = guest.opened("log", O_CREAT, fdflags=APPEND)
    guest.write(fd, b"ab")
    guest("fd_seek", fd, 0, 0, 0x40)
    guest.write(fd, b"cd")
    assert (box / "log").read_bytes() == b"abcd"
    assert guest("fd_fdstat_get", fd, 0x40) == 0
    assert (guest.mem[0x40], struct.unpack_from("<H", guest.mem, 0x42)[0]) == (4, APPEND)
    assert guest("fd_fdstat_set_flags", fd, NONBLOCK) == 0
    guest("fd_seek", fd, 0, 0, 0x40)
    guest.write(fd, b"X")
    assert (box / "log").read_bytes() == b"Xbcd"
    guest("fd_fdstat_get", fd, 0x40)
    assert struct.unpack_from("<H", guest.mem, 0x42)[0] == NONBLOCK
    assert guest("fd_fdstat_set_flags", fd, DSYNC) == E["INVAL"]
    assert guest("fd_fdstat_set_flags", 3, APPEND) == E["BADF"]


def test_rights_shrink_and_are_enforced(guest):
    fd = guest.opened("r", O_CREAT)
    assert guest("fd_fdstat_set_rights", fd, RIGHT["FD_READ"], 0) == 0
    assert guest("fd_write", fd, *guest.iovecs(b"x"), 0x20) == E["BADF"]
    assert guest("fd_seek", fd, 1, 0, 0x20) == E["NOTCAPABLE"]
    assert guest("fd_fdstat_set_rights", fd, ALL_RIGHTS, 0) == E["NOTCAPABLE"]
    guest("fd_fdstat_get", fd, 0x40)
    assert guest.u64(0x48) == RIGHT["FD_READ"]
    assert guest("fd_fdstat_set_rights", 3, 0, ALL_RIGHTS) == 0
    assert guest("path_create_directory", 3, *guest.string("d")) == E["NOTCAPABLE"]


def test_filestat_size_and_times(guest, box):
    fd = guest.opened("s", O_CREAT)
    guest.write(fd, b"12345")
    assert guest("fd_filestat_get", fd, 0x40) == 0
    ino, filetype, nlink, size = struct.unpack_from("<8xQB7xQQ", guest.mem, 0x40)
    assert (ino, filetype, nlink, size) == (os.stat(box / "s").st_ino, 4, 1, 5)
    assert guest("fd_filestat_set_size", fd, 2) == 0
    assert (box / "s").read_bytes() == b"12"
    assert guest("fd_filestat_set_size", fd, 2**64 - 1) == E["INVAL"]
    assert guest("fd_filestat_set_times", fd, 10**18, 2 * 10**18, 1 | 4) == 0
    st = os.stat(box / "s")
    assert (st.st_atime_ns, st.st_mtime_ns) == (10**18, 2 * 10**18)
    assert guest("fd_filestat_set_times", fd, 0, 0, 8) == 0  # mtime now, atime kept
    st = os.stat(box / "s")
    assert st.st_atime_ns == 10**18 and abs(st.st_mtime_ns - time.time_ns()) < 10**10
    assert guest("fd_filestat_set_times", fd, 0, 0, 1 | 2) == E["INVAL"]


def test_sync_advise_allocate(guest):
    fd = guest.opened("a", O_CREAT)
    assert guest("fd_sync", fd) == 0
    assert guest("fd_datasync", fd) == 0
    assert guest("fd_advise", fd, 0, 0, 2) == 0
    assert guest("fd_advise", fd, 0, 0, 6) == E["INVAL"]
    assert guest("fd_allocate", fd, 0, 10) == E["NOTSUP"]
    assert guest("fd_allocate", 3, 0, 10) == E["BADF"]
    assert guest("fd_sync", 3) == E["BADF"]


def test_renumber(guest, box):
    (box / "one").write_text("1")
    (box / "two").write_text("2")
    _, one = guest.open("one")
    _, two = guest.open("two")
    assert guest("fd_renumber", one, two) == 0
    assert guest.read(two, 5) == b"1"
    assert guest("fd_close", one) == E["BADF"]
    assert guest("fd_renumber", two, 40) == E["BADF"]
    assert guest("fd_renumber", 40, two) == E["BADF"]


def _dirents(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(d_next, d_ino, d_type, name) of each whole entry in a readdir buffer."""
    entries, pos = [], 0
    while pos + 24 <= len(data):
        d_next, d_ino, namlen, d_type = struct.unpack_from("<QQIB", data, pos)
        if pos + 24 + namlen > len(data):
            break
        entries.append((d_next, d_ino, d_type, data[pos + 24:pos + 24 + namlen]))
        pos += 24 + namlen
    return entries


def test_readdir_entries_cookies_and_truncation(guest, box):
    (box / "file").write_text("x")
    (box / "sub").mkdir()
    os.symlink("file", box / "link")
    assert guest("fd_readdir", 3, 0x1000, 4096, 0, 0x20) == 0
    used = guest.u32(0x20)
    entries = _dirents(bytes(guest.mem[0x1000:0x1000 + used]))
    assert used == sum(24 + len(e[3]) for e in entries)
    assert [(e[0], e[2], e[3]) for e in entries] == [
        (1, 3, b"."), (2, 3, b".."), (3, 4, b"file"), (4, 7, b"link"), (5, 3, b"sub")]
    assert entries[2][1] == os.stat(box / "file").st_ino
    assert guest("fd_readdir", 3, 0x1000, 4096, 3, 0x20) == 0
    assert [e[3] for e in _dirents(bytes(guest.mem[0x1000:0x1000 + guest.u32(0x20)]))] == [b"link", b"sub"]
    assert guest("fd_readdir", 3, 0x1000, 60, 0, 0x20) == 0
    assert guest.u32(0x20) == 60  # a full buffer: the third entry is cut off for the caller to retry
    assert guest("fd_readdir", 3, 0x1000, 4096, 5, 0x20) == 0 and guest.u32(0x20) == 0
    _, fd = guest.open("file")
    assert guest("fd_readdir", fd, 0x1000, 4096, 0, 0x20) == E["BADF"]


def test_path_operations(guest, box):
    path = guest.string
    assert guest("path_create_directory", 3, *path("d")) == 0
    assert guest("path_create_directory", 3, *path("d")) == E["EXIST"]
    assert guest("path_create_directory", 3, *path("d/e/")) == 0
    (box / "d" / "f").write_text("data")
    assert guest("path_symlink", *path("d/f", 0x7000), 3, *path("ln")) == 0
    assert guest("path_symlink", *path("/etc", 0x7000), 3, *path("abs")) == E["PERM"]
    assert guest("path_readlink", 3, *path("ln"), 0x100, 64, 0x20) == 0
    assert bytes(guest.mem[0x100:0x100 + guest.u32(0x20)]) == b"d/f"
    assert guest("path_readlink", 3, *path("ln"), 0x100, 2, 0x20) == 0 and guest.u32(0x20) == 2
    assert guest("path_readlink", 3, *path("d/f"), 0x100, 64, 0x20) == E["INVAL"]
    assert guest("path_filestat_get", 3, 0, *path("ln"), 0x40) == 0
    assert guest.mem[0x50] == 7
    assert guest("path_filestat_get", 3, 1, *path("ln"), 0x40) == 0
    assert (guest.mem[0x50], guest.u64(0x60)) == (4, 4)
    assert guest("path_filestat_get", 3, 0, *path(""), 0x40) == E["NOENT"]
    assert guest("path_filestat_set_times", 3, 1, *path("ln"), 5 * 10**18, 6 * 10**18, 1 | 4) == 0
    assert os.stat(box / "d" / "f").st_mtime_ns == 6 * 10**18
    assert guest("path_link", 3, 0, *path("d/f", 0x7000), 3, *path("hard")) == 0
    assert os.stat(box / "hard").st_nlink == 2
    assert guest("path_rename", 3, *path("hard", 0x7000), 3, *path("d/e/moved")) == 0
    assert (box / "d" / "e" / "moved").read_text() == "data"
    assert guest("path_unlink_file", 3, *path("d")) == E["ISDIR"]
    assert guest("path_remove_directory", 3, *path("d")) == E["NOTEMPTY"]
    assert guest("path_unlink_file", 3, *path("d/e/moved")) == 0
    assert guest("path_remove_directory", 3, *path("d/e")) == 0
    assert guest("path_remove_directory", 3, *path("d/f")) == E["NOTDIR"]
    assert guest("path_unlink_file", 3, *path("ln")) == 0
    assert (box / "d" / "f").exists() and not (box / "ln").exists()
    assert guest("path_open", 1, 0, *path("x"), 0, 0, 0, 0, 0x20) == E["NOTDIR"]


ESCAPES = [
    ("path_open", lambda g, p: g("path_open", 3, 1, *p, O_CREAT | O_TRUNC, ALL_RIGHTS, ALL_RIGHTS, 0, 0x20)),
    ("path_create_directory", lambda g, p: g("path_create_directory", 3, *p)),
    ("path_filestat_get", lambda g, p: g("path_filestat_get", 3, 1, *p, 0x40)),
    ("path_filestat_set_times", lambda g, p: g("path_filestat_set_times", 3, 1, *p, 0, 0, 1 | 4)),
    ("path_link source", lambda g, p: g("path_link", 3, 1, *p, 3, *g.string("in", 0x7000))),
    ("path_link target", lambda g, p: g("path_link", 3, 0, *g.string("inside", 0x7000), 3, *p)),
    ("path_readlink", lambda g, p: g("path_readlink", 3, *p, 0x100, 64, 0x20)),
    ("path_remove_directory", lambda g, p: g("path_remove_directory", 3, *p)),
    ("path_rename source", lambda g, p: g("path_rename", 3, *p, 3, *g.string("in", 0x7000))),
    ("path_rename target", lambda g, p: g("path_rename", 3, *g.string("inside", 0x7000), 3, *p)),
    ("path_symlink", lambda g, p: g("path_symlink", *g.string("inside", 0x7000), 3, *p)),
    ("path_unlink_file", lambda g, p: g("path_unlink_file", 3, *p)),
]


@pytest.mark.parametrize("name, call", ESCAPES, ids=[e[0] for e in ESCAPES])
@pytest.mark.parametrize("path", ["../secret", "sub/../../secret", "/etc/passwd", "up/secret", "chain/secret"])
def test_no_path_function_reaches_outside(guest, box, name, call, path):
    """Every path-taking function refuses an escape with EPERM (wasmtime's answer), and the
    host files outside the preopen stay as they were."""
    (box / "sub").mkdir()
    (box / "inside").write_text("in")
    os.symlink("..", box / "up")
    os.symlink("sub/../up", box / "chain")
    before = sorted(os.listdir(box.parent)), os.stat(box.parent / "secret")
    assert call(guest, guest.string(path)) == E["PERM"]
    assert (sorted(os.listdir(box.parent)), os.stat(box.parent / "secret")) == before
    assert (box.parent / "secret").read_text() == "keep"


def test_symlink_loop_is_eloop(guest, box):
    os.symlink("b", box / "a")
    os.symlink("a", box / "b")
    assert guest.open("a/x")[0] == E["LOOP"]
    assert guest.open("a", follow=False)[0] == E["LOOP"]


# ---- poll_oneoff


def _subscribe(guest: Guest, index: int, userdata: int, tag: int, ident: int, timeout: int = 0,
               flags: int = 0) -> None:
    struct.pack_into("<QB7xIxxxxQQH6x", guest.mem, 0x2000 + 48 * index, userdata, tag, ident, timeout, 0, flags)


def _events(guest: Guest) -> list[tuple[int, int, int, int]]:
    count = guest.u32(0x20)
    return [struct.unpack_from("<QHB5xQ", guest.mem, 0x3000 + 32 * i) for i in range(count)]


def test_poll_relative_and_absolute_clocks(guest):
    _subscribe(guest, 0, 7, 0, 1, 30_000_000)
    start = time.monotonic_ns()
    assert guest("poll_oneoff", 0x2000, 0x3000, 1, 0x20) == 0
    assert time.monotonic_ns() - start >= 30_000_000
    assert _events(guest) == [(7, 0, 0, 0)]
    guest("clock_time_get", 0, 1, 0x40)
    _subscribe(guest, 0, 8, 0, 0, guest.u64(0x40) + 20_000_000, flags=1)
    start = time.monotonic_ns()
    assert guest("poll_oneoff", 0x2000, 0x3000, 1, 0x20) == 0
    assert time.monotonic_ns() - start >= 15_000_000
    assert _events(guest) == [(8, 0, 0, 0)]


def test_poll_files_are_ready_at_once(guest, box):
    (box / "f").write_bytes(b"12345")
    _, fd = guest.open("f")
    _subscribe(guest, 0, 1, 0, 1, 10**18)  # a clock that never fires in time
    _subscribe(guest, 1, 2, 1, fd)
    _subscribe(guest, 2, 3, 2, 1)
    _subscribe(guest, 3, 4, 1, 99)
    assert guest("poll_oneoff", 0x2000, 0x3000, 4, 0x20) == 0
    assert _events(guest) == [(2, 0, 1, 5), (4, E["BADF"], 1, 0)]
    assert guest("poll_oneoff", 0x2000, 0x3000, 0, 0x20) == E["INVAL"]
    _subscribe(guest, 0, 1, 9, 0)
    assert guest("poll_oneoff", 0x2000, 0x3000, 1, 0x20) == E["INVAL"]


def test_poll_pipe_waits_for_data(guest):
    read_end, write_end = os.pipe()
    from vmstack.host.fdtable import OpenFile

    fd = guest.wasi.fds.add(OpenFile(read_end, "pipe", RIGHT["FD_READ"]))
    try:
        _subscribe(guest, 0, 1, 0, 1, 20_000_000)
        _subscribe(guest, 1, 2, 1, fd)
        assert guest("poll_oneoff", 0x2000, 0x3000, 2, 0x20) == 0
        assert _events(guest) == [(1, 0, 0, 0)]
        os.write(write_end, b"ping")
        assert guest("poll_oneoff", 0x2000, 0x3000, 2, 0x20) == 0
        assert [e[:3] for e in _events(guest)] == [(2, 0, 1)]
        assert guest.read(fd, 10) == b"ping"
    finally:
        os.close(write_end)


# ---- C programs under vmstack and wasmtime


C_GUESTS = ["files", "dirs", "edges", "escape", "env"]


def _compile(name: str, out_dir: Path) -> Path:
    if shutil.which("clang") is None or not Path("/usr/include/wasm32-wasi").is_dir():
        pytest.fail("clang --target=wasm32-wasi with wasi-libc is needed (Debian clang, wasi-libc)")
    out = out_dir / f"{name}.wasm"
    subprocess.run(["clang", "--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-o", str(out),
                    str(GUESTS / f"{name}.c")], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def guest_wasm(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("wasi-guests")
    return {name: _compile(name, out_dir) for name in C_GUESTS}


ARGS = ["prog", "first", "two words", "5"]
ENV = [("GREETING", "hi"), ("EMPTY", ""), ("UNICODE", "ünï")]


def _layout(root: Path) -> Path:
    """The preopened directory and its surroundings; every run gets a fresh copy."""
    box = root / "box"
    box.mkdir(parents=True)
    (root / "secret").write_text("keep")
    os.symlink("/", box / "hostroot")
    os.symlink("/etc/passwd", box / "hostabs")
    return box


def _config(config: WasiConfig | wasmtime.WasiConfig, box: Path, stdout: Path) -> None:
    config.argv = ARGS
    config.env = ENV
    (box.parent / "stdin").write_text("line one\nline two\n")
    config.stdin_file = str(box.parent / "stdin")
    config.stdout_file = str(stdout)
    config.preopen_dir(str(box), "/")


def _run_wasmtime(wasm: Path, root: Path) -> tuple[bytes, int]:
    box, stdout = _layout(root), root / "stdout"
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    _config(config, box, stdout)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    try:
        instance.exports(store)["_start"](store)
        code = 0
    except wasmtime.ExitTrap as exit_trap:
        code = exit_trap.code
    del store, instance, linker  # wasmtime closes the stdout file with its store
    return stdout.read_bytes(), code


def _run_vmstack(wasm: Path, root: Path) -> tuple[bytes, int]:
    box, stdout = _layout(root), root / "stdout"
    config = WasiConfig()
    _config(config, box, stdout)
    wasi = Wasi(config)
    module = binary.decode_module(wasm.read_bytes())
    funcs = wasi.host_functions()
    store = runtime.Store()
    instance = runtime.instantiate(store, module, [funcs[imp.name] for imp in module.imports])
    wasi.bind_memory(instance.exports["memory"])
    try:
        runtime.invoke(store, instance.exports["_start"], [])
        code = 0
    except ExitTrap as exit_trap:
        code = exit_trap.code
    finally:
        wasi.close()
    return stdout.read_bytes(), code


@pytest.mark.parametrize("name", C_GUESTS)
def test_c_program_agrees_with_wasmtime(guest_wasm, tmp_path, name):
    expected = _run_wasmtime(guest_wasm[name], tmp_path / "wasmtime")
    got = _run_vmstack(guest_wasm[name], tmp_path / "vmstack")
    assert got[0].decode() == expected[0].decode()
    assert got[1] == expected[1]
    assert expected[0].count(b"\n") > 10
    assert (tmp_path / "vmstack" / "secret").read_text() == "keep"
    assert sorted(os.listdir(tmp_path / "vmstack")) == ["box", "secret", "stdin", "stdout"]
