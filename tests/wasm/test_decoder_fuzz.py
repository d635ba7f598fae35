"""Mutated valid modules (byte flips, insertions, deletions, truncation) only ever
give DecodeError or ValidationError from decode_module + validate_module: never
another exception, never a hang."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wasm.test_binary import wat_to_wasm
from vmstack.wasm.binary import decode_module
from vmstack.wasm.errors import DecodeError, ValidationError
from vmstack.wasm.validate import validate_module

SEED_MODULES = [
    """(module
      (type $t (func (param i32 i64) (result i32)))
      (import "env" "f" (func $imp (type $t)))
      (import "env" "g" (global $g i32))
      (table $tab 4 16 funcref) (memory 1 2)
      (global $m (mut i64) (i64.const -5))
      (func $main (export "main") (param i32) (result i32) (local f32 f64)
        (block $out (result i32)
          (loop $l
            (br_if $l (i32.eqz (local.get 0)))
            (br_table $out $out (i32.const 1) (local.get 0)))
          (i32.const 0))
        (drop (if (result i32) (then (call $imp (i32.const 1) (i64.const 2))) (else (global.get $g))))
        (i32.store offset=4 (i32.const 0) (i32.const 9))
        (drop (f64.add (f64.const 1.5) (f64.promote_f32 (f32.const nan))))
        (select (i32.load8_u (i32.const 3)) (i32.const 2) (i32.const 1)))
      (func $indirect (result i32) (call_indirect (type $t) (i32.const 1) (i64.const 2) (i32.const 0)))
      (elem (table $tab) (i32.const 0) func $main $indirect)
      (elem declare func $imp)
      (data (i32.const 16) "hello"))""",
    """(module
      (memory 1) (table $r 2 externref) (table $f 2 funcref)
      (data $d "bulk") (elem $e funcref (ref.func $k) (ref.null func))
      (func $k (param externref) (result i32)
        (memory.init $d (i32.const 0) (i32.const 0) (i32.const 4)) (data.drop $d)
        (memory.copy (i32.const 8) (i32.const 0) (i32.const 4))
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
        (table.init $f $e (i32.const 0) (i32.const 0) (i32.const 2)) (elem.drop $e)
        (drop (table.grow $r (local.get 0) (i32.const 1)))
        (table.set $r (i32.const 0) (ref.null extern))
        (drop (v128.load32_lane 1 (i32.const 0) (v128.const i32x4 1 2 3 4)))
        (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
                (v128.const i64x2 1 2) (i32x4.splat (i32.const 3))))
        (drop (i32.trunc_sat_f32_s (f32.const 2.5)))
        (ref.is_null (table.get $r (i32.const 0)))))""",
]


@cache
def seeds() -> list[bytes]:
    return [wat_to_wasm(text, "--debug-names") for text in SEED_MODULES]


def test_seeds_are_valid() -> None:
    for data in seeds():
        validate_module(decode_module(data))


mutation = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
                     st.floats(0, 1, exclude_max=True), st.integers(0, 255))


def mutate(data: bytes, mutations: list[tuple[str, float, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in mutations:
        pos = int(where * len(out)) if out else 0
        if kind == "insert":
            out[pos:pos] = bytes([value])
        elif kind == "truncate":
            del out[pos:]
        elif pos < len(out):
            if kind == "flip":
                out[pos] ^= 1 << (value & 7)
            elif kind == "set":
                out[pos] = value
            else:
                del out[pos:pos + 1 + value % 4]
    return bytes(out)


@settings(max_examples=2500, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, len(SEED_MODULES) - 1), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_modules_fail_cleanly(seed: int, mutations: list[tuple[str, float, int]]) -> None:
    data = mutate(seeds()[seed], mutations)
    try:
        validate_module(decode_module(data))
    except (DecodeError, ValidationError):
        pass


@settings(max_examples=500, deadline=timedelta(seconds=2))
@given(st.binary(max_size=64))
def test_random_bytes_after_header_fail_cleanly(tail: bytes) -> None:
    try:
        validate_module(decode_module(b"\0asm\x01\0\0\0" + tail))
    except (DecodeError, ValidationError):
        pass
