"""The guest fd table: numbering, closing, renumbering, ownership of host descriptors."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from vmstack.host.fdtable import FdTable, OpenFile, kind_of


def _is_open(host_fd: int) -> bool:
    try:
        os.fstat(host_fd)
        return True
    except OSError:
        return False


@pytest.fixture
def host_fds():
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
    yield opened
    for fd in opened:
        if _is_open(fd):
            os.close(fd)


def test_add_uses_the_lowest_free_number(host_fds):
    table = FdTable()
    assert [table.add(OpenFile(fd, "char")) for fd in host_fds] == [0, 1, 2]
    table.close(1)
    assert table.add(OpenFile(os.dup(host_fds[0]), "char")) == 1
    table.close_all()


def test_close_closes_owned_host_descriptors_only(host_fds):
    table = FdTable()
    owned = table.add(OpenFile(host_fds[0], "char"))
    borrowed = table.add(OpenFile(host_fds[1], "char", owned=False))
    table.close(owned)
    table.close(borrowed)
    assert not _is_open(host_fds[0])
    assert _is_open(host_fds[1])
    assert table.get(owned) is None


def test_close_of_unknown_fd_is_ebadf():
    with pytest.raises(OSError) as info:
        FdTable().close(5)
    assert info.value.errno == errno.EBADF


def test_renumber_moves_and_closes_the_target(host_fds):
    table = FdTable()
    src = table.add(OpenFile(host_fds[0], "char"))
    dst = table.add(OpenFile(host_fds[1], "char"))
    table.renumber(src, dst)
    assert table.get(src) is None
    assert table.get(dst).host_fd == host_fds[0]
    assert not _is_open(host_fds[1])
    table.renumber(dst, dst)
    assert table.get(dst).host_fd == host_fds[0]
    with pytest.raises(OSError) as info:
        table.renumber(dst, 42)
    assert info.value.errno == errno.EBADF
    table.close_all()
    assert table.files == {}
    assert not _is_open(host_fds[0])


def test_kind_of_names_every_file_type(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    os.symlink("x", tmp_path / "link")
    assert kind_of(os.stat(tmp_path).st_mode) == "dir"
    assert kind_of(os.stat(tmp_path / "fifo").st_mode) == "pipe"
    assert kind_of(os.lstat(tmp_path / "link").st_mode) == "symlink"
    assert kind_of(os.stat("/dev/null").st_mode) == "char"
    assert kind_of(stat.S_IFREG) == "file"
    assert kind_of(stat.S_IFBLK) == "block"
    assert kind_of(stat.S_IFSOCK) == "socket"
