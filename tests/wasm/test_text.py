"""The WAT parser: each syntax area parsed into the Module model, checked against
wat2wasm where a binary says it best, and malformed text rejected with DecodeError.
"""

from __future__ import annotations

import struct

import pytest

from tests.wasm.test_encode import assert_like_wabt
from vmstack.wasm.errors import DecodeError
from vmstack.wasm.module import Export, FuncType, Import, Limits, MemoryType, TableType
from vmstack.wasm.numeric import f32_to_bits, f64_to_bits
from vmstack.wasm.text import parse_wat


def body(source: str, index: int = 0) -> list[tuple]:
    """The instructions of function `index` (without the final end)."""
    return parse_wat(source).funcs[index].body[:-1]


def const(op: str, literal: str) -> int:
    """The bit pattern (or unsigned value) a `t.const literal` parses to."""
    value = body(f"(func (drop ({op} {literal})))")[0][1]
    if op == "f32.const":
        return f32_to_bits(value)
    if op == "f64.const":
        return f64_to_bits(value)
    return value


# ---- module fields and abbreviations

def test_fields_alone_or_in_a_module_are_the_same_module():
    assert parse_wat("(func (export \"f\"))") == parse_wat("(module (func (export \"f\")))")


def test_inline_exports_and_imports_on_every_kind():
    m = parse_wat("""
        (func $f (import "m" "f") (param i32))
        (table (export "t1") (export "t2") (import "m" "t") 1 funcref)
        (memory (import "m" "mem") 1 2)
        (global $g (export "g") (import "m" "g") (mut f64))
        (func (export "h") (result i32) (global.get $g) drop (i32.const 0))""")
    assert m.imports == [Import("m", "f", "func", 0), Import("m", "t", "table", TableType("funcref", Limits(1))),
                         Import("m", "mem", "memory", MemoryType(Limits(1, 2))),
                         Import("m", "g", "global", m.imports[3].desc)]
    assert m.imports[3].desc.mutable
    assert m.exports == [Export("t1", "table", 0), Export("t2", "table", 0), Export("g", "global", 0),
                         Export("h", "func", 1)]


def test_exports_keep_textual_order():
    m = parse_wat('(export "a" (func 1)) (func (export "b")) (func) (export "c" (func 0))')
    assert [e.name for e in m.exports] == ["a", "b", "c"]


def test_inline_elem_and_data_become_segments_in_textual_order():
    m = parse_wat("""
        (elem $first (i32.const 0) $f)
        (table $t funcref (elem $f $f $f))
        (memory (data "ab" "cd"))
        (func $f (table.init $t 1 (i32.const 0) (i32.const 0) (i32.const 0)))""")
    assert m.tables[0] == TableType("funcref", Limits(3, 3))
    assert [len(e.init) for e in m.elems] == [1, 3]
    assert m.elems[1].table == 0 and m.elems[1].offset == [("i32.const", 0), ("end",)]
    assert m.memories[0] == MemoryType(Limits(1, 1))
    assert m.datas[0].init == b"abcd"
    assert m.funcs[0].body[3] == ("table.init", 1, 0)


def test_elem_and_data_forms():
    m = parse_wat("""
        (table $t 2 funcref) (memory $m 1) (func $f)
        (elem (i32.const 0) $f 0)
        (elem (table $t) (offset (i32.const 1)) funcref (ref.func $f) (item ref.null func))
        (elem $pass externref (ref.null extern))
        (elem declare func $f)
        (data (memory $m) (offset (i32.const 2)) "x") (data $p "y" "z")""")
    ref_f = [("ref.func", 0), ("end",)]
    assert [(e.mode, e.elemtype, e.table) for e in m.elems] == [
        ("active", "funcref", 0), ("active", "funcref", 0), ("passive", "externref", 0),
        ("declarative", "funcref", 0)]
    assert m.elems[0].init == [ref_f, ref_f]
    assert m.elems[1].init == [ref_f, [("ref.null", "funcref"), ("end",)]]
    assert m.elems[1].offset == [("i32.const", 1), ("end",)]
    assert m.elems[3].init == [ref_f]
    assert [(d.mode, d.init) for d in m.datas] == [("active", b"x"), ("passive", b"yz")]


def test_implicit_types_are_appended_in_order_of_appearance():
    m = parse_wat("""
        (func (param i32) (block (result i32 i64) unreachable) drop drop)
        (type (func (result f32)))
        (func (param i32))
        (func (call_indirect (param f64) (f64.const 0) (i32.const 0)))
        (table 1 funcref)""")
    assert m.types == [FuncType((), ("f32",)), FuncType(("i32",), ()), FuncType((), ("i32", "i64")),
                       FuncType((), ()), FuncType(("f64",), ())]
    assert [f.type_index for f in m.funcs] == [1, 1, 3]
    assert m.funcs[2].body[2] == ("call_indirect", 4, 0)


