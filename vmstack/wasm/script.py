"""The WebAssembly script format (.wast): modules, actions and assertions of
the spec test suite, parsed into command objects that `wast.WastRunner` runs.

Values follow module.py's conventions; expectations may also be NaN patterns
('nan:canonical', 'nan:arithmetic'), per-lane v128 patterns ``(shape, lanes)``
and 'any' for a non-null reference. Also reads the older assertion syntax
(`assert_return_canonical_nan`, `assert_return_arithmetic_nan`,
`assert_return_nan`) found in older copies of the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .encode import encode_module
from .errors import DecodeError
from .literals import LiteralError, float_bits, parse_int, parse_uint
from .numeric import f32_from_bits, f64_from_bits
from .sexpr import Atom, SList, error, head, line_of, parse_sexprs
from .text import SHAPES, Cursor, atom_text, lane_bits, name_of, parse_module_sexpr, string_of

Value = tuple[str, Any]


@dataclass
class ScriptModule:
    line: int
    name: str | None
    kind: str  # 'text' | 'binary' | 'quote'
    source: Any  # the (module ...) S-expression, the bytes, or the quoted text

    def to_binary(self) -> bytes:
        """The module's binary; DecodeError when its text is malformed."""
        if self.kind == "binary":
            return self.source
        if self.kind == "quote":
            items = parse_sexprs(self.source)
            if len(items) == 1 and head(items[0]) == "module":
                return encode_module(parse_module_sexpr(items[0]))
            from .text import module_from_fields

            return encode_module(module_from_fields(list(items), items))
        return encode_module(parse_module_sexpr(self.source))


@dataclass
class ModuleCommand:
    line: int
    module: ScriptModule


@dataclass
class Register:
    line: int
    name: str
    module_name: str | None


@dataclass
class Action:
    line: int
    kind: str  # 'invoke' | 'get'
    module_name: str | None
    field: str
    args: list[Value] = field(default_factory=list)


@dataclass
class AssertReturn:
    line: int
    action: Action
    expected: list[Value]


@dataclass
class AssertTrap:
    line: int
    action: Action | None
    module: ScriptModule | None
    message: str


@dataclass
class AssertExhaustion:
    line: int
    action: Action
    message: str


@dataclass
class AssertInvalid:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertMalformed:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertUnlinkable:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertUninstantiable:
    line: int
    module: ScriptModule
    message: str


def _script_module(item: SList) -> ScriptModule:
    if head(item) != "module":
        raise error("expected a module", item)
    cur = Cursor(item, 1)
    name = cur.take_id()
    nxt = cur.peek()
    if isinstance(nxt, Atom) and nxt.kind == "atom" and nxt.value in ("binary", "quote"):
        cur.next()
        parts = [string_of(s) for s in item[cur.pos:]]
        if nxt.value == "binary":
            return ScriptModule(item.line, name, "binary", b"".join(parts))
        # bytes that are not UTF-8 survive as lone surrogates, for to_binary to reject
        return ScriptModule(item.line, name, "quote", b"".join(parts).decode("utf-8", "surrogateescape"))
    return ScriptModule(item.line, name, "text", item)


def float_from_bits(bits: int, width: int) -> float:
    return f32_from_bits(bits) if width == 32 else f64_from_bits(bits)


NAN_PATTERNS = ("nan:canonical", "nan:arithmetic")
REF_TYPES = {"func": "funcref", "extern": "externref"}


def _const(item: object, expected: bool) -> Value:
    """A `(t.const ...)` / `(ref.* ...)` argument, or with `expected` an assert_return expectation."""
    op = head(item)
    if op is None:
        raise error("expected a constant", item)
    args = item[1:]
    if op == "v128.const":
        return _v128_const(item, expected)
    if op in ("i32.const", "i64.const", "f32.const", "f64.const"):
        if len(args) != 1:
            raise error(f"{op} takes one literal", item)
        t, text = op[:3], atom_text(args[0], "a literal")
        width = int(t[1:])
        if t[0] == "i":
            return (t, parse_int(text, width))
        if expected and text in NAN_PATTERNS:
            return (t, text)
        return (t, float_from_bits(float_bits(text, width), width))
    if op == "ref.null" and len(args) == 1 and atom_text(args[0], "a heap type") in REF_TYPES:
        return (REF_TYPES[args[0].value], None)
    if op == "ref.extern":
        return ("externref", parse_uint(atom_text(args[0], "a number"), 64) if args else "any")
    if op == "ref.func" and expected:
        return ("funcref", "any")
    raise error(f"unknown constant {op}", item)


