"""Path resolution beneath a preopened directory: every escape is refused, nothing
outside is touched, symlinks inside are followed with a loop limit."""

from __future__ import annotations

import errno
import os

import pytest

from vmstack.host.sandbox import MAX_SYMLINKS, SandboxEscape, resolve


@pytest.fixture
def box(tmp_path):
    """tmp/box/{a/b/, file, link_a -> a, a/up -> .., a/b/out -> ../../.., chain -> a/b/out, ...}
    next to tmp/secret."""
    (tmp_path / "secret").write_text("keep")
    root = tmp_path / "box"
    (root / "a" / "b").mkdir(parents=True)
    (root / "file").write_text("inside")
    os.symlink("a", root / "link_a")
    os.symlink("..", root / "a" / "up")
    os.symlink("../../..", root / "a" / "b" / "out")
    os.symlink("a/b/out", root / "chain")
    os.symlink("/", root / "to_root")
    os.symlink("/etc/passwd", root / "to_passwd")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield fd, root
    os.close(fd)


def _resolved(dirfd: int, path: str, follow: bool = False) -> tuple[str, str]:
    """(host path of the parent directory, final name) for a successful resolution."""
    parent, name = resolve(dirfd, path, follow)
    try:
        return os.readlink(f"/proc/self/fd/{parent}"), name
    finally:
        os.close(parent)


@pytest.mark.parametrize("path", [
    "../secret", "a/../../secret", "a/b/../../../secret", "..", "a/../..", "/etc/passwd", "/",
    "to_root/etc/passwd", "to_passwd", "chain/secret", "a/up/a/up/../secret", "a/b/out/secret", "chain",
])
def test_escapes_are_refused(box, path):
    fd, _ = box
    with pytest.raises(SandboxEscape) as info:
        resolve(fd, path, follow_final=True)
    assert info.value.errno == errno.EPERM


def test_final_symlink_out_is_only_refused_when_followed(box):
    fd, root = box
    assert _resolved(fd, "to_root") == (str(root), "to_root")
    with pytest.raises(SandboxEscape):
        resolve(fd, "to_root", follow_final=True)


def test_symlink_loop_is_eloop(box):
    fd, _ = box
    for path in ("loop1/x", "loop1/", "loop1"):
        with pytest.raises(OSError) as info:
            resolve(fd, path, follow_final=True)
        assert info.value.errno == errno.ELOOP


def test_long_symlink_chain_hits_the_limit(tmp_path):
    for i in range(MAX_SYMLINKS + 1):
        os.symlink(f"l{i + 1}", tmp_path / f"l{i}")
    (tmp_path / f"l{MAX_SYMLINKS + 1}").mkdir()
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as info:
            resolve(fd, "l0/x")
        assert info.value.errno == errno.ELOOP
        assert _resolved(fd, "l2/x") == (str(tmp_path / f"l{MAX_SYMLINKS + 1}"), "x")
    finally:
        os.close(fd)


@pytest.mark.parametrize("path, where, name", [
    ("file", "", "file"),
    ("a/b/new", "a/b", "new"),
    ("a/b/..", "a", "."),
    ("a/../file", "", "file"),
    ("./a//b/./c", "a/b", "c"),
    ("a/.", "a", "."),
    ("link_a/b/x", "a/b", "x"),
    ("a/up/file", "", "file"),
    (".", "", "."),
    ("a/", "", "a"),
])
def test_inside_paths_resolve_beneath_the_directory(box, path, where, name):
    fd, root = box
    assert _resolved(fd, path) == (str(root / where) if where else str(root), name)


def test_followed_final_symlink_names_its_target(box):
    fd, root = box
    assert _resolved(fd, "link_a", follow=True) == (str(root), "a")
    assert _resolved(fd, "a/up/link_a", follow=True) == (str(root), "a")


def test_empty_path_and_nul_are_errors(box):
    fd, _ = box
    with pytest.raises(FileNotFoundError):
        resolve(fd, "")
    with pytest.raises(OSError) as info:
        resolve(fd, "a\0b")
    assert info.value.errno == errno.EILSEQ


def test_trailing_slash_needs_a_directory(box):
    fd, root = box
    with pytest.raises(NotADirectoryError):
        resolve(fd, "file/")
    assert _resolved(fd, "newdir/") == (str(root), "newdir")
    assert _resolved(fd, "link_a/", follow=True) == (str(root), "a")
    with pytest.raises(NotADirectoryError):
        resolve(fd, "link_a/")  # an unfollowed symlink is not a directory
    with pytest.raises(NotADirectoryError):
        resolve(fd, "file/.")


def test_missing_intermediate_directory(box):
    fd, _ = box
    with pytest.raises(FileNotFoundError):
        resolve(fd, "nope/x")
    with pytest.raises(NotADirectoryError):
        resolve(fd, "file/x")


def test_no_descriptor_leaks(box):
    fd, _ = box
    before = len(os.listdir("/proc/self/fd"))
    for path in ("a/b/../../../secret", "chain/x", "loop1/x", "a/b/c"):
        try:
            os.close(resolve(fd, path)[0])
        except OSError:
            pass
    assert len(os.listdir("/proc/self/fd")) == before
