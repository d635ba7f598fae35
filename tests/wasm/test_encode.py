"""The binary encoder: text modules encode like wabt's `wat2wasm`; modules built by
hand encode as written (invalid ones too); names land in a name section.

`assert_like_wabt` is also used by test_text.py.
"""

from __future__ import annotations

import subprocess

import pytest

from vmstack.wasm.encode import encode_module, sleb, uleb
from vmstack.wasm.module import Data, Elem, Func, FuncType, Module
from vmstack.wasm.text import wat_to_wasm

# the sections wabt may emit differently without either side being wrong: custom (names) and data count
IGNORED_SECTIONS = (0, 12)


def wabt_binary(source: str) -> bytes:
    done = subprocess.run(["wat2wasm", "--no-check", "-o", "/dev/stdout", "-"], input=source.encode(),
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def wabt_text(binary: bytes) -> str:
    """`wasm2wat` of a binary, names included, no validation."""
    done = subprocess.run(["wasm2wat", "--no-check", "-"], input=binary, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def sections(binary: bytes) -> list[tuple[int, bytes]]:
    """The (id, payload) pairs of a binary module, leaving out IGNORED_SECTIONS."""
    found, pos = [], 8
    while pos < len(binary):
        section_id = binary[pos]
        size, shift, pos = 0, 0, pos + 1
        while True:
            byte = binary[pos]
            size |= (byte & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
            if not byte & 0x80:
                break
        if section_id not in IGNORED_SECTIONS:
            found.append((section_id, binary[pos:pos + size]))
        pos += size
    return found


def assert_like_wabt(source: str) -> bytes:
    """vmstack's binary for `source` has the same sections as wat2wasm's; returns vmstack's."""
    ours = wat_to_wasm(source)
    assert ours[:8] == b"\0asm\x01\0\0\0"
    assert sections(ours) == sections(wabt_binary(source))
    return ours


@pytest.mark.parametrize(("value", "unsigned", "signed"), [
    (0, b"\x00", b"\x00"),
    (63, b"\x3f", b"\x3f"),
    (64, b"\x40", b"\xc0\x00"),
    (127, b"\x7f", b"\xff\x00"),
    (624485, b"\xe5\x8e\x26", b"\xe5\x8e\x26"),
])
def test_leb128(value, unsigned, signed):
    assert uleb(value) == unsigned
    assert sleb(value) == signed


@pytest.mark.parametrize(("value", "encoded"), [(-1, b"\x7f"), (-64, b"\x40"), (-65, b"\xbf\x7f"),
                                                (-123456, b"\xc0\xbb\x78")])
def test_negative_sleb128(value, encoded):
    assert sleb(value) == encoded


ROUND_TRIPS = {
    "every section": """
        (module
          (type $t (func (param i32) (result i32)))
          (import "env" "f" (func $imp (type $t)))
          (import "env" "g" (global $g (mut i64)))
          (import "env" "m" (memory 1 2))
          (table $tab 2 10 funcref)
          (global $h f32 (f32.const 1.5))
          (func $id (export "id") (type $t) local.get 0)
          (func $start)
          (start $start)
          (elem (i32.const 0) $id $imp)
          (data (i32.const 8) "hello"))""",
    "every elem mode and element form": """
        (module
          (table $a 4 funcref) (table $b 4 externref)
          (func $f) (func $g)
          (elem (i32.const 0) $f)
          (elem (table $a) (i32.const 1) func $g)
          (elem (table $a) (offset (i32.const 2)) funcref (ref.func $f) (ref.null func))
          (elem (table $b) (i32.const 0) externref (ref.null extern))
          (elem $p func $f $g)
          (elem funcref (item ref.func $g) (item (ref.null func)))
          (elem declare func $f))""",
    "every data mode": """
        (module
          (memory $m 1) (memory 0)
          (data (i32.const 0) "a" "b")
          (data (memory $m) (offset (i32.const 4)) "\\00\\ff")
          (data $passive "passive")
          (func (memory.init $passive (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop 0)))""",
    "control flow": """
        (module
          (func (param i32) (result i32)
            (block $out (result i32)
              (loop $top
                (br_if $top (i32.eqz (local.get 0)))
                (br_table $out $top $out (i32.const 7) (local.get 0)))
              (i32.const 1))
            (if (result i32) (then (i32.const 2)) (else (i32.const 3)))))""",
    "multi-value blocks and call_indirect": """
        (module
          (type $pair (func (result i32 i32)))
          (table 1 funcref)
          (func (result i32 i32)
            (block (result i32 i32) (i32.const 1) (i32.const 2))
            (call_indirect (type $pair) (i32.const 0))
            drop drop))""",
    "memory and numeric instructions": """
        (module
          (memory 1)
          (func (result i64)
            (i64.store32 offset=4 align=2 (i32.const 0) (i64.const -1))
            (i64.extend_i32_s (i32.trunc_sat_f64_u (f64.const -0x1.8p3)))
            (memory.fill (i32.const 0) (i32.const 0) (memory.size))
            (i64.add (i64.load8_s offset=0xffff_ffff (i32.const 0)))))""",
    "typed select and references": """
        (module
          (table $t 1 externref)
          (func (param externref) (result externref)
            (select (result externref) (local.get 0) (ref.null extern) (i32.const 1))
            (table.set $t (i32.const 0))
            (drop (ref.is_null (table.get $t (i32.const 0))))
            (table.grow $t (ref.null extern) (i32.const 1)) drop
            (local.get 0)))""",
    "SIMD": """
        (module
          (memory 1)
          (func (result v128)
            (v128.store offset=16 (i32.const 0) (v128.const i32x4 1 -2 0xffff_ffff 4))
            (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
              (v128.load8_lane 3 (i32.const 0) (v128.const f64x2 -0.0 inf))
              (i16x8.splat (i32.const -1)))
            (f32x4.extract_lane 2) drop
            (v128.const i8x16 -128 255 0 1 2 3 4 5 6 7 8 9 10 11 12 13)))""",
}


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_encoding_matches_wat2wasm(name):
    assert_like_wabt(ROUND_TRIPS[name])


def test_invalid_module_is_encoded_as_written():
    """No validation: a body that underflows the stack and calls a missing function still encodes."""
    module = Module(types=[FuncType((), ("i32",))],
                    funcs=[Func(0, ["i64"], [("i32.add",), ("call", 7), ("end",)])])
    binary = encode_module(module)
    assert "i32.add\n    call 7" in wabt_text(binary)
    assert binary.endswith(bytes([0x6A, 0x10, 7, 0x0B]))


def test_segments_and_data_count_section():
    module = Module(datas=[Data("passive", b"xy")], data_count=1,
                    elems=[Elem("passive", "externref", [[("ref.null", "externref"), ("end",)]])])
    binary = encode_module(module)
    assert b"\x0c\x01\x01" in binary  # data count section: id 12, size 1, count 1
    text = wabt_text(binary)
    assert '(data (;0;) "xy")' in text
    assert "(elem (;0;) externref (ref.null extern))" in text


def test_name_section_holds_module_function_and_local_names():
    binary = wat_to_wasm("(module $mod (func $add (param $a i32) (param $b i32) (local $sum i32)) (func))")
    text = wabt_text(binary)
    assert text.startswith("(module $mod")
    assert "(func $add (type 0) (param $a i32) (param $b i32)" in text
    assert "(local $sum i32)" in text


def test_f32_nan_payload_survives_encoding():
    binary = wat_to_wasm("(module (func (drop (f32.const -nan:0x7)) (drop (f64.const nan:0x4_0000_0000_0001))))")
    assert bytes.fromhex("43 07 00 80 ff") in binary
    assert bytes.fromhex("44 01 00 00 00 00 00 f4 7f") in binary
