"""Decoded and validated modules cached on disk, so that a second run of the same binary skips the
decoder and the validator (seconds for a module of a megabyte): ``decode_validated(data)``.

An entry is the pickled ``Module`` (without its source binary) and, beside it, its functions' bodies
(each pickled apart, all in one file that is mapped, not read): a body is unpickled at its first use.
A run of a big module under the compiled tier, its code cached, never reads most bodies (unpickling
them all was 0.15 s of a 1.2 MB module). Entries are keyed by the binary's digest, vmstack's version
and a digest of the tier's own source (a changed decoder or validator never reuses an old entry).
The cache lives beside the compiled tier's, under ``$VMSTACK_CACHE`` or ``~/.cache/vmstack``, and is
as trusted as the object code kept there; an entry that cannot be read is decoded again, and a
cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import pickle
from pathlib import Path

from .. import __version__
from .. import cache as caches
from ..collector import paused
from .module import Func, Module

_fingerprint: list[bytes] = []


def _tier_fingerprint() -> bytes:
    if not _fingerprint:
        digest = hashlib.sha256(__version__.encode())
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        _fingerprint.append(digest.digest())
    return _fingerprint[0]


class _Unpickled:
    """``body`` or ``offsets`` of a StoredFunc, unpickled from the entry's bodies at first use; a
    non-data descriptor, so that the values then live in the instance as any Func's."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, func: StoredFunc | None, owner: type | None = None):
        if func is None:
            return self
        start, end = func.__dict__.pop("_span")
        func.body, func.offsets = pickle.loads(func.__dict__.pop("_bodies")[start:end])
        return func.__dict__[self.name]


class StoredFunc(Func):
    """A function read back from the cache, its body and offsets still in the entry's bodies."""

    body = _Unpickled()
    offsets = _Unpickled()

    def instruction_count(self) -> int:
        count = self.__dict__.get("_count")
        return count if count is not None else len(self.body)


class _EntryPickler(pickle.Pickler):
    """Pickles a module with its functions' bodies set apart, in ``bodies``."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.bodies = io.BytesIO()

    def reducer_override(self, obj):
        if type(obj) is Func or type(obj) is StoredFunc:  # made again as StoredFunc.__new__ and its __dict__
            start = self.bodies.tell()
            self.bodies.write(pickle.dumps((obj.body, obj.offsets), protocol=pickle.HIGHEST_PROTOCOL))
            return object.__new__, (StoredFunc,), {
                "type_index": obj.type_index, "locals": obj.locals, "body_offset": obj.body_offset,
                "_count": len(obj.body), "_span": (start, self.bodies.tell())}
        return NotImplemented


def _store(entry: Path, module: Module) -> None:
    out = io.BytesIO()
    pickler = _EntryPickler(out)
    pickler.dump(module)
    bodies = pickler.bodies.getvalue()
    caches.write_atomically(entry.with_suffix(".bodies"), bodies)  # first: an entry found has its bodies,
    caches.write_atomically(entry, len(bodies).to_bytes(8, "little") + out.getvalue())  # of this size


def _unpickle(data: bytes) -> object:
    """pickle.loads without the cycle collector's passes (the thousands of objects of a big module's
    entry, nothing cyclic among them, set off several; they were a third of the time)."""
    with paused():
        return pickle.loads(data)


def _load(entry: Path) -> Module | None:
    try:
        data = entry.read_bytes()
        with open(entry.with_suffix(".bodies"), "rb") as file:
            size = os.fstat(file.fileno()).st_size  # a replaced file stays mapped as it was
            if size != int.from_bytes(data[:8], "little"):  # not the entry's bodies: decode again
                return None
            bodies = mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) if size else b""
        module = _unpickle(data[8:])
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    if not isinstance(module, Module):
        return None
    for func in module.funcs:
        func._bodies = bodies
    return module


def cache_dir() -> Path:
    return caches.cache_dir("modules")


def decode_validated(data: bytes) -> Module:
    """The module a binary encodes, validated (a WasmError if it is malformed or invalid)."""
    key = hashlib.sha256(_tier_fingerprint() + data).hexdigest()
    entry = cache_dir() / f"{key}.pickle"
    module = _load(entry)
    if module is None:
        from .binary import decode_module  # imported only when needed, as the validator
        from .validate import validate_module

        module = decode_module(data)
        validate_module(module)
        module.source = None
        _store(entry, module)
    module.source = data
    return module

