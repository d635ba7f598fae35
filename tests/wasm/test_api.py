"""The embedding API against wasmtime-py itself: every test runs the same code
with `import wasmtime` and with `import vmstack.wasm`, and both must agree.
"""

from __future__ import annotations

import importlib

import pytest

import vmstack.wasm as vw

ADDER = """
(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (global $g (export "counter") (mut i32) (i32.const 7))
  (table (export "tab") 2 funcref)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "scale") (param f32 f64) (result f64) local.get 0 f64.promote_f32 local.get 1 f64.mul)
  (func (export "pair") (param i32) (result i32 i64) local.get 0 local.get 0 i64.extend_i32_s)
  (func (export "call_twice") (param i32) (result i32) local.get 0 call $twice)
  (func (export "bump") global.get $g i32.const 1 i32.add global.set $g)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "spin") (loop br 0))
  (elem (i32.const 0) $add)
)
"""


@pytest.fixture(params=["wasmtime", "vmstack.wasm"])
def api(request):
    return importlib.import_module(request.param)


def _instance(api, fuel: int | None = None):
    config = api.Config()
    if fuel is not None:
        config.consume_fuel = True
    engine = api.Engine(config)
    store = api.Store(engine)
    if fuel is not None:
        store.set_fuel(fuel)
    module = api.Module(engine, ADDER)
    linker = api.Linker(engine)
    i32 = api.ValType.i32()
    linker.define_func("env", "twice", api.FuncType([i32], [i32]), lambda x: x * 2)
    return store, linker.instantiate(store, module)


def test_calls_with_wasmtime_value_conventions(api):
    store, inst = _instance(api)
    ex = inst.exports(store)
    assert ex["add"](store, 2, 3) == 5
    assert ex["add"](store, 0x7FFFFFFF, 1) == -0x80000000  # i32 results are signed, as in wasmtime-py
    assert ex["add64"](store, -1, -1) == -2
    assert ex["scale"](store, 1.5, 2.0) == 3.0
    assert ex["pair"](store, -5) == [-5, -5]
    assert ex["call_twice"](store, 21) == 42


def test_memory_global_and_table(api):
    store, inst = _instance(api)
    ex = inst.exports(store)
    mem = ex["mem"]
    assert mem.size(store) == 1 and mem.data_len(store) == 65536
    ex["store"](store, 16, 0x04030201)
    assert bytes(mem.read(store, 16, 20)) == b"\x01\x02\x03\x04"
    mem.write(store, b"\xff\xff", 100)
    assert bytes(mem.read(store, 99, 102)) == b"\x00\xff\xff"
    assert mem.grow(store, 1) == 1 and mem.size(store) == 2
    counter = ex["counter"]
    ex["bump"](store)
    assert counter.value(store) == 8
    counter.set_value(store, 41)
    ex["bump"](store)
    assert counter.value(store) == 42
    tab = ex["tab"]
    assert tab.size(store) == 2
    assert tab.get(store, 0)(store, 1, 1) == 2
    null = tab.get(store, 1)
    assert null is None or null.value is None  # wasmtime-py wraps a null funcref in a Val


def test_module_imports_and_exports(api):
    module = api.Module(api.Engine(), ADDER)
    assert [(i.module, i.name) for i in module.imports] == [("env", "twice")]
    names = [e.name for e in module.exports]
    assert names[:4] == ["mem", "counter", "tab", "add"]
    add_type = next(e.type for e in module.exports if e.name == "add")
    assert [str(p) for p in add_type.params] == ["i32", "i32"]


def test_trap_is_raised_as_trap(api):
    store, inst = _instance(api)
    with pytest.raises(api.Trap) as info:
        inst.exports(store)["div"](store, 1, 0)
    assert "divide by zero" in str(info.value)


def test_fuel_stops_a_runaway_guest(api):
    store, inst = _instance(api, fuel=10_000)
    with pytest.raises(api.Trap) as info:
        inst.exports(store)["spin"](store)
    assert "fuel" in str(info.value)
    assert store.get_fuel() == 0


def test_wasi_exit_code(api, tmp_path):
    engine = api.Engine()
    store = api.Store(engine)
    wasi = api.WasiConfig()
    out = tmp_path / "out.txt"
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    linker = api.Linker(engine)
    linker.define_wasi()
    module = api.Module(engine, """
      (module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 8) "hi\\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 3))
          (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
          (call $exit (i32.const 7))))""")
    inst = linker.instantiate(store, module)
    with pytest.raises(api.ExitTrap) as info:
        inst.exports(store)["_start"](store)
    assert info.value.code == 7
    del store, inst, linker  # wasmtime flushes and closes the file when the store goes
    assert out.read_bytes() == b"hi\n"


def test_vmstack_module_rejects_garbage_cleanly():
    with pytest.raises(vw.WasmtimeError):
        vw.Module(vw.Engine(), b"\0asm\x01\0\0\0\x01")
    with pytest.raises(vw.WasmtimeError):
        vw.Module(vw.Engine(), "(module (func (result i32)))")
