"""vmstack's disk caches: where they live (``$VMSTACK_CACHE``, by default ``~/.cache/vmstack``) and how an
entry is written, atomically, so that concurrent runs never read half an entry."""

from __future__ import annotations

import os
from pathlib import Path

_dirs: dict[tuple[str | None, str], Path] = {}


def cache_dir(name: str) -> Path:
    """The directory of the cache called `name` (made when first written)."""
    root = os.environ.get("VMSTACK_CACHE")
    path = _dirs.get((root, name))
    if path is None:  # asked for at each lazily compiled function: a Path is slow to make
        path = _dirs[root, name] = (Path(root) if root else Path.home() / ".cache" / "vmstack") / name
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write a cache entry through a private temporary file renamed over `path`; a cache that cannot be
    written is skipped (the entry is made again next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError:
        pass
