"""The binary decoder: every immediate kind, the name section, and each class of
malformed module the spec defines, on small hand-assembled binaries."""

from __future__ import annotations

import math
import subprocess

import pytest

from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import DecodeError
from vmstack.wasm.module import Limits, MemoryType, TableType
from vmstack.wasm.numeric import f32_from_bits, f64_to_bits

HEADER = b"\0asm\x01\0\0\0"


def wat_to_wasm(text: str, *flags: str) -> bytes:
    """Assemble a text module with wabt's wat2wasm (``--no-check`` lets invalid modules through)."""
    result = subprocess.run(["wat2wasm", *flags, "-", "--output=-"], input=text.encode(), capture_output=True,
                            check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def vec(*items: bytes) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(text: bytes) -> bytes:
    return uleb(len(text)) + text


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(payload)) + payload


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


def code_entry(body: bytes, locals_: bytes = b"\x00") -> bytes:
    """One code section entry: the local declarations then the instructions (ending with 0x0b)."""
    return name(locals_ + body)


def func_module(body: bytes, locals_: bytes = b"\x00", *extra_sections: bytes) -> bytes:
    """A module with one function of type [] -> [] and the given body; extra sections go before code."""
    return module(section(1, vec(b"\x60\x00\x00")), section(3, vec(b"\x00")), *extra_sections,
                  section(10, vec(code_entry(body, locals_))))


def body_of(text: str) -> list[tuple]:
    return decode_module(wat_to_wasm(text)).funcs[0].body


