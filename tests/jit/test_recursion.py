"""Deep and runaway recursion under both tiers: compiled functions call each other directly (not
through runtime.invoke's count), so the native stack limit must end a runaway recursion with the
same "call stack exhausted" trap as the interpreter, whether the recursion is direct, indirect
(through a table) or goes through a Python host function and back; a deep but finite recursion
gives the same answer under both."""

from __future__ import annotations

import pytest

from vmstack.wasm import FuncType, Module, ValType
from vmstack.wasm.errors import Exhaustion

from .engines import engine_store_linker

i32 = ValType.i32()

WAT = """(module
  (import "host" "again" (func $again (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $ping $pong)
  (func $count (export "count") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $count (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (i32.const 1) (call $forever (i32.add (local.get 0) (i32.const 1)))))
  (func $ping (param i32) (result i32)
    (i32.add (i32.const 1) (call_indirect (type $unary) (local.get 0) (i32.const 1))))
  (func $pong (param i32) (result i32)
    (i32.add (i32.const 2) (call_indirect (type $unary) (local.get 0) (i32.const 0))))
  (func (export "ping_pong") (param i32) (result i32) (call $ping (local.get 0)))
  (func (export "through_host") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $again (i32.sub (local.get 0) (i32.const 1))))))))
"""


def _exports(strategy: str):
    engine, store, linker = engine_store_linker(strategy)
    exports = {}
    linker.define_func("host", "again", FuncType([i32], [i32]), lambda n: exports["through_host"](store, n))
    exports.update(linker.instantiate(store, Module(engine, WAT)).exports(store))
    return store, exports


def _outcome(strategy: str, export: str, arg: int) -> tuple:
    store, exports = _exports(strategy)
    try:
        result = ("result", exports[export](store, arg))
    except Exhaustion as exc:
        result = ("exhausted", exc.message, exc.backtrace[0])
    return result, exports["count"](store, 10)  # the instance still works after the trap


@pytest.mark.parametrize("export", ["forever", "ping_pong", "through_host"])
def test_runaway_recursion_is_exhaustion_under_both_tiers(export: str, collected: None) -> None:
    interp, jit = _outcome("interp", export, -1), _outcome("jit", export, -1)
    assert jit == interp
    assert interp[0][:2] == ("exhausted", "call stack exhausted")
    assert interp[1] == 10


def test_deep_finite_recursion_gives_the_same_answer() -> None:
    depth = 20_000
    assert _outcome("jit", "count", depth) == _outcome("interp", "count", depth) == (("result", depth), 10)


def test_recursion_through_the_host_is_capped_at_the_same_depth(collected: None) -> None:
    outcomes = {strategy: [_outcome(strategy, "through_host", n)[0][0] for n in (10, 998, 999, 1000, 5000)]
                for strategy in ("interp", "jit")}
    assert outcomes["jit"] == outcomes["interp"]
    assert outcomes["interp"][0] == "result" and outcomes["interp"][-1] == "exhausted"