def test_type_use_with_matching_inline_signature_and_param_names():
    m = parse_wat("(type $t (func (param i32 i32))) (func (type $t) (param $a i32) (param $b i32) (local.get $b))")
    assert m.funcs[0].type_index == 0
    assert m.funcs[0].body[0] == ("local.get", 1)


def test_imports_must_precede_definitions():
    with pytest.raises(DecodeError, match="import after"):
        parse_wat('(func) (func (import "m" "f"))')
    with pytest.raises(DecodeError, match="import after"):
        parse_wat('(memory 1) (import "m" "g" (global i32))')


def test_names_become_name_section_contents():
    m = parse_wat("(module $demo (func $main (param $x i32) (local $tmp i64)) (func) (func $last))")
    assert m.names.module == "demo"
    assert m.names.funcs == {0: "main", 2: "last"}
    assert m.names.locals == {0: {0: "x", 1: "tmp"}}


def test_symbolic_names_in_every_index_space():
    m = parse_wat("""
        (type $sig (func))
        (table $tab 1 funcref) (memory $mem 1) (global $glob (mut i32) (i32.const 0))
        (elem $seg func $fn) (data $bytes "x")
        (func $fn (type $sig) (local $l i32)
          (global.set $glob (local.get $l))
          (call_indirect $tab (type $sig) (i32.const 0))
          (elem.drop $seg) (data.drop $bytes) (call $fn))
        (start $fn) (export "mem" (memory $mem))""")
    assert m.funcs[0].body[:-1] == [("local.get", 0), ("global.set", 0), ("i32.const", 0),
                                    ("call_indirect", 0, 0), ("elem.drop", 0), ("data.drop", 0), ("call", 0)]
    assert m.start == 0


# ---- instructions

def test_folded_instructions_unfold_operands_first():
    assert body("(func (result i32) (i32.add (i32.const 1) (i32.mul (i32.const 2) (i32.const 3))))") == [
        ("i32.const", 1), ("i32.const", 2), ("i32.const", 3), ("i32.mul",), ("i32.add",)]


def test_folded_if_with_condition_then_else():
    assert body("(func (param i32) (if $l (local.get 0) (then (br $l)) (else nop)))") == [
        ("local.get", 0), ("if", None), ("br", 0), ("else",), ("nop",), ("end",)]


def test_label_shadowing_and_depths():
    code = body("""(func
        (block $a (block $b (block $a (br $a) (br $b) (br 2))))
        (loop $a (br $a)))""")
    assert [i for i in code if i[0] == "br"] == [("br", 0), ("br", 1), ("br", 2), ("br", 0)]


def test_end_and_else_labels_must_match():
    assert body("(func block $x end $x loop $y end if $z (result i32) i32.const 1 else $z i32.const 2 end $z drop)")
    for bad in ("(func block $x end $y)", "(func block end $x)", "(func (i32.const 0) if $a else $b end)"):
        with pytest.raises(DecodeError, match="mismatching label"):
            parse_wat(bad)


def test_br_table_and_unknown_label():
    assert body("(func (block $a (block $b (br_table $a $b 0 (i32.const 0)))))")[3] == ("br_table", (1, 0), 0)
    with pytest.raises(DecodeError, match="unknown label"):
        parse_wat("(func (block $a (br $b)))")


def test_memarg_offset_and_alignment():
    code = body("(memory 1) (func (i64.store offset=8 align=4 (i32.const 0) (i64.const 0)) "
                "(drop (i32.load16_u (i32.const 0))) (drop (f64.load offset=0x10 align=1 (i32.const 0))))")
    assert code[2] == ("i64.store", 2, 8)
    assert code[4] == ("i32.load16_u", 1, 0)
    assert code[7] == ("f64.load", 0, 16)
    for bad in ("align=3", "align=0", "align=1 offset=0", "offset=-1", "offset=0x1_0000_0000"):
        with pytest.raises(DecodeError):
            parse_wat(f"(memory 1) (func (drop (i32.load {bad} (i32.const 0))))")


def test_typed_select_ref_null_and_table_defaults():
    code = body("(table 1 funcref) (elem func) (func (result i32) (ref.null extern) (ref.null func) "
                "(table.copy) (table.init 0) (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)))")
    assert ("ref.null", "externref") in code and ("ref.null", "funcref") in code
    assert ("table.copy", 0, 0) in code and ("table.init", 0, 0) in code
    assert code[-1] == ("select", ("i32",))


