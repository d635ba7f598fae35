"""The validator: each class of invalid module the spec defines is rejected with
a spec-like message, and the tricky valid cases (polymorphic stack, multi-value
blocks, declared references, constant expressions) are accepted."""

from __future__ import annotations

import pytest

from tests.wasm.test_binary import func_module, wat_to_wasm
from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import ValidationError
from vmstack.wasm.validate import validate_module

V128_ZERO = "(v128.const i64x2 0 0)"

INVALID = {
    "result type": ("(func (result i32) (i64.const 0))", "type mismatch"),
    "operand underflow": ("(func (drop (i32.eqz)))", "type mismatch"),
    "values left at end": ("(func (i32.const 1))", "type mismatch"),
    "block result": ("(func (block (result i32) (f32.const 0)) (drop))", "type mismatch"),
    "if without else changes types": ("(func (result i32) (if (result i32) (i32.const 1) (then (i32.const 1))))",
                                      "type mismatch"),
    "if condition": ("(func (if (f32.const 0) (then)))", "type mismatch"),
    "br value": ("(func (result i32) (block (result i32) (br 0 (i64.const 1))))", "type mismatch"),
    "br_table arity": (("(func (block (result i32) (block (br_table 0 1 (i32.const 0) (i32.const 0)))"
                       " (i32.const 1)) (drop))"), "type mismatch"),
    "return value": ("(func (result i32) (return (f64.const 0)))", "type mismatch"),
    "call arguments": ("(func $f (param i32)) (func (call $f (i64.const 0)))", "type mismatch"),
    "unknown local": ("(func (drop (local.get 3)))", "unknown local 3"),
    "unknown global": ("(func (drop (global.get 2)))", "unknown global 2"),
    "unknown function": ("(func (call 7))", "unknown function 7"),
    "unknown label": ("(func (br 2))", "unknown label 2"),
    "unknown table": ("(func (drop (table.get 0 (i32.const 0))))", "unknown table 0"),
    "unknown memory": ("(func (drop (i32.load (i32.const 0))))", "unknown memory 0"),
    "unknown memory for memory.size": ("(func (drop (memory.size)))", "unknown memory 0"),
    "unknown type": ("(table 1 funcref) (func (call_indirect (type 9) (i32.const 0)))", "unknown type 9"),
    "unknown data segment": ("(memory 1) (func (data.drop 0))", "unknown data segment 0"),
    "unknown elem segment": ("(func (elem.drop 0))", "unknown elem segment 0"),
    "alignment": ("(memory 1) (func (drop (i32.load align=8 (i32.const 0))))",
                  "alignment must not be larger than natural"),
    "simd alignment": (f"(memory 1) (func (drop (v128.load8_lane align=2 0 (i32.const 0) {V128_ZERO})))",
                       "alignment must not be larger than natural"),
    "immutable global": ("(global i32 (i32.const 0)) (func (global.set 0 (i32.const 1)))",
                         "global is immutable"),
    "select on references": ("(func (drop (select (ref.null func) (ref.null func) (i32.const 1))))",
                             "type mismatch"),
    "typed select arity": (("(func (select (result i32 i32) (i32.const 0) (i32.const 0) (i32.const 0)"
                           " (i32.const 0) (i32.const 0)) (drop) (drop))"), "invalid result arity"),
    "undeclared function reference": ("(func $f (drop (ref.func $f)))", "undeclared function reference"),
    "call_indirect on externref table": ("(table 1 externref) (func (call_indirect (i32.const 0)))",
                                         "type mismatch"),
    "table.init type": (("(table 1 funcref) (elem externref) (func (table.init 0 0 (i32.const 0) (i32.const 0)"
                        " (i32.const 0)))"), "type mismatch"),
    "table.copy type": (("(table 1 funcref) (table 1 externref) (func (table.copy 0 1 (i32.const 0)"
                        " (i32.const 0) (i32.const 0)))"), "type mismatch"),
    "table.set type": ("(table 1 externref) (func (table.set 0 (i32.const 0) (ref.null func)))",
                       "type mismatch"),
    "ref.is_null on a number": ("(func (drop (ref.is_null (i32.const 0))))", "type mismatch"),
    "constant expression required": ("(global i32 (i32.add (i32.const 1) (i32.const 2)))",
                                     "constant expression required"),
    "mutable global in constant": ("(import \"m\" \"g\" (global (mut i32))) (global i32 (global.get 0))",
                                   "constant expression required"),
    "defined global in constant": ("(global i32 (i32.const 0)) (global i32 (global.get 0))", "unknown global 0"),
    "constant type": ("(global i64 (i32.const 0))", "type mismatch"),
    "data offset type": ("(memory 1) (data (i64.const 0) \"\")", "type mismatch"),
    "elem and table types": ("(table 1 externref) (func $f) (elem (i32.const 0) func $f)", "type mismatch"),
    "memory too large": ("(memory 65537)", "memory size must be at most 65536 pages"),
    "memory maximum too large": ("(memory 0 65537)", "memory size must be at most 65536 pages"),
    "memory min over max": ("(memory 2 1)", "size minimum must not be greater than maximum"),
    "table min over max": ("(table 2 1 funcref)", "size minimum must not be greater than maximum"),
    "start function type": ("(func $s (param i32)) (start $s)", "start function must have type [] -> []"),
    "unknown start function": ("(start 3)", "unknown function 3"),
    "duplicate export": ("(func $f) (export \"a\" (func $f)) (export \"a\" (func $f))", "duplicate export name"),
    "export of unknown function": ("(export \"a\" (func 4))", "unknown function 4"),
}


