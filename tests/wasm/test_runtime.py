"""The runtime store: instantiation (import matching, segment initialisation in
the 2.0 order with partial effects, start function), host functions, memory
and table instances, store limits, and invoke's result shapes.
"""

from __future__ import annotations

import pytest
import wasmtime

from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import Exhaustion, LinkError, MemoryLimitExceeded, Trap, WasmError
from vmstack.wasm.module import FuncType, GlobalType, Limits, MemoryType, TableType
from vmstack.wasm.runtime import (
    GlobalInst,
    HostFunc,
    MemInst,
    Store,
    TableInst,
    WasmFunc,
    instantiate,
    invoke,
)


def load(wat: str, imports: list | None = None, store: Store | None = None):
    store = store or Store()
    return store, instantiate(store, decode_module(bytes(wasmtime.wat2wasm(wat))), imports or [])


HOST = """(module
  (import "env" "pair" (func $pair (param i32 f64) (result i64 f64)))
  (import "env" "log" (func $log (param i64)))
  (import "env" "seven" (func $seven (result i32)))
  (func (export "go") (param i32) (result i64 f64 i32)
    (call $log (i64.const -1))
    (call $pair (local.get 0) (f64.const 0.5))
    (call $seven)))"""


def test_host_functions_take_and_return_internal_values():
    logged = []
    imports = [
        HostFunc(FuncType(("i32", "f64"), ("i64", "f64")), lambda a, b: (a * 2, b + 1)),
        HostFunc(FuncType(("i64",), ()), logged.append),
        HostFunc(FuncType((), ("i32",)), lambda: 7),
    ]
    store, inst = load(HOST, imports)
    assert invoke(store, inst.exports["go"], [0xFFFFFFFF]) == [0x1FFFFFFFE, 1.5, 7]
    assert logged == [0xFFFFFFFFFFFFFFFF]  # unsigned canonical, not -1


def test_host_trap_propagates():
    def fail(_: int) -> None:
        raise Trap("host says no")

    imports = [HostFunc(FuncType(("i32", "f64"), ("i64", "f64")), lambda a, b: (a, b)),
               HostFunc(FuncType(("i64",), ()), fail), HostFunc(FuncType((), ("i32",)), lambda: 7)]
    store, inst = load(HOST, imports)
    with pytest.raises(Trap, match="host says no"):
        invoke(store, inst.exports["go"], [1])


IMPORTS_ALL = """(module
  (import "m" "f" (func (param i32) (result i32)))
  (import "m" "t" (table 2 10 funcref))
  (import "m" "mem" (memory 1 4))
  (import "m" "g" (global (mut i64))))"""


def good_imports() -> list:
    return [HostFunc(FuncType(("i32",), ("i32",)), lambda x: x),
            TableInst(TableType("funcref", Limits(3, 8))),
            MemInst(MemoryType(Limits(2, 3))),
            GlobalInst(GlobalType("i64", True), 0)]


BAD_IMPORTS = {
    "missing": (0, None),
    "func type": (0, HostFunc(FuncType(("i64",), ("i32",)), lambda x: x)),
    "not a func": (0, GlobalInst(GlobalType("i32", False), 0)),
    "table too small": (1, TableInst(TableType("funcref", Limits(1, 8)))),
    "table unbounded": (1, TableInst(TableType("funcref", Limits(3, None)))),
    "table max too big": (1, TableInst(TableType("funcref", Limits(3, 11)))),
    "table elemtype": (1, TableInst(TableType("externref", Limits(3, 8)))),
    "memory too small": (2, MemInst(MemoryType(Limits(0, 3)))),
    "memory unbounded": (2, MemInst(MemoryType(Limits(1, None)))),
    "global immutable": (3, GlobalInst(GlobalType("i64", False), 0)),
    "global type": (3, GlobalInst(GlobalType("i32", True), 0)),
}


def test_import_matching_accepts_subtypes():
    _, inst = load(IMPORTS_ALL, good_imports())
    assert inst.mems[0].size() == 2 and len(inst.tables[0].elements) == 3


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_link_errors(case):
    position, item = BAD_IMPORTS[case]
    imports = good_imports()
    imports[position] = item
    expected = "unknown import m.f" if item is None else "incompatible import type for m."
    with pytest.raises(LinkError, match=expected):
        load(IMPORTS_ALL, imports)


