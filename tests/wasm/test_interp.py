"""Tier 1 interpreter: WAT programs run through decode_module + instantiate +
invoke and compared with wasmtime (the oracle) on the same binary; traps with
their spec messages and wasm backtraces; fuel; the general (flat) translation
of functions too deeply nested for CPython.
"""

from __future__ import annotations

import math
import struct

import pytest
import wasmtime

from vmstack.wasm import interp
from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import Exhaustion, OutOfFuel, Trap
from vmstack.wasm.flat import FlatTranslator
from vmstack.wasm.runtime import Store, instantiate, invoke

MASKS = {"i32": 0xFFFFFFFF, "i64": 0xFFFFFFFFFFFFFFFF}


def comparable(value: object) -> object:
    """Floats by their bits (NaNs included), everything else as is."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value)) if not math.isnan(value) else ("nan",)
    return value


class Both:
    """One binary instantiated in vmstack and in wasmtime."""

    def __init__(self, wat: str) -> None:
        binary = bytes(wasmtime.wat2wasm(wat))
        self.store = Store()
        self.inst = instantiate(self.store, decode_module(binary), [])
        self.wt_store = wasmtime.Store()
        self.wt_inst = wasmtime.Instance(self.wt_store, wasmtime.Module(self.wt_store.engine, binary), [])

    def ours(self, name: str, *args: float) -> list:
        func = self.inst.exports[name]
        internal = [a & MASKS[t] if t in MASKS else a for a, t in zip(args, func.type.params)]
        return invoke(self.store, func, internal)

    def oracle(self, name: str, *args: float) -> list:
        func = self.inst.exports[name]
        result = self.wt_inst.exports(self.wt_store)[name](self.wt_store, *args)
        values = [] if result is None else list(result) if isinstance(result, list) else [result]
        return [v & MASKS[t] if t in MASKS else v for v, t in zip(values, func.type.results)]

    def agree(self, name: str, *args: float) -> list:
        ours = self.ours(name, *args)
        assert [comparable(v) for v in ours] == [comparable(v) for v in self.oracle(name, *args)]
        return ours


def flat_only(func: object) -> object:
    return interp._build(func, FlatTranslator(func, func.instance.store.fuel is not None))


@pytest.fixture(params=["structured", "flat"])
def translation(request, monkeypatch) -> str:
    """Functions get the structured translation, or (forced) the general one."""
    if request.param == "flat":
        monkeypatch.setattr(interp, "compile_function", flat_only)
    return request.param


@pytest.fixture
def both(translation):
    return Both


RECURSION = """(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $fac (export "fac") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fac (i64.sub (local.get $n) (i64.const 1)))))))
  (func $depth (export "depth") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get $n) (i32.const 1))))))))"""


def test_recursion(both):
    prog = both(RECURSION)
    assert prog.agree("fib", 20) == [6765]
    assert prog.agree("fac", 25) == [7034535277573963776]  # wraps modulo 2**64
    assert prog.agree("depth", 30000) == [30000]  # deep recursion is fine


LOOPS = """(module
  (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.mul (local.get $i) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "collatz") (param $n i64) (result i32) (local $steps i32)
    (loop $again
      (if (i64.ne (local.get $n) (i64.const 1))
        (then
          (local.set $n (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
            (then (i64.shr_u (local.get $n) (i64.const 1)))
            (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
          (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
          (br $again))))
    (local.get $steps))
  (func (export "grid") (param $w i32) (param $h i32) (result i32) (local $x i32) (local $y i32) (local $acc i32)
    (loop $rows
      (local.set $x (i32.const 0))
      (loop $cols
        (local.set $acc (i32.xor (i32.rotl (local.get $acc) (i32.const 5)) (i32.add (local.get $x) (local.get $y))))
        (br_if $cols (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $w))))
      (br_if $rows (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $h))))
    (local.get $acc)))"""


def test_loops(both):
    prog = both(LOOPS)
    for n in (0, 1, 1000):
        prog.agree("sum", n)
    assert prog.agree("collatz", 27) == [111]
    prog.agree("grid", 37, 23)


SWITCH = """(module
  (func (export "switch") (param $i i32) (result i32) (local $r i32)
    (block $out
      (block $d (block $c (block $b (block $a
        (br_table $a $b $c $d $out (local.get $i)))
        (local.set $r (i32.const 10)) (br $out))
        (local.set $r (i32.const 20)))  ;; falls through into $c's code
        (local.set $r (i32.add (local.get $r) (i32.const 300))) (br $out))
      (local.set $r (i32.const -1)))
    (local.get $r))
  (func (export "nested") (param $x i32) (result i32)
    (block $b1 (result i32)
      (block $b2 (result i32)
        (block $b3 (result i32)
          (drop (br_if $b1 (i32.const 100) (i32.eq (local.get $x) (i32.const 1))))
          (drop (br_if $b2 (i32.const 200) (i32.eq (local.get $x) (i32.const 2))))
          (i32.const 300))
        (i32.add (i32.const 1)))
      (i32.add (i32.const 1))))
  (func (export "exits") (param $x i32) (result i32) (local $r i32)
    (block $a
      (block $b
        (local.set $r (i32.const 1))
        (br_if $b (i32.eq (local.get $x) (i32.const 0)))
        (local.set $r (i32.const 2))
        (br_if $a (i32.eq (local.get $x) (i32.const 1)))
        (local.set $r (i32.const 3))
        (br_if $b (i32.eq (local.get $x) (i32.const 2)))
        (local.set $r (i32.const 4))
        (br_if $a (i32.eq (local.get $x) (i32.const 3)))
        (if (i32.ge_u (local.get $x) (i32.const 4))
          (then (br_if 0 (i32.eq (local.get $x) (i32.const 4))) (local.set $r (i32.const 99)))
          (else (br_if 0 (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 10))))
      (local.set $r (i32.mul (local.get $r) (i32.const 7))))
    (local.get $r)))"""


def test_blocks_and_br_table(both):
    prog = both(SWITCH)
    for i in range(7):
        prog.agree("switch", i)
    for x in range(4):
        prog.agree("nested", x)
    assert [prog.agree("exits", x)[0] for x in range(6)] == [7, 2, 21, 4, 98, 763]


def loop_nest(depth: int) -> str:
    """Loops nested ``depth`` deep (more than CPython's 20 static blocks); every 10th runs twice."""
    body = "(local.set $acc (i32.add (local.get $acc) (i32.const 1)))"
    for k in reversed(range(depth)):
        runs = 2 if k % 10 == 0 else 1
        body = f"""(local.set {k} (i32.const 0))
          (loop {body}
            (local.set {k} (i32.add (local.get {k}) (i32.const 1)))
            (br_if 0 (i32.lt_u (local.get {k}) (i32.const {runs}))))"""
    return f"""(module (func (export "f") (result i32) (local {' i32' * depth}) (local $acc i32)
      {body} (local.get $acc)))"""


def big_switch(cases: int) -> str:
    """clang's shape of a switch: a br_table over ``cases`` nested blocks."""
    labels = " ".join(f"$c{k}" for k in range(cases))
    inner = f"(block $c0 (br_table {labels} $default (local.get 0)))"
    for k in range(1, cases):
        inner = f"(block $c{k} {inner} (return (i32.mul (i32.const {k - 1}) (i32.const 7))))"
    return f"""(module (func (export "f") (param i32) (result i32)
      (block $default {inner} (return (i32.const 9999)))
      (i32.const -1)))"""


def interpreter_loop(cases: int) -> str:
    """A bytecode interpreter's shape: a loop around a switch whose cases fall through, break out
    of the switch, continue the loop or leave it."""
    labels = " ".join(f"$c{k}" for k in range(cases))
    inner = f"(block $c0 (br_table {labels} $default (i32.rem_u (local.get $pc) (i32.const {cases + 3}))))"
    for k in range(1, cases + 1):
        exit_ = ["", "(br $switch)", "(br $next)", "(br_if $done (i32.gt_u (local.get $acc) (i32.const 1000000)))"][k % 4]
        inner = f"""(block $c{k} {inner}
          (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (i32.const {k}))) {exit_})"""
    return f"""(module (func (export "f") (param $n i32) (result i32) (local $pc i32) (local $acc i32)
      (block $done (loop $next
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br_if $done (i32.gt_u (local.get $pc) (local.get $n)))
        (block $switch (block $default {inner})
          (local.set $acc (i32.xor (local.get $acc) (i32.const 0x5555))))
        (local.set $acc (i32.rotl (local.get $acc) (i32.const 3)))
        (br $next)))
      (local.get $acc)))"""


def test_switch_dispatch_tree(both):
    prog = both(interpreter_loop(45))
    for n in (0, 1, 7, 200):
        prog.agree("f", n)
    plain = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))"
    for _ in range(12):  # a run of blocks nobody branches to
        plain = f"(block {plain} (local.set 0 (i32.mul (local.get 0) (i32.const 3))))"
    assert both(f'(module (func (export "f") (param i32) (result i32) {plain} (local.get 0)))').agree("f", 1) == [1062882]


def mixed_table(cases: int) -> str:
    """A br_table whose targets are a block inside a loop, the loop, and a block outside it."""
    labels = " ".join(["$out"] + [("$skip", "$top", "$out")[k % 3] for k in range(1, cases)])
    return f"""(module (func (export "f") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      (block $out (loop $top
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (block $skip
          (br_table {labels} $out (i32.rem_u (i32.mul (local.get $i) (local.get $n)) (i32.const {cases + 1}))))
        (local.set $acc (i32.mul (local.get $acc) (i32.const 3)))
        (br $top)))
      (i32.add (local.get $acc) (i32.const 1000000))))"""


def test_br_table_with_targets_of_every_kind(both):
    prog = both(mixed_table(100))
    for n in (0, 1, 2, 7, 58):
        prog.agree("f", n)


def deep_ifs(depth: int) -> str:
    """``if``s nested deeper than CPython's indentation limit."""
    body = "(local.set 1 (i32.const 1))"
    for k in range(depth):
        body = f"(if (i32.ne (local.get 0) (i32.const {k})) (then {body}) (else (local.set 1 (i32.const {k + 2}))))"
    return f'(module (func (export "f") (param i32) (result i32) (local i32) {body} (local.get 1)))'


def refused_by_structured_translation(prog: Both) -> bool:
    try:
        interp.Translator(prog.inst.exports["f"], fuel=False).translate()
    except interp.TooComplex:
        return True
    return False


def test_nesting_beyond_python_limits():
    nest = Both(loop_nest(30))
    assert refused_by_structured_translation(nest)
    assert nest.agree("f") == [8]
    switch = Both(big_switch(300))
    for i in (0, 1, 150, 298, 299, 300, 5000):
        switch.agree("f", i)
    ifs = Both(deep_ifs(150))
    assert refused_by_structured_translation(ifs)
    for x in (0, 1, 77, 149, 150):
        ifs.agree("f", x)


MULTI = """(module
  (func $divmod (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_u (local.get 0) (local.get 1)) (i32.rem_u (local.get 0) (local.get 1)))
  (func (export "swap") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func (export "use") (param i32 i32) (result i32)
    (call $divmod (local.get 0) (local.get 1))
    (block (param i32 i32) (result i32) (i32.sub))
    (loop (param i32) (result i32 i32) (i32.const 3))
    (br_if 0 (local.get 1))
    (i32.mul))
  (func (export "early") (param i32) (result i32 i32)
    (block (result i32 i32)
      (br_if 0 (i32.const 7) (i32.const 8) (local.get 0))
      (drop) (drop) (i32.const 1) (i32.const 2))))"""


def test_multi_value(both):
    prog = both(MULTI)
    assert prog.agree("divmod", 17, 5) == [3, 2]
    assert prog.agree("swap", -1, 2.5) == [2.5, 0xFFFFFFFFFFFFFFFF]
    prog.agree("use", 17, 5)
    assert prog.agree("early", 1) == [7, 8]
    assert prog.agree("early", 0) == [1, 2]


TRAPS = """(module
  (type $v (func))
  (type $i (func (result i32)))
  (memory 1)
  (table 4 funcref)
  (elem (i32.const 0) $callee)
  (func $callee (result i32) (i32.const 1))
  (func $inner (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 0)) (then unreachable))
    (if (i32.eq (local.get 0) (i32.const 1)) (then (drop (i32.div_u (i32.const 1) (i32.const 0)))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (drop (i32.trunc_f32_s (f32.const nan)))))
    (if (i32.eq (local.get 0) (i32.const 4)) (then (drop (i32.load (i32.const 65534)))))
    (if (i32.eq (local.get 0) (i32.const 5)) (then (i64.store (i32.const 65532) (i64.const -1))))
    (if (i32.eq (local.get 0) (i32.const 6)) (then (drop (table.get 0 (i32.const 4)))))
    (if (i32.eq (local.get 0) (i32.const 7)) (then (drop (call_indirect (type $i) (i32.const 9)))))
    (if (i32.eq (local.get 0) (i32.const 8)) (then (drop (call_indirect (type $i) (i32.const 1)))))
    (if (i32.eq (local.get 0) (i32.const 9)) (then (call_indirect (type $v) (i32.const 0))))
    (if (i32.eq (local.get 0) (i32.const 10)) (then (drop (i32.rem_s (i32.const 5) (i32.const 0)))))
    (if (i32.eq (local.get 0) (i32.const 11)) (then (drop (i64.trunc_f64_u (f64.const -1)))))
    (if (i32.eq (local.get 0) (i32.const 12)) (then (drop (i32.load offset=0xFFFFFFFF (i32.const 1)))))
    (i32.const 0))
  (func $outer (export "trap") (param i32) (result i32) (call $inner (local.get 0)))
  (func $peek (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func $loop (export "runaway") (call $loop)))"""

TRAP_MESSAGES = [
    "unreachable", "integer divide by zero", "integer overflow", "invalid conversion to integer",
    "out of bounds memory access", "out of bounds memory access", "out of bounds table access",
    "undefined element", "uninitialized element", "indirect call type mismatch", "integer divide by zero",
    "integer overflow", "out of bounds memory access",
]


@pytest.mark.parametrize("case", range(len(TRAP_MESSAGES)))
def test_traps(both, case):
    prog = both(TRAPS)
    with pytest.raises(Trap) as ours:
        prog.ours("trap", case)
    assert ours.value.message == TRAP_MESSAGES[case]
    assert ours.value.backtrace == ["inner", "outer"]
    with pytest.raises(wasmtime.Trap):
        prog.oracle("trap", case)


def test_trapping_store_writes_nothing():
    prog = Both(TRAPS)
    with pytest.raises(Trap):
        prog.ours("trap", 5)
    assert [prog.ours("peek", a)[0] for a in range(65532, 65536)] == [0, 0, 0, 0]


def test_runaway_recursion_is_exhaustion(both, collected):
    prog = both(TRAPS)
    with pytest.raises(Exhaustion) as ours:
        prog.ours("runaway")
    assert ours.value.message == "call stack exhausted"
    assert ours.value.backtrace[:2] == ["loop", "loop"]
    assert prog.ours("trap", 99) == [0]  # the store is still usable


MEMORY = """(module
  (memory (export "mem") 1 3)
  (data $hello "hello, world")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "init") (param i32 i32 i32) (memory.init $hello (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $hello))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_s (local.get 0)))
  (func (export "load16") (param i32) (result i64) (i64.load16_s offset=3 (local.get 0)))
  (func (export "store32") (param i32 i64) (i64.store32 (local.get 0) (local.get 1)))
  (func (export "f32bits") (param i32) (result i32)
    (f32.store (i32.const 100) (f32.load (local.get 0)))
    (i32.load (i32.const 100))))"""


def test_memory_grow_and_bulk_operations():
    prog = Both(MEMORY)
    calls = [("size",), ("grow", 1), ("size",), ("grow", 2), ("grow", 0), ("grow", 1), ("size",),
             ("init", 8, 0, 12), ("load", 8), ("load8", 9), ("copy", 10, 8, 12), ("load", 10),
             ("copy", 8, 11, 6), ("load", 8), ("fill", 6, 0xAB1, 3), ("load", 4), ("load16", 3),
             ("store32", 200, -2), ("load", 200), ("store32", 0x20000 - 4, 77), ("load", 0x20000 - 8)]
    for call in calls:
        prog.agree(*call)
    for bad in [("init", 0, 5, 8), ("fill", 0x30000, 0, 1), ("copy", 0, 0x30000 - 2, 3), ("load", 0x2FFF9)]:
        with pytest.raises(Trap, match="out of bounds memory access"):
            prog.ours(*bad)
    prog.agree("fill", 0x30000, 0, 0)  # zero-length at the very end is fine
    prog.agree("drop")
    with pytest.raises(Trap, match="out of bounds memory access"):
        prog.ours("init", 0, 0, 1)
    prog.agree("init", 0, 0, 0)


def test_f32_nan_payload_survives_memory():
    prog = Both(MEMORY)
    prog.ours("store32", 0, 0x7FA00001)  # a signalling NaN with a payload
    assert prog.ours("f32bits", 0) == [0x7FA00001]


TABLES = """(module
  (type $bin (func (param i32 i32) (result i32)))
  (table $t (export "t") 3 10 funcref)
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $bin) (i32.mul (local.get 0) (local.get 1)))
  (elem (i32.const 0) $add $sub)
  (elem $later func $mul $add)
  (elem declare func $sub)
  (func (export "apply") (param i32 i32 i32) (result i32)
    (call_indirect (type $bin) (local.get 1) (local.get 2) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $sub) (local.get 0)))
  (func (export "init") (param i32 i32 i32) (table.init $t $later (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (elem.drop $later))
  (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "set") (param i32) (table.set $t (local.get 0) (ref.func $mul))))"""


def test_tables_and_call_indirect(both):
    prog = both(TABLES)
    calls = [("apply", 0, 7, 5), ("apply", 1, 7, 5), ("size",), ("is_null", 2), ("grow", 2), ("size",),
             ("apply", 4, 7, 5), ("grow", 6), ("init", 2, 0, 2), ("apply", 2, 7, 5), ("apply", 3, 7, 5),
             ("copy", 0, 2, 3), ("apply", 0, 6, 6), ("fill", 1, 2), ("is_null", 1), ("is_null", 3),
             ("set", 1), ("apply", 1, 3, 4), ("drop",), ("init", 0, 0, 0)]
    for call in calls:
        prog.agree(*call)
    for bad, message in [(("apply", 2, 1, 1), "uninitialized element"), (("apply", 5, 1, 1), "undefined element"),
                         (("init", 0, 0, 1), "out of bounds table access"),
                         (("copy", 4, 0, 2), "out of bounds table access"),
                         (("is_null", 5), "out of bounds table access")]:
        with pytest.raises(Trap, match=message):
            prog.ours(*bad)


MISC = """(module
  (global $count (export "count") (mut i64) (i64.const 5))
  (global $k f64 (f64.const -0.0))
  (func (export "bump") (result i64) (global.set $count (i64.add (global.get $count) (i64.const 1)))
    (global.get $count))
  (func (export "k") (result f64) (global.get $k))
  (func (export "sel") (param i32) (result i64) (select (i64.const 11) (i64.const 22) (local.get 0)))
  (func (export "tsel") (param i32) (result f32) (select (result f32) (f32.const 1.5) (f32.const nan) (local.get 0)))
  (func (export "ref") (param i32) (result i32)
    (ref.is_null (select (result funcref) (ref.func $f) (ref.null func) (local.get 0))))
  (func $f (export "simd") (param i32) (result i32)
    (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4))))
  (func (export "floats") (param f32 f64) (result f64)
    (f64.add (f64.promote_f32 (f32.mul (local.get 0) (f32.const 3.3))) (f64.sqrt (local.get 1)))))"""


def test_globals_select_refs_simd_floats(both):
    prog = both(MISC)
    assert [prog.agree("bump")[0] for _ in range(3)] == [6, 7, 8]
    assert math.copysign(1.0, prog.agree("k")[0]) == -1.0
    for c in (0, 1, 7):
        prog.agree("sel", c)
        prog.agree("tsel", c)
        prog.agree("ref", c)
    assert prog.agree("simd", 0xFFFFFFFF) == [2]
    prog.agree("floats", 1.25, 2.0)
    prog.agree("floats", -0.0, -1.0)


def fueled(wat: str, fuel: int) -> tuple[Store, object]:
    store = Store()
    store.fuel = fuel
    inst = instantiate(store, decode_module(bytes(wasmtime.wat2wasm(wat))), [])
    return store, inst


def wasmtime_fuel_used(wat: str, name: str, *args: int) -> int:
    config = wasmtime.Config()
    config.consume_fuel = True
    store = wasmtime.Store(wasmtime.Engine(config))
    store.set_fuel(10**9)
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), [])
    inst.exports(store)[name](store, *args)
    return 10**9 - store.get_fuel()


def test_fuel_counts_instructions_like_wasmtime(translation):
    store, inst = fueled(LOOPS, 10**9)
    invoke(store, inst.exports["sum"], [1000])
    used = 10**9 - store.fuel
    oracle = wasmtime_fuel_used(LOOPS, "sum", 1000)
    assert 0.5 * oracle <= used <= 2 * oracle


def test_out_of_fuel_stops_a_loop(translation):
    store, inst = fueled(TRAPS.replace('(func $loop (export "runaway") (call $loop))',
                                       '(func $spin (export "spin") (loop (br 0)))'), 5000)
    with pytest.raises(OutOfFuel, match="all fuel consumed") as exc:
        invoke(store, inst.exports["spin"], [])
    assert exc.value.backtrace == ["spin"]
    assert store.fuel < 0


def test_no_fuel_code_without_fuel():
    store = Store()
    inst = instantiate(store, decode_module(bytes(wasmtime.wat2wasm(LOOPS))), [])
    source = interp.Translator(inst.exports["sum"], fuel=False).translate()
    assert "fuel" not in source
