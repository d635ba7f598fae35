"""vmstack's disk caches: where they live (``$VMSTACK_CACHE``, by default ``~/.cache/vmstack``), how an
entry is written, atomically, so that concurrent runs never read half an entry, and how a cache is kept
within its size limit (``$VMSTACK_CACHE_LIMIT``, by default 1 GiB each for compiled code and decoded
modules): when a process first writes to a cache, and the cache was last looked over more than an
hour ago (a full look at tens of thousands of entries takes a good part of a second), the least
recently used files go until it is back within 80% of the limit. An entry that goes is simply made
again when next needed."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

LIMIT_VARIABLE = "VMSTACK_CACHE_LIMIT"
DEFAULT_LIMIT = 1 << 30
TRIMMED_TO = 0.8  # of the limit, so that a cache at its limit is not trimmed again at every look
TRIM_INTERVAL = 3600.0  # seconds between two looks at a cache's size
TRIM_MARK = ".trimmed"  # in a cache's directory: its modification time is the last look
RUNTIME_CACHES = ("jit", "modules")  # the caches runs fill (compiled code, decoded modules)

_dirs: dict[tuple[str | None, str], Path] = {}
_looked: set[Path] = set()  # the caches this process has written to (and looked over if due)


def cache_dir(name: str) -> Path:
    """The directory of the cache called `name` (made when first written)."""
    root = os.environ.get("VMSTACK_CACHE")
    path = _dirs.get((root, name))
    if path is None:  # asked for at each lazily compiled function: a Path is slow to make
        path = _dirs[root, name] = (Path(root) if root else Path.home() / ".cache" / "vmstack") / name
    return path


def parse_size(text: str) -> int:
    """A size in bytes, like 512, 64K, 64M, 1G or 1GiB; ValueError if it is not one."""
    match = re.fullmatch(r"(\d+)\s*([kmgKMG]i?[bB]?|[bB])?", text.strip())
    if not match:
        raise ValueError(f"invalid size {text!r} (try 64M or 1G)")
    unit = (match.group(2) or "b")[0].lower()
    return int(match.group(1)) * {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def size_limit() -> int:
    """Each cache's size limit in bytes: $VMSTACK_CACHE_LIMIT, or DEFAULT_LIMIT (with a warning if the
    variable is not a size)."""
    text = os.environ.get(LIMIT_VARIABLE)
    if text is None:
        return DEFAULT_LIMIT
    try:
        return parse_size(text)
    except ValueError as exc:
        print(f"vmstack: ignoring {LIMIT_VARIABLE}: {exc}", file=sys.stderr)
        os.environ.pop(LIMIT_VARIABLE)  # said once
        return DEFAULT_LIMIT


def write_atomically(path: Path, data: bytes) -> None:
    """Write a cache entry through a private temporary file renamed over `path`; a cache that cannot be
    written is skipped (the entry is made again next time). A process's first write to a cache keeps
    that cache within its limit, if a look is due."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError:
        return
    if path.parent not in _looked:
        _looked.add(path.parent)
        _look_over(path.parent)


def _look_over(directory: Path) -> None:
    mark = directory / TRIM_MARK
    try:
        if time.time() - mark.stat().st_mtime < TRIM_INTERVAL:
            return
    except FileNotFoundError:
        pass
    try:
        mark.touch()
    except OSError:
        return
    trim(directory, size_limit())


def usage(directory: Path) -> tuple[int, list[tuple[float, int, str]]]:
    """A cache's size on disk in bytes and its files as (last use, size, path): the last use is the
    later of the access and modification times (Linux's relatime updates the access time of a file
    read, at most once a day); a file's size is the space it takes (whole blocks, as du counts)."""
    files, total = [], 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.name != TRIM_MARK:
                        info = entry.stat(follow_symlinks=False)
                        size = info.st_blocks * 512
                        files.append((max(info.st_atime, info.st_mtime), size, entry.path))
                        total += size
                except FileNotFoundError:  # removed meanwhile by another run
                    continue
    except (FileNotFoundError, NotADirectoryError):
        pass
    return total, files


def trim(directory: Path, limit: int) -> int:
    """If the cache in `directory` is over `limit` bytes, remove its least recently used files until it
    is within TRIMMED_TO of it; the number of bytes removed. (A run using a removed file keeps it: an
    open or mapped file lives on until closed.)"""
    total, files = usage(directory)
    if total <= limit:
        return 0
    removed, target = 0, limit * TRIMMED_TO
    for _, size, path in sorted(files):
        if total - removed <= target:
            break
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            continue
        removed += size
    return removed


def clear(directory: Path) -> int:
    """Remove every file of the cache in `directory`; the number of bytes removed."""
    return trim(directory, -1)
