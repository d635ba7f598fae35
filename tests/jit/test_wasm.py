"""The compiled tier through the embedding API: host functions called from compiled code (and
calling back into it), traps with their backtrace, exceptions of host code passed through,
memory growth seen by compiled code, stack exhaustion, interrupts, tiering and the disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from vmstack.jit import llvm, wasm_link
from vmstack.wasm import Config, Func, FuncType, Module, ValType, runtime
from vmstack.wasm.errors import Exhaustion, Timeout, Trap, WasmError
from vmstack.wasm.text import parse_wat
from vmstack.wasm.validate import validate_module

from .engines import engine_store_linker

i32, i64, f64 = ValType.i32(), ValType.i64(), ValType.f64()

WAT = """(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (import "host" "grow" (func $host_grow (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "call_host") (param i32) (result i32) (i32.add (call $twice (local.get 0)) (i32.const 1)))
  (func (export "store_after_host_grow") (result i32)
    (drop (call $host_grow (i32.const 2)))
    (i32.store (i32.const 131072) (i32.const 42))
    (i32.add (memory.size) (i32.load (i32.const 131072))))
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func $down (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "trap_below") (param i32) (result i32) (call $down (local.get 0)))
  (func $forever (export "forever") (call $forever))
  (func (export "spin") (loop $l (br $l)))
  (func (export "pair") (param f64) (result f64 i64) (f64.neg (local.get 0)) (i64.const -1)))