def malformed(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_module(data)
    assert message in info.value.message


# ---------------------------------------------------------------- well-formed modules


def test_empty_module() -> None:
    mod = decode_module(HEADER)
    assert mod.types == [] and mod.funcs == [] and mod.start is None and mod.data_count is None


def test_every_section_kind() -> None:
    mod = decode_module(wat_to_wasm("""
      (module
        (type $t (func (param i32 i64) (result f32)))
        (import "env" "f" (func (type $t)))
        (import "env" "g" (global i64))
        (table $tab 2 10 funcref)
        (memory 1 2)
        (global $m (mut f64) (f64.const 1.5))
        (export "mem" (memory 0))
        (start $s)
        (func $s)
        (elem (table $tab) (i32.const 0) func $s)
        (elem funcref (ref.null func))
        (elem declare func $s)
        (data (i32.const 8) "hi")
        (data "passive"))"""))
    assert [str(t) for t in mod.types] == ["[i32 i64] -> [f32]", "[] -> []"]
    assert [(i.module, i.name, i.kind) for i in mod.imports] == [("env", "f", "func"), ("env", "g", "global")]
    assert mod.tables == [TableType("funcref", Limits(2, 10))]
    assert mod.memories == [MemoryType(Limits(1, 2))]
    assert mod.globals[0].type.mutable and mod.globals[0].init == [("f64.const", 1.5), ("end",)]
    assert [(e.name, e.kind, e.index) for e in mod.exports] == [("mem", "memory", 0)]
    assert mod.start == 1
    assert [e.mode for e in mod.elems] == ["active", "passive", "declarative"]
    assert mod.elems[0].offset == [("i32.const", 0), ("end",)]
    assert mod.elems[0].init == [[("ref.func", 1), ("end",)]]
    assert mod.elems[1].init == [[("ref.null", "funcref"), ("end",)]]
    assert [(d.mode, d.init) for d in mod.datas] == [("active", b"hi"), ("passive", b"passive")]


def test_control_and_variable_immediates() -> None:
    body = body_of("""
      (module (type $t (func (param i32) (result i32))) (table 1 funcref) (global $g (mut i32) (i32.const 0))
        (func (param i32) (local i64 i64 f32)
          (block (result i32) (i32.const 1)) (drop)
          (loop $l (br_if $l (local.get 0)))
          (i32.const 7) (if (type $t) (local.get 0) (then (i32.const 8) (i32.add)) (else (i32.const 9) (i32.sub))) (drop)
          (block (block (br_table 0 0 1 (local.get 0))))
          (global.set $g (i32.const 3))
          (call_indirect (type $t) (i32.const 0) (i32.const 0)) (drop)
          (select (result i32) (i32.const 1) (i32.const 2) (i32.const 3))
          (select (i32.const 4) (i32.const 5)) (drop)))""")
    assert ("block", "i32") in body and ("loop", None) in body and ("br_if", 0) in body
    assert ("if", 0) in body and ("else",) in body
    assert ("br_table", (0, 0), 1) in body
    assert ("global.set", 0) in body and ("call_indirect", 0, 0) in body
    assert ("select", ("i32",)) in body and ("select", None) in body
    assert body[-1] == ("end",)


def test_constants_are_canonical() -> None:
    body = body_of("""(module (func
      (drop (i32.const -1)) (drop (i64.const -2)) (drop (f32.const -0.5)) (drop (f64.const nan:0x4))
      (drop (f32.const nan:0x200001)) (drop (v128.const i32x4 1 2 3 0x80000000))))""")
    consts = [instr for instr in body if instr[0].endswith("const")]
    assert consts[0] == ("i32.const", 0xFFFFFFFF)
    assert consts[1] == ("i64.const", 2**64 - 2)
    assert consts[2] == ("f32.const", -0.5)
    assert math.isnan(consts[3][1]) and f64_to_bits(consts[3][1]) == 0x7FF0000000000004
    assert consts[4][1] is not None and f64_to_bits(consts[4][1]) == f64_to_bits(f32_from_bits(0x7FA00001))
    assert consts[5] == ("v128.const", 1 | 2 << 32 | 3 << 64 | 0x80000000 << 96)


def test_memory_table_and_simd_immediates() -> None:
    body = body_of("""
      (module (memory 1) (table $a 1 funcref) (table $b 1 funcref) (elem $e func) (data $d "x")
        (func
          (drop (i64.load32_u offset=12 align=4 (i32.const 0)))
          (drop (memory.size)) (drop (memory.grow (i32.const 1)))
          (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0)) (data.drop $d)
          (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))
          (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
          (table.init $b $e (i32.const 0) (i32.const 0) (i32.const 0)) (elem.drop $e)
          (table.copy $a $b (i32.const 0) (i32.const 0) (i32.const 0))
          (drop (table.size $b)) (drop (ref.is_null (ref.null extern)))
          (drop (v128.load16_lane offset=4 3 (i32.const 0) (v128.const i64x2 0 0)))
          (drop (i8x16.extract_lane_u 15 (v128.const i64x2 0 0)))
          (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
                  (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))""")
    assert ("i64.load32_u", 2, 12) in body
    assert ("memory.size",) in body and ("memory.grow",) in body
    assert ("memory.init", 0) in body and ("data.drop", 0) in body
    assert ("memory.copy",) in body and ("memory.fill",) in body
    assert ("table.init", 0, 1) in body and ("elem.drop", 0) in body
    assert ("table.copy", 0, 1) in body and ("table.size", 1) in body
    assert ("ref.null", "externref") in body and ("ref.is_null",) in body
    assert ("v128.load16_lane", 1, 4, 3) in body and ("i8x16.extract_lane_u", 15) in body
    assert ("i8x16.shuffle", (*range(15), 31)) in body


def test_saturating_prefix_and_ref_func() -> None:
    body = body_of("""(module (func $f (drop (i32.trunc_sat_f64_u (f64.const 1)))
                         (drop (ref.func $f))) (elem declare func $f))""")
    assert ("i32.trunc_sat_f64_u",) in body and ("ref.func", 0) in body


def test_locals_expanded_and_offsets() -> None:
    data = func_module(b"\x20\x02\x1a\x0b", locals_=vec(b"\x02\x7f", b"\x01\x7e"))
    func = decode_module(data).funcs[0]
    assert func.locals == ["i32", "i32", "i64"]
    assert func.body == [("local.get", 2), ("drop",), ("end",)]
    start = data.index(b"\x20\x02\x1a\x0b")
    assert func.offsets == [start, start + 2, start + 3]
    assert func.body_offset == start - len(vec(b"\x02\x7f", b"\x01\x7e"))


def test_name_section_and_custom_sections() -> None:
    names = section(0, name(b"name") + section(0, name(b"mod")) + section(1, vec(uleb(0) + name(b"main")))
                    + section(2, vec(uleb(0) + vec(uleb(0) + name(b"x")))))
    mod = decode_module(func_module(b"\x0b", b"\x00", section(0, name(b"extra") + b"\x01\x02")) + names)
    assert mod.names.module == "mod"
    assert mod.names.funcs == {0: "main"}
    assert mod.names.locals == {0: {0: "x"}}
    assert mod.func_name(0) == "main"
    assert (mod.customs[0].name, mod.customs[0].data) == ("extra", b"\x01\x02")


def test_names_from_wat2wasm_debug_names() -> None:
    mod = decode_module(wat_to_wasm("(module $m (func $f (param $p i32)))", "--debug-names"))
    assert mod.names.module == "m" and mod.names.funcs == {0: "f"} and mod.names.locals == {0: {0: "p"}}


def test_malformed_name_section_is_ignored() -> None:
    broken = section(0, name(b"name") + b"\x01\x05\x01\x00\xff")
    mod = decode_module(module(broken))
    assert mod.names.funcs == {} and mod.customs[0].name == "name"


# ---------------------------------------------------------------- malformed modules

MALFORMED = {
    "empty input": (b"", "magic header not detected"),
    "bad magic": (b"\0asn\x01\0\0\0", "magic header not detected"),
    "truncated version": (b"\0asm\x01\0", "unexpected end"),
    "bad version": (b"\0asm\x02\0\0\0", "unknown binary version"),
    "unknown section id": (module(section(13, b"")), "malformed section id"),
    "section out of order": (module(section(3, vec()), section(1, vec())), "unexpected content after last section"),
    "duplicate section": (module(section(1, vec()), section(1, vec())), "unexpected content after last section"),
    "section too long": (HEADER + b"\x01\x05\x00", "length out of bounds"),
    "section size mismatch": (module(section(1, vec() + b"\x00")), "section size mismatch"),
    "leb too long": (module(b"\x01\x06\x80\x80\x80\x80\x80\x00"), "integer representation too long"),
    "leb unused bits": (module(section(5, vec(b"\x00\x82\x80\x80\x80\x70"))), "integer too large"),
    "signed leb unused bits": (func_module(b"\x41\x80\x80\x80\x80\x70\x1a\x0b"), "integer too large"),
    "bad function type form": (module(section(1, vec(b"\x61\x00\x00"))), "malformed function type"),
    "bad value type": (module(section(1, vec(b"\x60\x01\x7a\x00"))), "malformed value type"),
    "bad reference type": (module(section(4, vec(b"\x7f\x00\x01"))), "malformed reference type"),
    "bad limits flag": (module(section(5, vec(b"\x02\x01"))), "integer too large"),
    "bad mutability": (module(section(6, vec(b"\x7f\x02\x41\x00\x0b"))), "malformed mutability"),
    "bad import kind": (module(section(2, vec(name(b"a") + name(b"b") + b"\x04\x00"))),
                        "malformed import kind"),
    "bad export kind": (module(section(7, vec(name(b"a") + b"\x04\x00"))), "malformed export kind"),
    "bad utf-8 name": (module(section(7, vec(name(b"\xff") + b"\x00\x00"))), "malformed UTF-8 encoding"),
    "bad utf-8 custom name": (module(section(0, name(b"\xc0\x80"))), "malformed UTF-8 encoding"),
    "bad elem flags": (module(section(9, vec(b"\x08"))), "malformed elements segment kind"),
    "bad elem kind": (module(section(9, vec(b"\x01\x01" + vec()))), "malformed element kind"),
    "bad data flags": (module(section(11, vec(b"\x03"))), "malformed data segment kind"),
    "illegal opcode": (func_module(b"\x06\x0b"), "illegal opcode 0x06"),
    "illegal prefixed opcode": (func_module(b"\xfc\x12\x0b"), "illegal opcode 0xfc 18"),
    "nonzero memory index": (func_module(b"\x3f\x01\x1a\x0b"), "zero byte expected"),
    "body without end": (func_module(b"\x01"), "unexpected end of section or function"),
    "trailing bytes in body": (func_module(b"\x0b\x01"), "section size mismatch"),
    "functions without code": (module(section(1, vec(b"\x60\x00\x00")), section(3, vec(b"\x00"))),
                               "function and code section have inconsistent lengths"),
    "code without functions": (module(section(10, vec(code_entry(b"\x0b")))),
                               "function and code section have inconsistent lengths"),
    "data count mismatch": (module(section(12, uleb(1))), "data count and data section have inconsistent lengths"),
    "too many locals": (func_module(b"\x0b", vec(b"\xff\xff\xff\xff\x0f\x7f", b"\x02\x7e")), "too many locals"),
    "locals over the implementation limit": (func_module(b"\x0b", vec(uleb(10**6) + b"\x7f")),
                                             "implementation limit"),
    "vector longer than its section": (module(section(1, uleb(1000))), "unexpected end"),
}


@pytest.mark.parametrize("data, message", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed(data: bytes, message: str) -> None:
    malformed(data, message)


def test_data_count_required_by_memory_init() -> None:
    memory = section(5, vec(b"\x00\x01"))
    passive_data = section(11, vec(b"\x01" + name(b"x")))
    data = module(section(1, vec(b"\x60\x00\x00")), section(3, vec(b"\x00")), memory,
                  section(10, vec(code_entry(b"\xfc\x09\x00\x0b"))), passive_data)
    malformed(data, "data count section required")
    with_count = module(section(1, vec(b"\x60\x00\x00")), section(3, vec(b"\x00")), memory,
                        section(12, uleb(1)), section(10, vec(code_entry(b"\xfc\x09\x00\x0b"))), passive_data)
    assert decode_module(with_count).funcs[0].body == [("data.drop", 0), ("end",)]


def test_error_offset_points_at_the_bad_byte() -> None:
    data = func_module(b"\x01\x06\x0b")
    with pytest.raises(DecodeError) as info:
        decode_module(data)
    assert info.value.offset == data.index(b"\x01\x06\x0b") + 1


def test_decodes_thousands_of_functions() -> None:
    """A module the size of sqlite3's code (about 500k instructions)."""
    func = "(func (result i32) " + "(i32.add (local.get 0) (i32.const 1)) drop " * 50 + "(i32.const 0))"
    text = "(module " + func.replace("(result i32)", "(param i32) (result i32)") * 2500 + ")"
    mod = decode_module(wat_to_wasm(text))
    assert len(mod.funcs) == 2500 and sum(len(f.body) for f in mod.funcs) == 2500 * 202
