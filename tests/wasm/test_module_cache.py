"""The on-disk cache of decoded and validated modules: a binary seen before comes back from the
cache and behaves as the freshly decoded one (checked against wasmtime), a damaged entry is
decoded again, and an invalid binary is rejected every time and never cached."""

from __future__ import annotations

import pytest
import wasmtime

import vmstack.wasm as vw
from vmstack.wasm import module_cache
from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import WasmError

SUM = """
(module
  (memory (export "mem") 1)
  (data (i32.const 16) "\\01\\02\\03\\04\\05")
  (func (export "sum") (param i32 i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 1)))
      (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
      (br 0)))
    (local.get $acc)))
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VMSTACK_CACHE", str(tmp_path))
    return tmp_path / "modules"


def _sum(binary: bytes) -> int:
    store = vw.Store(vw.Engine())
    instance = vw.Instance(store, vw.Module(store.engine, binary), [])
    return instance.exports(store)["sum"](store, 16, 5)


def _wasmtime_sum(binary: bytes) -> int:
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), [])
    return instance.exports(store)["sum"](store, 16, 5)


def test_a_binary_seen_before_comes_from_the_cache(cache):
    binary = wasmtime.wat2wasm(SUM)
    assert _sum(binary) == _wasmtime_sum(binary)
    entries = list(cache.glob("*.pickle"))
    assert len(entries) == 1
    cached = module_cache.decode_validated(binary)
    assert cached.source == binary
    assert [len(f.body) for f in cached.funcs] == [len(f.body) for f in decode_module(binary).funcs]
    assert _sum(binary) == _wasmtime_sum(binary)
    assert list(cache.glob("*.pickle")) == entries


def test_function_bodies_are_read_back_at_first_use(cache):
    """An entry's function bodies stay pickled until used: their sizes are known without them, and
    once read they are the decoder's."""
    binary = wasmtime.wat2wasm(SUM.replace("(local.get $acc)))", "(local.get $acc))\n  (func (result i32) (i32.const 7)))"))
    module_cache.decode_validated(binary)
    cached = module_cache.decode_validated(binary)
    decoded = decode_module(binary).funcs
    assert [f.instruction_count() for f in cached.funcs] == [len(f.body) for f in decoded]
    assert all("_span" in f.__dict__ for f in cached.funcs)  # sizing read no body
    assert cached.funcs[1].body == decoded[1].body and cached.funcs[1].offsets == decoded[1].offsets
    assert "_span" in cached.funcs[0].__dict__ and "_span" not in cached.funcs[1].__dict__
    fields = ("type_index", "locals", "body", "offsets", "body_offset")
    assert [[getattr(f, n) for n in fields] for f in cached.funcs] == [[getattr(f, n) for n in fields] for f in decoded]


def test_a_damaged_entry_is_decoded_again(cache):
    binary = wasmtime.wat2wasm(SUM)
    _sum(binary)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _sum(binary) == _wasmtime_sum(binary)
    assert entry.read_bytes() != b"not a pickle"
    bodies = entry.with_suffix(".bodies")
    bodies.unlink()  # an entry without its bodies is no entry
    assert _sum(binary) == _wasmtime_sum(binary)
    assert bodies.exists()
    kept = bodies.read_bytes()
    bodies.write_bytes(kept[:-1])  # nor is one whose bodies are not the ones it was written with
    assert _sum(binary) == _wasmtime_sum(binary)
    assert bodies.read_bytes() == kept


def test_an_invalid_binary_is_rejected_and_not_cached(cache):
    binary = bytearray(wasmtime.wat2wasm('(module (func (export "f") (result i32) i32.const 1))'))
    position = binary.index(bytes([0x41, 0x01]))  # i32.const 1 becomes i64.const 1: a type error
    binary[position] = 0x42
    for _ in range(2):
        with pytest.raises(WasmError):
            vw.Module(None, bytes(binary))
    assert not list(cache.glob("*.pickle"))
