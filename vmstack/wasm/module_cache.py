"""Decoded and validated modules cached on disk, so that a second run of the same binary skips the
decoder and the validator (seconds for a module of a megabyte): ``decode_validated(data)``.

An entry is the pickled ``Module`` (without its source binary), each function's body pickled apart
and unpickled at its first use (a run of a big module under the compiled tier, its code cached,
never reads most bodies: unpickling them all was 0.15 s of a 1.2 MB module), keyed by the binary's digest,
vmstack's version and a digest of the tier's own source (a changed decoder or validator never
reuses an old entry). The cache lives beside the compiled tier's, under ``$VMSTACK_CACHE`` or
``~/.cache/vmstack``, and is as trusted as the object code kept there; an entry that cannot be
read is decoded again, and a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

from .. import __version__
from .. import cache as caches
from .module import Func, Module

_fingerprint: list[bytes] = []


def _tier_fingerprint() -> bytes:
    if not _fingerprint:
        digest = hashlib.sha256(__version__.encode())
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        _fingerprint.append(digest.digest())
    return _fingerprint[0]


class StoredFunc(Func):
    """A function read back from the cache, its body and offsets still pickled until first used."""

    def __getattr__(self, name: str):  # only attributes not set yet come here
        stored = self.__dict__.pop("_stored", None)
        if stored is None or name not in ("body", "offsets"):
            raise AttributeError(name)
        self.body, self.offsets = pickle.loads(stored)
        return getattr(self, name)

    def instruction_count(self) -> int:
        count = self.__dict__.get("_count")
        return count if count is not None else len(self.body)


class _EntryPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if type(obj) is Func or type(obj) is StoredFunc:  # made again as StoredFunc.__new__ and its __dict__
            body = pickle.dumps((obj.body, obj.offsets), protocol=pickle.HIGHEST_PROTOCOL)
            return object.__new__, (StoredFunc,), {
                "type_index": obj.type_index, "locals": obj.locals, "body_offset": obj.body_offset,
                "_count": len(obj.body), "_stored": body}
        return NotImplemented


def _entry(module: Module) -> bytes:
    out = io.BytesIO()
    _EntryPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(module)
    return out.getvalue()


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
        from .binary import decode_module  # imported only when needed, as the validator
        from .validate import validate_module

        module = decode_module(data)
        validate_module(module)
        module.source = None
        caches.write_atomically(entry, _entry(module))
    module.source = data
    return module