def test_call_indirect_table_and_type_use():
    code = body("(table $a 1 funcref) (table $b 1 funcref) (type $t (func (param i32))) "
                "(func (call_indirect $b (type $t) (param i32) (i32.const 0) (i32.const 0)))")
    assert code[-1] == ("call_indirect", 0, 1)


# ---- literals

@pytest.mark.parametrize(("op", "literal", "value"), [
    ("i32.const", "0xffff_ffff", 0xFFFFFFFF), ("i32.const", "-0x8000_0000", 0x80000000),
    ("i32.const", "-1", 0xFFFFFFFF), ("i32.const", "+42", 42), ("i32.const", "4_294_967_295", 0xFFFFFFFF),
    ("i64.const", "-9223372036854775808", 1 << 63), ("i64.const", "0xFFFFFFFFFFFFFFFF", (1 << 64) - 1),
])
def test_integer_literals(op, literal, value):
    assert const(op, literal) == value


@pytest.mark.parametrize(("literal", "bits"), [
    ("-0", 0x80000000), ("0.0", 0), ("inf", 0x7F800000), ("-inf", 0xFF800000),
    ("nan", 0x7FC00000), ("-nan:0x1", 0xFF800001), ("nan:0x7f_ffff", 0x7FFFFFFF),
    ("0x1p-149", 1), ("0x1p-150", 0), ("0x1.000001p-149", 1),  # just above half the smallest subnormal
    ("0x1.000001p0", 0x3F800000),  # a tie: rounds to even
    ("0x1.000003p0", 0x3F800002),  # a tie: rounds to even, upwards
    ("0x1.00000100000000000001p0", 0x3F800001),  # just past the tie: rounds up
    ("0x1.fffffefffffffffffp127", 0x7F7FFFFF), ("3.4028234e38", 0x7F7FFFFF),
    ("1.401298464324817e-45", 1), ("1e-46", 0), ("1.5", 0x3FC00000), ("0x1.8p1", 0x40400000),
    ("1_000.000_1", 0x447A0002), ("+0x0.8p-1", 0x3E800000), ("0x1P+2", 0x40800000), ("1E2", 0x42C80000),
    ("16777217", 0x4B800000), ("16777219", 0x4B800002),
])
def test_f32_literals_round_exactly(literal, bits):
    assert const("f32.const", literal) == bits


@pytest.mark.parametrize(("literal", "bits"), [
    ("-0x0p0", 1 << 63), ("0x1p-1074", 1), ("0x1p-1075", 0), ("4.9406564584124654e-324", 1),
    ("0x1.fffffffffffff8p1023", None), ("1.7976931348623157e308", 0x7FEFFFFFFFFFFFFF),
    ("0x1.00000000000008p0", 0x3FF0000000000000), ("0x1.00000000000018p0", 0x3FF0000000000002),
    ("9007199254740993", 0x4340000000000000), ("nan:0x8_0000_0000_0000", 0x7FF8000000000000),
    ("0.1", struct.unpack("<Q", struct.pack("<d", 0.1))[0]),
    ("0x1.d8bb04e4043b9p+352", struct.unpack("<Q", struct.pack("<d", float.fromhex("0x1.d8bb04e4043b9p+352")))[0]),
    ("0e99999999", 0), ("1e-99999999", 0),
])
def test_f64_literals_round_exactly(literal, bits):
    if bits is None:
        with pytest.raises(DecodeError, match="out of range"):
            const("f64.const", literal)
    else:
        assert const("f64.const", literal) == bits


def test_string_escapes_in_data():
    m = parse_wat(r'(memory 1) (data (i32.const 0) "a\n\t\\\'\"\00\ffz" "\u{41}\u{10_FFFF}\u{e9}")')
    assert m.datas[0].init == b"a\n\t\\'\"\x00\xffz" + "A\U0010ffff\u00e9".encode()


def test_comments_are_skipped():
    m = parse_wat("(module ;; line comment\n (; block (; nested ;) comment ;) (func $f (;inline;) nop))")
    assert m.funcs[0].body == [("nop",), ("end",)]


# ---- SIMD

