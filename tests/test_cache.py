"""vmstack.cache: where the disk caches live and how an entry is written."""

from __future__ import annotations

from vmstack import cache


def test_cache_dir_follows_vmstack_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VMSTACK_CACHE", str(tmp_path))
    assert cache.cache_dir("jit") == tmp_path / "jit"
    monkeypatch.delenv("VMSTACK_CACHE")
    assert cache.cache_dir("modules").parts[-3:] == (".cache", "vmstack", "modules")


def test_an_entry_replaces_the_old_one_whole_and_leaves_no_temporary(tmp_path):
    entry = tmp_path / "deep" / "entry.o"
    cache.write_atomically(entry, b"old")
    cache.write_atomically(entry, b"new contents")
    assert entry.read_bytes() == b"new contents"
    assert [path.name for path in entry.parent.iterdir()] == ["entry.o"]


def test_an_unwritable_cache_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    cache.write_atomically(blocker / "entry.o", b"x")   # its directory cannot be made: no error
    assert blocker.read_bytes() == b""
