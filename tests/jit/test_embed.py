"""The direct calls of compiled exports from Python (``wasm_embed``): the same answers as the
API's usual call (through the interpreter) and as wasmtime-py for the same module and arguments
(wrapping, signs, doubles, traps, wrong arguments; vmstack also takes an int for an f64), host functions called back from inside, and a runaway guest still interrupted by the
timer thread while it runs (the call lets go of the GIL)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
import wasmtime

import vmstack.wasm as vw
from vmstack.jit import wasm_link

WAT = """(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "hyp") (param f64 f64) (result f64)
    (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0)) (f64.mul (local.get 1) (local.get 1)))))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "nothing") (param i32))
  (func (export "via_host") (param i32) (result i32) (i32.add (call $twice (local.get 0)) (i32.const 1)))
  (func (export "spin") (loop $l (br $l))))
"""

CALLS = [("add", (2, 3)), ("add", (0x7FFFFFFF, 1)), ("add", (-5, 2)), ("add", (0xFFFFFFFF, 0)),
         ("add", (True, 1)), ("mul64", (1 << 40, 1 << 30)), ("mul64", (-3, 7)), ("mul64", ((1 << 64) - 1, 2)),
         ("hyp", (3.0, 4.0)), ("hyp", (float("inf"), 1.0)), ("nothing", (7,)),
         ("via_host", (20,)), ("add", (1 << 70, 1))]


def _exports(api, strategy: str | None = None):
    config = api.Config()
    if strategy:
        config.strategy = strategy
    engine = api.Engine(config)
    store = api.Store(engine)
    linker = api.Linker(engine)
    linker.define_func("host", "twice", api.FuncType([api.ValType.i32()], [api.ValType.i32()]), lambda x: 2 * x)
    return store, linker.instantiate(store, api.Module(engine, WAT)).exports(store)


def _outcome(store, exports, name: str, args: tuple):
    try:
        return exports[name](store, *args)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc).__name__


@pytest.fixture(scope="module")
def compiled():
    return _exports(vw, "jit")


def test_exports_are_called_directly(compiled):
    _, exports = compiled
    assert type(exports["add"]) is not vw.Func and isinstance(exports["add"], vw.Func)


@pytest.mark.parametrize("name,args", CALLS + [("hyp", (3, 4))])
def test_direct_calls_answer_as_the_usual_call(compiled, name: str, args: tuple):
    store, exports = compiled
    usual_store, usual = _exports(vw, "interp")
    assert type(usual["add"]) is vw.Func
    assert _outcome(store, exports, name, args) == _outcome(usual_store, usual, name, args)


@pytest.mark.parametrize("name,args", CALLS)
def test_direct_calls_answer_as_wasmtime(compiled, name: str, args: tuple):
    store, exports = compiled
    expected_store, expected = _exports(wasmtime)
    assert _outcome(store, exports, name, args) == _outcome(expected_store, expected, name, args)


def test_traps_and_wrong_arguments(compiled):
    store, exports = compiled
    with pytest.raises(vw.Trap, match="integer divide by zero"):
        exports["div"](store, 1, 0)
    with pytest.raises(vw.Trap, match="integer overflow"):
        exports["div"](store, -0x80000000, -1)
    with pytest.raises(TypeError, match="expected 2 arguments, got 1"):
        exports["add"](store, 1)
    with pytest.raises(TypeError):
        exports["add"](store, None, 2)
    assert exports["add"](store, 1, 2) == 3  # nothing left behind by the failures


def test_a_runaway_direct_call_is_interrupted(compiled):
    store, exports = compiled
    timer = threading.Timer(0.2, lambda: wasm_link.interrupt(vw.Trap("stopped by the test")))
    timer.start()
    try:
        with pytest.raises(vw.Trap, match="stopped by the test"):
            exports["spin"](store)
    finally:
        timer.cancel()
        wasm_link.clear_interrupt()


@pytest.mark.parametrize("strategy", ["interp", "jit", "auto"])
def test_a_dropped_store_frees_its_instances_and_memories(strategy: str):
    """An embedder making a store per request does not keep them: once a store and what was taken
    from it are dropped, the compiled tier's records, contexts and direct calls let them go too."""
    store, exports = _exports(vw, strategy)
    assert exports["via_host"](store, 20) == 41 and exports["add"](store, 2, 3) == 5
    table_module = vw.Module(store.engine, '(module (func $f (result i32) (i32.const 7)) (table (export "t") 1 funcref)'
                             ' (elem (i32.const 0) $f) (memory (export "m") 16))')
    vw.Linker(store.engine).instantiate(store, table_module)
    gone = weakref.ref(store._rt)
    records, contexts = len(wasm_link._by_record), len(wasm_link._instances)
    del store, exports
    gc.collect()
    assert gone() is None
    assert len(wasm_link._by_record) <= records and len(wasm_link._instances) <= contexts
