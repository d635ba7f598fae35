"""The .wast script parser: every command kind, argument and expectation values,
the older NaN assertion syntax, and malformed scripts rejected with their line.
"""

from __future__ import annotations

import math

import pytest

from tests.wasm.test_encode import sections, wabt_binary
from vmstack.wasm.errors import DecodeError
from vmstack.wasm.numeric import f32_from_bits, f32_to_bits
from vmstack.wasm.script import (
    Action,
    AssertExhaustion,
    AssertInvalid,
    AssertMalformed,
    AssertReturn,
    AssertTrap,
    AssertUninstantiable,
    AssertUnlinkable,
    ModuleCommand,
    Register,
    parse_wast,
)

SCRIPT = r"""
(module $M (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
(register "m" $M)
(assert_return (invoke $M "add" (i32.const -1) (i32.const 2)) (i32.const 1))
(invoke "add" (i32.const 0) (i32.const 0))
(get $M "g")
(assert_trap (invoke "div" (i64.const 0)) "integer divide by zero")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(func (i32.const 0x))") "unknown operator")
(assert_unlinkable (module (import "nowhere" "f" (func))) "unknown import")
(assert_uninstantiable (module (memory 0) (data (i32.const 1) "x")) "out of bounds")
(module binary "\00asm" "\01\00\00\00")
(module $Q quote "(func (export \"f\"))")
"""


def test_every_command_kind():
    commands = parse_wast(SCRIPT)
    kinds = [type(c) for c in commands]
    assert kinds == [ModuleCommand, Register, AssertReturn, Action, Action, AssertTrap, AssertTrap,
                     AssertExhaustion, AssertInvalid, AssertMalformed, AssertUnlinkable, AssertUninstantiable,
                     ModuleCommand, ModuleCommand]
    assert [c.line for c in commands] == list(range(2, 16))
    module, register, ret, invoke, get, trap, start_trap = commands[:7]
    assert (module.module.name, module.module.kind) == ("$M", "text")
    assert (register.name, register.module_name) == ("m", "$M")
    assert ret.action == Action(4, "invoke", "$M", "add", [("i32", 0xFFFFFFFF), ("i32", 2)])
    assert ret.expected == [("i32", 1)]
    assert invoke.module_name is None and invoke.field == "add"
    assert (get.kind, get.module_name, get.field, get.args) == ("get", "$M", "g", [])
    assert trap.action.field == "div" and trap.module is None and trap.message == "integer divide by zero"
    assert start_trap.action is None and start_trap.module.kind == "text"
    assert commands[7].message == "call stack exhausted"


def test_text_binary_and_quote_modules_give_binaries():
    commands = parse_wast(SCRIPT)
    text_module = commands[0].module.to_binary()
    assert sections(text_module) == sections(wabt_binary(
        '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))'))
    binary = commands[-2].module
    assert (binary.kind, binary.to_binary()) == ("binary", b"\0asm\x01\0\0\0")
    quoted = commands[-1].module
    assert (quoted.kind, quoted.name) == ("quote", "$Q")
    assert sections(quoted.to_binary()) == sections(wabt_binary('(module (func (export "f")))'))


def test_malformed_module_fails_in_to_binary_not_in_parse_wast():
    commands = parse_wast('(assert_malformed (module quote "(func (i32.const 0x))") "unknown operator")\n'
                          '(assert_malformed (module (func (i32.const 1.e))) "unknown operator")\n'
                          '(assert_malformed (module quote "(data \\"\\\\u{D800}\\")") "malformed UTF-8")\n'
                          '(assert_malformed (module quote "(data \\"\\ff\\")") "malformed UTF-8")')
    assert all(isinstance(c, AssertMalformed) for c in commands)
    for command in commands:
        with pytest.raises(DecodeError):
            command.module.to_binary()


def test_argument_values():
    (action,) = parse_wast("""(invoke "f" (i32.const 0x8000_0000) (i64.const -1) (f32.const -0x1p-1)
        (f64.const nan:0x1) (f32.const -nan:0x20_0000) (v128.const i16x8 -1 0 0 0 0 0 0 1)
        (ref.null func) (ref.null extern) (ref.extern 7))""")
    args = action.args
    assert args[:3] == [("i32", 1 << 31), ("i64", (1 << 64) - 1), ("f32", -0.5)]
    assert args[3][0] == "f64" and math.isnan(args[3][1])
    assert args[4] == ("f32", args[4][1]) and f32_to_bits(args[4][1]) == 0xFFA00000
    assert args[4][1] is not f32_from_bits(0x7FC00000)
    assert args[5] == ("v128", 0xFFFF | 1 << 112)
    assert args[6:] == [("funcref", None), ("externref", None), ("externref", 7)]


def test_expected_values_and_patterns():
    (command,) = parse_wast("""(assert_return (invoke "f")
        (f32.const nan:canonical) (f64.const nan:arithmetic) (f64.const -0)
        (v128.const f32x4 1 nan:canonical -inf nan:arithmetic) (v128.const i8x16 -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
        (v128.const f64x2 0.5 -0.5) (ref.func) (ref.extern) (ref.extern 3) (ref.null func))""")
    expected = command.expected
    assert expected[:2] == [("f32", "nan:canonical"), ("f64", "nan:arithmetic")]
    assert expected[2] == ("f64", -0.0) and math.copysign(1, expected[2][1]) == -1
    assert expected[3] == ("v128", ("f32x4", [1.0, "nan:canonical", -math.inf, "nan:arithmetic"]))
    assert expected[4] == ("v128", 0xFF)
    assert expected[5] == ("v128", ("f64x2", [0.5, -0.5]))
    assert expected[6:] == [("funcref", "any"), ("externref", "any"), ("externref", 3), ("funcref", None)]


def test_old_nan_assertion_syntax():
    commands = parse_wast('(assert_return_canonical_nan (invoke "f" (f32.const 1)))\n'
                          '(assert_return_arithmetic_nan (invoke "g"))')
    assert [c.expected for c in commands] == [[("float", "nan:canonical")], [("float", "nan:arithmetic")]]
    assert commands[0].action.args == [("f32", 1.0)]


def test_named_binary_module_and_meta_commands():
    commands = parse_wast('(module $B binary "\\00asm\\01\\00\\00\\00")\n(input "x.wast")\n(output $B "y")')
    assert len(commands) == 1
    assert commands[0].module.name == "$B" and commands[0].module.to_binary().startswith(b"\0asm")


def test_bare_module_fields_are_one_module():
    (command,) = parse_wast('(func (export "f")) (memory 1)')
    assert isinstance(command, ModuleCommand)
    assert sections(command.module.to_binary()) == sections(wabt_binary('(module (func (export "f")) (memory 1))'))


@pytest.mark.parametrize(("source", "line"), [
    ("(module)\n(assert_return (invoke \"f\" (i32.const)))", 2),
    ("(module)\n\n(frobnicate)", 3),
    ("(assert_return (invoke \"f\" (i32.const 0x1_0000_0000)))", 1),
    ("(invoke \"f\" (i32.add))", 1),
    ("(register)", 1),
    ("(assert_invalid)", 1),
    ("(module)\n(assert_trap (invoke \"f\")", 2),
    ("(invoke \"f\" (ref.extern nan))", 1),
    ("(invoke \"f\" (v128.const i32x4 1 2))", 1),
])
def test_malformed_script_reports_line(source, line):
    with pytest.raises(DecodeError, match=f"line {line}"):
        parse_wast(source)