def assemble(fields: str, *flags: str) -> bytes:
    return wat_to_wasm(f"(module {fields})", "--no-check", *flags)


def invalid(data: bytes, message: str) -> ValidationError:
    mod = decode_module(data)
    with pytest.raises(ValidationError) as info:
        validate_module(mod)
    assert message in info.value.message
    return info.value


@pytest.mark.parametrize("fields, message", INVALID.values(), ids=INVALID.keys())
def test_invalid(fields: str, message: str) -> None:
    invalid(assemble(fields), message)


LANE_CASES = {  # instruction with lane 0, its opcode bytes, an out-of-range lane
    "i8x16.extract_lane_s": (f"(i8x16.extract_lane_s 0 {V128_ZERO})", b"\xfd\x15", 16),
    "i16x8.replace_lane": (f"(i16x8.replace_lane 0 {V128_ZERO} (i32.const 0))", b"\xfd\x1a", 8),
    "f64x2.extract_lane": (f"(f64x2.extract_lane 0 {V128_ZERO})", b"\xfd\x21", 2),
}


@pytest.mark.parametrize("instr, opcode, lane", LANE_CASES.values(), ids=LANE_CASES.keys())
def test_lane_index_out_of_range(instr: str, opcode: bytes, lane: int) -> None:
    """wat2wasm refuses such lanes, so the lane byte of a valid module is patched."""
    good = assemble(f"(func (drop {instr}))")
    validate_module(decode_module(good))
    at = good.index(opcode + b"\x00") + len(opcode)
    invalid(good[:at] + bytes([lane]) + good[at + 1:], "invalid lane index")


def test_shuffle_lane_out_of_range() -> None:
    shuffle = "i8x16.shuffle " + " ".join(["0"] * 16)
    good = assemble(f"(func (drop ({shuffle} {V128_ZERO} {V128_ZERO})))")
    at = good.index(b"\xfd\x0d") + 2
    invalid(good[:at] + b"\x20" + good[at + 1:], "invalid lane index")


def test_multiple_memories() -> None:
    invalid(assemble("(memory 1) (memory 1)", "--enable-multi-memory"), "multiple memories")


def test_else_without_if() -> None:
    invalid(func_module(b"\x05\x0b"), "else without matching if")


def test_error_names_function_and_offset() -> None:
    data = assemble('(import "m" "f" (func)) (func) (func (result i32) (nop) (i64.const 0))')
    mod = decode_module(data)
    error = invalid(data, "type mismatch")
    assert error.func == 2
    assert error.offset == mod.funcs[1].offsets[-1]  # the final `end` finds the i64 where an i32 belongs


VALID = {
    "polymorphic after unreachable": "(func (result i32) (unreachable) (i32.add))",
    "polymorphic after br": "(func (result i32) (block (result i32) (br 0 (i32.const 1)) (i32.add)))",
    "polymorphic select": "(func (result i32) (unreachable) (select))",
    "polymorphic br_table": "(func (result i32) (block (result i32) (unreachable) (br_table 0 0)))",
    "br_table to loop and block": "(func (block (loop (br_table 0 1 (i32.const 0)))))",
    "multi-value block": "(type $t (func (param i32 i64) (result i64 i32))) (func (result i64 i32)"
                         " (i32.const 1) (i64.const 2) (block (type $t) (drop) (drop) (i64.const 3) (i32.const 4)))",
    "loop with parameters": "(type $t (func (param i32))) (func (i32.const 0) (loop (type $t) (br_if 0 (i32.const 1)) (drop)))",
    "if without else keeping parameters": "(type $t (func (param i32) (result i32)))"
                                          " (func (result i32) (i32.const 1) (if (type $t) (i32.const 0) (then)))",
    "typed select of references": "(func (result funcref) (select (result funcref) (ref.null func)"
                                  " (ref.null func) (i32.const 0)))",
    "ref.func declared by elem": "(func $f (drop (ref.func $f))) (elem declare func $f)",
    "ref.func declared by export": "(func $f (drop (ref.func $f))) (export \"f\" (func $f))",
    "ref.func declared by global": "(func $f (drop (ref.func $f))) (global funcref (ref.func $f))",
    "imported constant global": "(import \"m\" \"g\" (global i32)) (memory 1) (global i32 (global.get 0))"
                                " (data (global.get 0) \"x\")",
    "memory of 65536 pages": "(memory 0 65536)",
    "table.init and copy": "(table $t 2 funcref) (elem $e func) (func (table.init $t $e (i32.const 0)"
                           " (i32.const 0) (i32.const 0)) (table.copy (i32.const 0) (i32.const 0) (i32.const 0)))",
    "bulk memory": "(memory 1) (data $d \"ab\") (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 2))"
                   " (data.drop $d) (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)))",
    "simd lanes": f"(memory 1) (func (drop (i8x16.extract_lane_u 15 {V128_ZERO}))"
                  f" (drop (v128.load64_lane align=8 1 (i32.const 0) {V128_ZERO})))",
}


@pytest.mark.parametrize("fields", VALID.values(), ids=VALID.keys())
def test_valid(fields: str) -> None:
    validate_module(decode_module(assemble(fields)))