def _v128_const(item: SList, expected: bool) -> Value:
    """An integer, or with float lanes in an expectation (shape, lanes) so lanes can be NaN patterns."""
    shape = atom_text(item[1], "a vector shape") if len(item) > 1 else None
    if shape not in SHAPES:
        raise error(f"unknown vector shape {shape}", item)
    count, width = SHAPES[shape]
    if len(item) != count + 2:
        raise error("wrong number of lanes", item)
    is_float = shape[0] == "f"
    lanes: list[Any] = []
    value = 0
    for k, lane in enumerate(item[2:]):
        text = atom_text(lane, "a lane")
        if expected and is_float and text in NAN_PATTERNS:
            lanes.append(text)
            continue
        bits = lane_bits(shape, text)
        lanes.append(float_from_bits(bits, width) if is_float else bits)
        value |= bits << (k * width)
    return ("v128", (shape, lanes)) if expected and is_float else ("v128", value)


def _action(item: object) -> Action:
    kind = head(item)
    if kind not in ("invoke", "get"):
        raise error("expected (invoke ...) or (get ...)", item)
    cur = Cursor(item, 1)
    module_name = cur.take_id()
    name = name_of(cur.next("an export name"))
    args = [_const(a, False) for a in item[cur.pos:]]
    return Action(item.line, kind, module_name, name, args)


def _message(item: SList, index: int) -> str:
    if len(item) > index and isinstance(item[index], Atom) and item[index].kind == "str":
        return item[index].value.decode("utf-8", "replace")
    return ""


def _command(item: object) -> Any:
    kind = head(item)
    line = line_of(item)
    if kind == "module":
        return ModuleCommand(line, _script_module(item))
    if kind == "register":
        cur = Cursor(item, 1)
        name = name_of(cur.next("a name"))
        return Register(line, name, cur.take_id())
    if kind in ("invoke", "get"):
        return _action(item)
    if kind == "assert_return":
        return AssertReturn(line, _action(item[1]), [_const(e, True) for e in item[2:]])
    if kind in ("assert_return_canonical_nan", "assert_return_arithmetic_nan", "assert_return_nan"):
        pattern = "nan:canonical" if kind.endswith("canonical_nan") else "nan:arithmetic"
        return AssertReturn(line, _action(item[1]), [("float", pattern)])
    if kind == "assert_trap":
        if head(item[1]) == "module":
            return AssertTrap(line, None, _script_module(item[1]), _message(item, 2))
        return AssertTrap(line, _action(item[1]), None, _message(item, 2))
    if kind == "assert_exhaustion":
        return AssertExhaustion(line, _action(item[1]), _message(item, 2))
    if kind in ("assert_invalid", "assert_malformed", "assert_unlinkable"):
        cls = {"assert_invalid": AssertInvalid, "assert_malformed": AssertMalformed,
               "assert_unlinkable": AssertUnlinkable}[kind]
        return cls(line, _script_module(item[1]), _message(item, 2))
    if kind == "assert_uninstantiable":
        return AssertUninstantiable(line, _script_module(item[1]), _message(item, 2))
    if kind in ("input", "output"):
        return None
    raise error(f"unknown script command {kind}", item)


MODULE_FIELDS = {"type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"}


def parse_wast(source: str) -> list[Any]:
    """All commands of a .wast script. DecodeError for a malformed script."""
    items = parse_sexprs(source)
    if items and head(items[0]) in MODULE_FIELDS:  # a script may be one module's fields alone
        whole = SList(items)
        whole.line = line_of(items[0])
        whole.insert(0, Atom("atom", "module", whole.line))
        items = [whole]
    commands = []
    for item in items:
        if not isinstance(item, SList):
            raise error(f"unexpected token {item!r}", item)
        try:
            command = _command(item)
        except (LiteralError, IndexError) as exc:
            raise DecodeError(f"line {line_of(item)}: malformed command: {exc}") from None
        if command is not None:
            commands.append(command)
    return commands


__all__ = [
    "Action",
    "AssertExhaustion",
    "AssertInvalid",
    "AssertMalformed",
    "AssertReturn",
    "AssertTrap",
    "AssertUninstantiable",
    "AssertUnlinkable",
    "ModuleCommand",
    "Register",
    "ScriptModule",
    "parse_wast"
]