def test_wrong_number_of_imports():
    with pytest.raises(LinkError):
        load(IMPORTS_ALL, good_imports()[:3])


SEGMENTS = """(module
  (import "m" "t" (table 4 funcref))
  (import "m" "mem" (memory 1))
  (func $a) (func $b)
  (elem (i32.const 0) $a)
  (elem (i32.const 3) $b $b)
  (data (i32.const 0) "first")
  (data (i32.const 65534) "xyz"))"""

SEGMENTS_DATA_ONLY = SEGMENTS.replace("(elem (i32.const 3) $b $b)", "(elem (i32.const 2) $b $b)")


def test_segments_apply_in_order_with_partial_effects():
    table = TableInst(TableType("funcref", Limits(4)))
    memory = MemInst(MemoryType(Limits(1)))
    with pytest.raises(Trap, match="out of bounds table access"):
        load(SEGMENTS, [table, memory])
    assert isinstance(table.elements[0], WasmFunc) and table.elements[3] is None
    assert memory.data[:5] == bytes(5)  # data segments come after the elements: never reached

    with pytest.raises(Trap, match="out of bounds memory access"):
        load(SEGMENTS_DATA_ONLY, [table, memory])
    assert [f.name for f in table.elements[2:]] == ["b", "b"]
    assert memory.data[:5] == b"first" and memory.data[65534:] == bytes(2)


def test_start_function_runs_and_its_trap_fails_instantiation():
    wat = """(module (memory (export "m") 1) (func $init (i32.store (i32.const 8) (i32.const 42))) (start $init))"""
    _, inst = load(wat)
    assert inst.exports["m"].data[8] == 42
    with pytest.raises(Trap, match="unreachable"):
        load("(module (func $s unreachable) (start $s))")
    with pytest.raises(Exhaustion):
        load("(module (func $s (call $s)) (start $s))")


DROPPED = """(module
  (memory 1)
  (table 2 funcref)
  (func $f)
  (data (i32.const 0) "active")
  (data $p "passive")
  (elem (i32.const 0) $f)
  (elem declare func $f)
  (func (export "init_data") (param i32 i32) (memory.init 0 (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "init_passive") (param i32) (memory.init $p (i32.const 0) (i32.const 0) (local.get 0)))
  (func (export "init_elem") (param i32) (table.init 0 (i32.const 0) (i32.const 0) (local.get 0)))
  (func (export "init_declared") (param i32) (table.init 1 (i32.const 0) (i32.const 0) (local.get 0))))"""


def test_active_and_declarative_segments_are_dropped():
    store, inst = load(DROPPED)
    invoke(store, inst.exports["init_passive"], [7])
    assert inst.mems[0].data[:7] == b"passive"
    for name in ("init_data", "init_elem", "init_declared"):
        args = [0, 0] if name == "init_data" else [0]
        assert invoke(store, inst.exports[name], args) == []  # an empty copy from a dropped segment is fine
        with pytest.raises(Trap, match="out of bounds"):
            invoke(store, inst.exports[name], [0, 1] if name == "init_data" else [1])


def test_shared_memory_table_and_global_between_instances():
    producer = """(module (memory (export "mem") 1) (global (export "g") (mut i32) (i32.const 1))
      (table (export "t") 1 funcref) (func $seven (result i32) (i32.const 7)) (elem (i32.const 0) $seven)
      (func (export "peek") (result i32) (i32.load (i32.const 16))))"""
    consumer = """(module (import "p" "mem" (memory 1)) (import "p" "g" (global $g (mut i32)))
      (import "p" "t" (table 1 funcref)) (type $r (func (result i32)))
      (func (export "poke") (i32.store (i32.const 16) (i32.add (global.get $g) (call_indirect (type $r) (i32.const 0))))
        (global.set $g (i32.const 100))))"""
    store, p = load(producer)
    _, c = load(consumer, [p.exports["mem"], p.exports["g"], p.exports["t"]], store)
    invoke(store, c.exports["poke"], [])
    assert invoke(store, p.exports["peek"], []) == [8]
    assert p.exports["g"].value == 100


