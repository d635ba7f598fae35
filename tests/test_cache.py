"""vmstack.cache: where the disk caches live, how an entry is written and how a cache keeps within its limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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
    assert sorted(path.name for path in entry.parent.iterdir()) == [cache.TRIM_MARK, "entry.o"]  # no *.tmp


def test_an_unwritable_cache_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    cache.write_atomically(blocker / "entry.o", b"x")   # its directory cannot be made: no error
    assert blocker.read_bytes() == b""


def _files(directory, sizes_and_ages):
    """Files of the given sizes, each last used `age` seconds ago."""
    now = time.time()
    for k, (size, age) in enumerate(sizes_and_ages):
        path = directory / f"entry{k}.o"
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))


def test_a_cache_over_its_limit_loses_its_least_recently_used_files_down_to_80_percent(tmp_path):
    _files(tmp_path, [(4096, 50), (4096, 10), (4096, 40), (4096, 20), (4096, 30)])
    used_before, _ = cache.usage(tmp_path)
    assert used_before == 5 * 4096
    removed = cache.trim(tmp_path, 4 * 4096)  # over by one file: trimmed to 80% of the limit
    assert removed == 2 * 4096
    assert sorted(path.name for path in tmp_path.iterdir()) == ["entry1.o", "entry3.o", "entry4.o"]


def test_a_cache_within_its_limit_is_left_alone(tmp_path):
    _files(tmp_path, [(4096, 50), (4096, 10)])
    assert cache.trim(tmp_path, 2 * 4096) == 0
    assert len(list(tmp_path.iterdir())) == 2


def test_writing_to_a_cache_keeps_it_within_the_limit_when_a_look_is_due(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.LIMIT_VARIABLE, "16K")
    _files(tmp_path, [(4096, 500 + k) for k in range(8)])
    monkeypatch.setattr(cache, "_looked", set())
    cache.write_atomically(tmp_path / "new.o", b"y" * 4096)
    used, _ = cache.usage(tmp_path)
    assert used <= 16 * 1024 * cache.TRIMMED_TO and (tmp_path / "new.o").exists()  # the newest stays
    _files(tmp_path, [(4096, 600 + k) for k in range(8)])  # over again, but looked over a moment ago
    monkeypatch.setattr(cache, "_looked", set())
    cache.write_atomically(tmp_path / "newer.o", b"z")
    assert cache.usage(tmp_path)[0] > 16 * 1024


def test_the_limit_is_a_size_and_a_bad_one_is_ignored_with_a_warning(monkeypatch, capsys):
    monkeypatch.setenv(cache.LIMIT_VARIABLE, "64M")
    assert cache.size_limit() == 64 << 20
    monkeypatch.setenv(cache.LIMIT_VARIABLE, "lots")
    assert cache.size_limit() == cache.DEFAULT_LIMIT
    assert capsys.readouterr().err == "vmstack: ignoring VMSTACK_CACHE_LIMIT: invalid size 'lots' (try 64M or 1G)\n"


def test_the_cache_command_shows_and_clears_what_runs_cached(tmp_path):
    env = {**os.environ, "VMSTACK_CACHE": str(tmp_path)}

    def vmstack(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vmstack", *args], capture_output=True, text=True, env=env,
                              check=True, timeout=120)

    vmstack("demo")
    shown = vmstack("cache").stdout.splitlines()
    assert shown[0].startswith(f"jit: {tmp_path / 'jit'}: 0.0 MiB in 0 files")
    assert shown[1].startswith(f"modules: {tmp_path / 'modules'}: ") and " in 2 files " in shown[1]
    assert vmstack("cache", "--clear").stdout.splitlines()[1].startswith(f"modules: {tmp_path / 'modules'}: removed ")
    assert cache.usage(tmp_path / "modules") == (0, [])