"""


def _instance(strategy: str, host_twice=None):
    engine, store, linker = engine_store_linker(strategy)
    memory = {}
    linker.define_func("host", "twice", FuncType([i32], [i32]), host_twice or (lambda x: 2 * x))

    def grow(caller, pages):
        return caller["memory"].grow(caller.store, pages)
    linker.define_func("host", "grow", FuncType([i32], [i32]), grow, access_caller=True)
    instance = linker.instantiate(store, Module(engine, WAT))
    memory["m"] = instance.exports(store)["memory"]
    return store, instance.exports(store)


@pytest.mark.parametrize("strategy", ["jit", "auto"])
def test_host_functions_and_results(strategy: str) -> None:
    store, exports = _instance(strategy)
    for _ in range(30):  # past the auto strategy's threshold: compiled by then
        assert exports["call_host"](store, 20) == 41
    assert exports["fac"](store, 20) == 2432902008176640000
    assert exports["pair"](store, 1.5) == [-1.5, -1]
    assert exports["store_after_host_grow"](store) == 3 + 42


def test_a_host_exception_reaches_the_caller_unchanged() -> None:
    def failing(x):
        raise KeyError("from the host")
    store, exports = _instance("jit", failing)
    with pytest.raises(KeyError, match="from the host"):
        exports["call_host"](store, 1)
    assert exports["fac"](store, 3) == 6  # and the instance still works


def test_a_host_calling_back_into_compiled_code() -> None:
    holder = {}

    def twice(x):
        return 2 * holder["fac"](holder["store"], x) if x < 5 else x
    store, exports = _instance("jit", twice)
    holder.update(fac=exports["fac"], store=store)
    assert exports["call_host"](store, 4) == 2 * 24 + 1


def test_a_trap_has_the_same_backtrace_as_under_the_interpreter() -> None:
    traps = {}
    for strategy in ("interp", "jit"):
        store, exports = _instance(strategy)
        with pytest.raises(Trap) as info:
            exports["trap_below"](store, 0)
        traps[strategy] = (info.value.message, info.value.backtrace)
    assert traps["jit"] == traps["interp"] == ("integer divide by zero", ["down", "trap_below"])


def test_runaway_recursion_is_a_trap_not_a_crash(collected: None) -> None:
    store, exports = _instance("jit")
    with pytest.raises(Exhaustion, match="call stack exhausted"):
        exports["forever"](store)
    assert exports["fac"](store, 5) == 120


def test_an_interrupt_stops_a_loop() -> None:
    import threading

    store, exports = _instance("jit")
    timer = threading.Timer(0.2, lambda: wasm_link.interrupt(Timeout("stop")))
    timer.start()
    with pytest.raises(Timeout, match="stop"):
        exports["spin"](store)
    wasm_link.clear_interrupt()
    assert exports["fac"](store, 2) == 2


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(WasmError, match="unknown strategy"):
        Config().strategy = "turbo"


def test_compiled_code_is_cached_on_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VMSTACK_CACHE", str(tmp_path))
    module = parse_wat("(module (func (export \"f\") (result i32) (i32.const 7)))")
    validate_module(module)

    def run() -> list:
        store = runtime.Store()
        store.engine = "jit"
        inst = runtime.instantiate(store, module, [])
        return runtime.invoke(store, inst.exports["f"], [])
    assert run() == [7]
    assert list((tmp_path / "jit").glob("*.o"))

    def no_compiling(*args):
        raise AssertionError("compiled again")
    monkeypatch.setattr(llvm, "compile_ir", no_compiling)
    assert run() == [7]  # the code already in the process
    monkeypatch.setattr(wasm_link, "_loaded_code", {})
    assert run() == [7]  # the code read back from the disk


CALL_TREES = """(module
  (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $mid (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func (export "a") (param i32) (result i32) (call $mid (local.get 0)))
  (func (export "b") (param i32) (result i32) (i32.sub (call $leaf (local.get 0)) (i32.const 1)))
  (func (export "never") (result i32) (i32.const 9)))"""


def test_a_big_module_loads_what_earlier_runs_compiled_at_instantiation(tmp_path, monkeypatch) -> None:
    """A module compiled function by function as they are first called (as a big one is) remembers
    its batches: a later run loads them all, from one shared library, when it instantiates; a
    function no run called waits for its first call; a missing object means compiling again."""
    monkeypatch.setenv("VMSTACK_CACHE", str(tmp_path))
    monkeypatch.setattr(wasm_link, "WHOLE_MODULE_LIMIT", 0)
    module = parse_wat(CALL_TREES)
    validate_module(module)
    oracle = wasmtime.Store()
    exports = wasmtime.Instance(oracle, wasmtime.Module(oracle.engine, CALL_TREES), []).exports(oracle)
    expected = [exports["a"](oracle, 5), exports["b"](oracle, 5), exports["never"](oracle)]

    def instance() -> tuple[runtime.Store, runtime.ModuleInstance]:
        store = runtime.Store()
        store.engine = "jit"
        return store, runtime.instantiate(store, module, [])

    def compiled(inst: runtime.ModuleInstance) -> set[str]:
        return {name for name, func in inst.exports.items() if func.native_code is not None}

    def results(store: runtime.Store, inst: runtime.ModuleInstance) -> list:
        return [runtime.invoke(store, inst.exports[name], list(args))[0] for name, *args in
                [("a", 5), ("b", 5), ("never",)]]

    store, inst = instance()
    assert compiled(inst) == set()
    assert results(store, inst) == expected
    (profile,) = (tmp_path / "jit").glob("*.profile.json")
    assert len(json.loads(profile.read_text())) == 3  # {a, mid, leaf}, {b}, {never}
    libraries = set((tmp_path / "jit").glob("*.so"))

    def no_compiling(*args):
        raise AssertionError("compiled again")
    with monkeypatch.context() as patched:
        patched.setattr(llvm, "compile_ir", no_compiling)
        patched.setattr(wasm_link, "_loaded_code", {})
        store, inst = instance()
        assert compiled(inst) == {"a", "b", "never"}
        assert results(store, inst) == expected
    assert len(set((tmp_path / "jit").glob("*.so")) - libraries) == 1  # the batches' one library

    for stale in [*(tmp_path / "jit").glob("*.so"), next((tmp_path / "jit").glob("*.o"))]:
        stale.unlink()
    monkeypatch.setattr(wasm_link, "_loaded_code", {})
    store, inst = instance()
    assert compiled(inst) == set()
    assert results(store, inst) == expected


_CACHED_RUN = """import sys
from vmstack.wasm import Config, Engine, Linker, Module, Store
config = Config()
config.strategy = "jit"
engine = Engine(config)
store = Store(engine)
wat = '(module (func (export "f") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 6))))'
exports = Linker(engine).instantiate(store, Module(engine, wat)).exports(store)
print(exports["f"](store, 7), "llvmlite.binding" in sys.modules)
"""


def _cached_run(cache: Path, path: str) -> str:
    env = {**os.environ, "VMSTACK_CACHE": str(cache), "PATH": path}
    return subprocess.run([sys.executable, "-c", _CACHED_RUN], env=env, capture_output=True, text=True,
                          check=True, timeout=300).stdout


def test_a_run_from_the_cache_does_not_load_llvm(tmp_path: Path) -> None:
    """The code is cached as shared libraries too (linked when a run first reads an object back):
    later runs dlopen them and never import llvmlite's binding. Without a C compiler, objects go
    into MCJIT, with the same results."""
    assert _cached_run(tmp_path / "linked", os.environ["PATH"]) == "42 True\n"
    assert _cached_run(tmp_path / "linked", os.environ["PATH"]) == "42 False\n"
    assert list((tmp_path / "linked" / "jit").glob("*.so"))
    assert _cached_run(tmp_path / "linked", os.environ["PATH"]) == "42 False\n"
    no_compiler = str(tmp_path / "empty")
    first, second = (_cached_run(tmp_path / "unlinked", no_compiler) for _ in range(2))
    assert first == second == "42 True\n"
    assert not list((tmp_path / "unlinked" / "jit").glob("*.so"))


def test_cache_keys_cover_cpu_and_opt_level() -> None:
    assert llvm.cache_key(b"m", 2) != llvm.cache_key(b"m", 1)
    assert llvm.host_cpu().split(":")[0]


def test_exports_work_as_funcs_from_python() -> None:
    store, exports = _instance("jit")
    assert isinstance(exports["fac"], Func)
    with pytest.raises(TypeError):
        exports["fac"](store)


@pytest.mark.parametrize("strategy", ["jit", "auto"])
def test_simd_functions_are_compiled_and_called_like_any_other(strategy: str) -> None:
    """A function with SIMD instructions is compiled too (hot, under "auto"); compiled code calls it."""
    wat = """(module
      (func $lanes (param i32) (result i32)
        (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4))))
      (func (export "run") (param i32) (result i32) (i32.mul (call $lanes (local.get 0)) (i32.const 10))))"""
    module = parse_wat(wat)
    validate_module(module)
    store = runtime.Store()
    store.engine = strategy
    inst = runtime.instantiate(store, module, [])
    for _ in range(25):
        assert runtime.invoke(store, inst.exports["run"], [5]) == [80]
    assert inst.funcs[0].native_code is not None