def test_v128_const_shapes():
    code = body("(func (v128.const i8x16 -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0x80) (v128.const i16x8 1 2 3 4 5 6 7 -1)"
                " (v128.const i64x2 -1 1) (v128.const f32x4 1 -0 nan inf) (v128.const f64x2 0x1p-1074 -0.5)"
                " (v128.const i32x4 0xffff_ffff -2147483648 3 4))")
    assert code[0][1] == 0xFF | 0x80 << 120
    assert code[1][1] == sum(k << (16 * (k - 1)) for k in range(1, 8)) | 0xFFFF << 112
    assert code[2][1] == ((1 << 64) - 1) | 1 << 64
    assert code[3][1] == 0x3F800000 | 0x80000000 << 32 | 0x7FC00000 << 64 | 0x7F800000 << 96
    assert code[4][1] == 1 | 0xBFE0000000000000 << 64
    assert code[5][1] == 0xFFFFFFFF | 0x80000000 << 32 | 3 << 64 | 4 << 96


def test_shuffle_lanes_and_lane_memargs():
    code = body("(memory 1) (func (param v128) (result v128)"
                " (i8x16.shuffle 31 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 (local.get 0) (local.get 0))"
                " (v128.store32_lane offset=4 3 (i32.const 0)) (local.get 0))")
    assert code[2] == ("i8x16.shuffle", (31, *range(15)))
    assert code[4] == ("v128.store32_lane", 2, 4, 3)


def test_whole_syntax_tour_matches_wat2wasm():
    assert_like_wabt("""
      (module $tour
        (type $v (func))
        (import "spectest" "print_i32" (func $print (param i32)))
        (func $f (export "f") (param $n i32) (result i32) (local $acc i32) (local i64 f32)
          (local.set $acc (i32.const 1))
          (block $done
            (loop $again
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $acc (i32.mul (local.get $acc) (local.get $n)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $again)))
          (if (i32.gt_u (local.get $acc) (i32.const 100)) (then (call $print (local.get $acc))))
          (local.get $acc))
        (table $t 2 funcref) (elem (table $t) (i32.const 0) func $f $print)
        (memory 1) (data (i32.const 16) "\\de\\ad")
        (global $g (mut f64) (f64.const -0x1.921fb54442d18p+1))
        (func (type $v) i32.const 0 if nop else nop end))""")


# ---- malformed text

MALFORMED = [
    "(func (drop (i32.const 0x)))", "(func (drop (f32.const 1.e)))", "(func (drop (f32.const nan:0x0)))",
    "(func (drop (i32.const 0x1_0000_0000)))", "(func (drop (i32.const -0x8000_0001)))",
    "(func (drop (i64.const 18446744073709551616)))", "(func (drop (i32.const 1__0)))",
    "(func (drop (f32.const 0x1p128)))", "(func (drop (f32.const nan:0x80_0000)))", "(func (drop (f64.const _1)))",
    "(func (i32.frobnicate))", "(func $f) (func $f)", "(func (param $x i32) (local $x i32))",
    "(global $g i32 (i32.const 0)) (global $g i32 (i32.const 0))", "(type $t (func)) (func (type $u))",
    "(type (func (param i32))) (func (type 0) (param i64))", "(func (result i32) (param i32))",
    '(func (import "m" "f") (export "f"))', "(func (br $nowhere))", "(func (local.get $nobody))",
    "(memory 1) (func (drop (i32.load align=7 (i32.const 0))))", '(data "\\u{D800}")', '(data "\\q")',
    "(func (v128.const i32x4 1 2 3))", "(func (v128.const i16x8 0 0 0 0 0 0 0 65536))",
    "(func (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14))", "(module (func)", "(func))", "(func (;)",
    "(func nop\"str\")", '(export "f" (func 0) (func 1))', "(tabel 1 funcref)", "(memory 0x1_0000_0000)",
    "(start 0) (start 0) (func)", "(func end)", "(func block)", "(func ())", '(import "m" (func))',
    '(func (export "\\ff"))', "(elem (i32.const 0) (i32.const 1))", "(func $)", "(func (f32.const .5))",
    "(func (i32.const 0x_1))", "(memory 1 2 3)",
]


@pytest.mark.parametrize("source", MALFORMED)
def test_malformed_text_is_rejected(source):
    with pytest.raises(DecodeError, match=r"line \d+"):
        parse_wat(source)


def test_error_reports_the_line():
    with pytest.raises(DecodeError, match="line 3"):
        parse_wat("(module\n  (func\n    (i32.bogus)))")


def test_invalid_but_well_formed_text_parses():
    """Type errors are the validator's business, not the parser's."""
    m = parse_wat("(func (result i32) (i64.const 0)) (func (call 99)) (func (local.get 5))")
    assert m.funcs[1].body[0] == ("call", 99)
    assert m.funcs[2].body[0] == ("local.get", 5)