def test_calls_across_instances_translate_once():
    store, lib = load('(module (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))')
    _, user = load("""(module (import "lib" "inc" (func $inc (param i32) (result i32)))
      (func (export "twice") (param i32) (result i32) (call $inc (call $inc (local.get 0)))))""",
                   [lib.exports["inc"]], store)
    assert invoke(store, user.exports["twice"], [5]) == [7]
    assert user.callables[0] is lib.exports["inc"].call is lib.callables[0]  # both lists hold the translation


def test_invoke_result_shapes():
    store, inst = load("""(module (func (export "none")) (func (export "one") (result i32) (i32.const 1))
      (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2)))""")
    assert invoke(store, inst.exports["none"], []) == []
    assert invoke(store, inst.exports["one"], []) == [1]
    assert invoke(store, inst.exports["two"], []) == [1, 2]


def test_recursion_through_host_functions_is_bounded(collected):
    wat = """(module (import "h" "down" (func $down (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) (call $down (local.get 0))))"""
    functions = {}

    def down(n: int) -> int:
        return 0 if n == 0 else invoke(store, functions["f"], [n - 1])[0] + 1

    store, inst = load(wat, [HostFunc(FuncType(("i32",), ("i32",)), down)])
    functions["f"] = inst.exports["f"]
    assert invoke(store, functions["f"], [300]) == [300]
    with pytest.raises(Exhaustion, match="call stack exhausted"):
        invoke(store, functions["f"], [100_000])


def test_growing_a_memory_the_embedder_holds_a_view_of_fails_cleanly():
    store, inst = load('(module (memory (export "m") 1) (func (export "grow") (result i32) (memory.grow (i32.const 1))))')
    view = memoryview(inst.exports["m"].data)
    assert invoke(store, inst.exports["grow"], []) == [0xFFFFFFFF]
    view.release()
    assert invoke(store, inst.exports["grow"], []) == [1]


def test_invoke_checks_the_number_of_arguments():
    store, inst = load('(module (func (export "one") (param i32)))')
    with pytest.raises(WasmError, match="takes 1 arguments, 0 given"):
        invoke(store, inst.exports["one"], [])


def test_huge_tables_and_memories_are_refused_cleanly():
    with pytest.raises(LinkError, match="exceeds the limit"):
        load("(module (table 0xFFFFFFFF funcref))")
    store, inst = load('(module (table 1 funcref) (func (export "grow") (result i32) '
                       '(table.grow (ref.null func) (i32.const 0x7FFFFFFF))))')
    assert invoke(store, inst.exports["grow"], []) == [0xFFFFFFFF]


def test_memory_instance_grow():
    memory = MemInst(MemoryType(Limits(1, 3)))
    assert (memory.grow(1), memory.size(), memory.grow(2), memory.grow(1), memory.size()) == (1, 2, -1, 2, 3)
    unbounded = MemInst(MemoryType(Limits(0)))
    assert unbounded.grow(65537) == -1 and unbounded.grow(0) == 0


def test_memory_growth_keeps_the_bytes_and_adds_zeros():
    # the new pages are zero, also where the host's allocator reuses dirty memory (small buffers)
    memory = MemInst(MemoryType(Limits(1)))
    memory.data[:4] = b"wasm"
    memory.data[-1] = 0xFF
    for pages in (1, 1, 40):
        dirty = [bytearray(b"\xAA" * 100_000) for _ in range(16)]
        del dirty
        memory.grow(pages)
        assert memory.data[:4] == b"wasm" and memory.data[65535] == 0xFF
        assert memory.data.count(0) == len(memory.data) - 5
    assert memory.size() == 43


def test_store_memory_limit():
    store = Store()
    store.max_memory_bytes = 3 * 65536
    _, inst = load("""(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))""",
                   store=store)
    assert invoke(store, inst.exports["grow"], [2]) == [1]
    with pytest.raises(MemoryLimitExceeded):
        invoke(store, inst.exports["grow"], [1])
    with pytest.raises(MemoryLimitExceeded):
        load("(module (memory 4))", store=store)


def test_table_instance_grow():
    table = TableInst(TableType("externref", Limits(1, 4)), None)
    assert table.grow(2, "x") == 1 and table.elements == [None, "x", "x"]
    assert table.grow(2, None) == -1 and table.grow(1, None) == 3 and len(table.elements) == 4
