"""Decoded and validated modules cached on disk, so that a second run of the same binary skips the
decoder and the validator (seconds for a module of a megabyte): ``decode_validated(data)``.

An entry is the pickled ``Module`` (without its source binary), keyed by the binary's digest,
vmstack's version and a digest of the tier's own source (a changed decoder or validator never
reuses an old entry). The cache lives beside the compiled tier's, under ``$VMSTACK_CACHE`` or
``~/.cache/vmstack``, and is as trusted as the object code kept there; an entry that cannot be
read is decoded again, and a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from .. import __version__
from .. import cache as caches
from .binary import decode_module
from .module import Module
from .validate import validate_module

_fingerprint: list[bytes] = []


def _tier_fingerprint() -> bytes:
    if not _fingerprint:
        digest = hashlib.sha256(__version__.encode())
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        _fingerprint.append(digest.digest())
    return _fingerprint[0]


def cache_dir() -> Path:
    return caches.cache_dir("modules")


def decode_validated(data: bytes) -> Module:
    """The module a binary encodes, validated (a WasmError if it is malformed or invalid)."""
    key = hashlib.sha256(_tier_fingerprint() + data).hexdigest()
    entry = cache_dir() / f"{key}.pickle"
    try:
        module = pickle.loads(entry.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        module = None
    if not isinstance(module, Module):
        module = decode_module(data)
        validate_module(module)
        module.source = None
        caches.write_atomically(entry, pickle.dumps(module, protocol=pickle.HIGHEST_PROTOCOL))
    module.source = data
    return module

