"""The WebAssembly text format (WAT): `(module ...)` → ``module.Module``.

Covers the 2.0 text format: flat and folded instructions, symbolic names in
every index space and for labels, inline imports and exports, type uses with
implicit type definitions, inline `elem`/`data` in tables and memories, every
elem and data form. Anything malformed raises DecodeError with a line number.
"""

from __future__ import annotations

from typing import Any

from .encode import encode_module
from .errors import DecodeError
from .literals import LiteralError, float_bits, parse_f32, parse_f64, parse_int, parse_uint
from .module import (
    PAGE_SIZE,
    Data,
    Elem,
    Export,
    Func,
    FuncType,
    Global,
    GlobalType,
    Import,
    Limits,
    MemoryType,
    Module,
    TableType,
)
from .opcodes import NATURAL_ALIGN, OPCODES
from .sexpr import Atom, SList, error, head, line_of, parse_sexprs

VALTYPES = {"i32", "i64", "f32", "f64", "v128", "funcref", "externref"}
HEAPTYPES = {"func": "funcref", "extern": "externref"}
KINDS = ("func", "table", "memory", "global")
MODULE_FIELDS = ("type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data")
SHAPES = {"i8x16": (16, 8), "i16x8": (8, 16), "i32x4": (4, 32), "i64x2": (2, 64), "f32x4": (4, 32),
          "f64x2": (2, 64)}


def is_id(x: object) -> bool:
    return isinstance(x, Atom) and x.kind == "atom" and x.value.startswith("$")  # type: ignore[union-attr]


def is_number(x: object) -> bool:
    """An unsigned number token (an index, a limit, a lane)."""
    return isinstance(x, Atom) and x.kind == "atom" and x.value[0].isdigit()  # type: ignore[index]


def is_index(x: object) -> bool:
    return is_id(x) or is_number(x)


def is_kw(x: object, *words: str) -> bool:
    return isinstance(x, Atom) and x.kind == "atom" and x.value in words


def atom_text(x: object, what: str) -> str:
    if not isinstance(x, Atom) or x.kind != "atom":
        raise error(f"expected {what}", x)
    return x.value  # type: ignore[return-value]


def uint_of(x: object, what: str, bits: int = 32) -> int:
    """An unsigned number token: an index, a limit, a lane."""
    try:
        return parse_uint(atom_text(x, what), bits)
    except LiteralError as exc:
        raise error(str(exc), x) from None


def string_of(x: object) -> bytes:
    if not isinstance(x, Atom) or x.kind != "str":
        raise error("expected a string", x)
    return x.value  # type: ignore[return-value]


def name_of(x: object) -> str:
    try:
        return string_of(x).decode("utf-8")
    except UnicodeDecodeError:
        raise error("malformed UTF-8 encoding", x) from None


def valtype(x: object) -> str:
    if isinstance(x, SList) and len(x) == 3 and is_kw(x[0], "ref") and is_kw(x[1], "null") and is_kw(
            x[2], "func", "extern"):
        return HEAPTYPES[x[2].value]  # (ref null func) spells funcref
    text = atom_text(x, "a value type")
    if text not in VALTYPES:
        raise error(f"unknown value type {text}", x)
    return text


def reftype(x: object) -> str:
    t = valtype(x)
    if t not in ("funcref", "externref"):
        raise error(f"expected a reference type, got {t}", x)
    return t


def declared_types(item: SList, names: dict[str, int], index: int) -> list[str]:
    """The types of one `(param ...)` or `(local ...)` clause whose first local is number ``index``;
    a `$name` (allowed only with a single type) is recorded in ``names``."""
    if len(item) >= 2 and is_id(item[1]):
        if len(item) != 3:
            raise error(f"a named {head(item)} takes exactly one type", item)
        if item[1].value in names:
            raise error(f"duplicate local {item[1].value}", item)
        names[item[1].value] = index
        return [valtype(item[2])]
    return [valtype(t) for t in item[1:]]


class Cursor:
    """Walks the items of one S-expression list."""

    def __init__(self, items: list, start: int = 0, where: object = None) -> None:
        self.items = items
        self.pos = start
        self.where = where if where is not None else items

    def peek(self) -> Any:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def next(self, what: str = "more") -> Any:
        if self.pos >= len(self.items):
            raise error(f"unexpected end: expected {what}", self.where)
        item = self.items[self.pos]
        self.pos += 1
        return item

    def done(self) -> bool:
        return self.pos >= len(self.items)

    def take_id(self) -> str | None:
        if is_id(self.peek()):
            return self.next().value
        return None

    def take_list(self, name: str) -> SList | None:
        if head(self.peek()) == name:
            return self.next()
        return None

    def expect_end(self) -> None:
        if not self.done():
            raise error(f"unexpected token {self.peek()!r}", self.peek())


class Space:
    """One index space: names to indices."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.names: dict[str, int] = {}
        self.count = 0

    def add(self, name: str | None, where: object) -> int:
        if name is not None:
            if name in self.names:
                raise error(f"duplicate {self.what} {name}", where)
            self.names[name] = self.count
        self.count += 1
        return self.count - 1

    def resolve(self, x: object) -> int:
        text = atom_text(x, f"a {self.what} index")
        if text.startswith("$"):
            if text not in self.names:
                raise error(f"unknown {self.what} {text}", x)
            return self.names[text]
        return uint_of(x, f"a {self.what} index")


class ModuleParser:
    """Two passes over the module fields, both in textual order: the first fills
    the index spaces (so names resolve before their definition), the second
    builds every definition, appending implicit types in order of appearance.
    """

    def __init__(self, fields: list) -> None:
        self.fields = fields
        self.module = Module()
        self.spaces = {k: Space(k) for k in ("type", "func", "table", "memory", "global", "elem", "data")}
        self.defined = {k: 0 for k in KINDS}  # entities built so far by the second pass

    # ---- types

    def parse_functype(self, cur: Cursor) -> tuple[FuncType, dict[str, int]]:
        params: list[str] = []
        results: list[str] = []
        names: dict[str, int] = {}
        while head(cur.peek()) == "param":
            params.extend(declared_types(cur.next(), names, len(params)))
        while head(cur.peek()) == "result":
            results.extend(valtype(t) for t in cur.next()[1:])
        if head(cur.peek()) == "param":
            raise error("param after result", cur.peek())
        return FuncType(tuple(params), tuple(results)), names

    def type_index_for(self, ty: FuncType) -> int:
        """The first type index equal to `ty`, appending an implicit definition if there is none."""
        if ty in self.module.types:
            return self.module.types.index(ty)
        self.module.types.append(ty)
        return len(self.module.types) - 1

    def typeuse(self, cur: Cursor) -> tuple[int, FuncType, dict[str, int]]:
        """`(type x)? (param ...)* (result ...)*` → type index, type, param names."""
        ref = cur.take_list("type")
        if ref is None:
            ty, names = self.parse_functype(cur)
            return self.type_index_for(ty), ty, names
        if len(ref) != 2:
            raise error("malformed type use", ref)
        index = self.spaces["type"].resolve(ref[1])
        inline = head(cur.peek()) in ("param", "result")
        if index >= len(self.module.types):
            if inline:  # nothing to check the inline type against
                raise error(f"unknown type {index}", ref)
            return index, FuncType((), ()), {}  # invalid, not malformed: the validator says so
        declared = self.module.types[index]
        if not inline:
            return index, declared, {}
        ty, names = self.parse_functype(cur)
        if ty != declared:
            raise error("inline function type does not match the type use", ref)
        return index, declared, names

    def define_type(self, field: SList) -> None:
        cur = Cursor(field, 1)
        self.spaces["type"].add(cur.take_id(), field)
        fn = cur.next("a function type")
        if head(fn) != "func":
            raise error("expected (func ...) in type definition", fn)
        inner = Cursor(fn, 1)
        ty, _ = self.parse_functype(inner)
        inner.expect_end()
        cur.expect_end()
        self.module.types.append(ty)

    # ---- pass 1: index spaces

    def declare(self) -> None:
        defined_any = False
        for field in self.fields:
            kind = head(field)
            if kind not in MODULE_FIELDS:
                raise error(f"unknown module field {kind}" if kind else "expected a module field", field)
            if kind == "type":
                self.define_type(field)
            elif kind in ("elem", "data"):
                self.spaces[kind].add(Cursor(field, 1).take_id(), field)
            elif kind == "import":
                if defined_any:
                    raise error("import after function/table/memory/global definition", field)
                desc = field[3] if len(field) == 4 else None
                if head(desc) not in KINDS:
                    raise error("malformed import", field)
                self.spaces[head(desc)].add(Cursor(desc, 1).take_id(), desc)
            elif kind in KINDS:
                ident, cur = self.entity_header(field)
                if cur.take_list("import") is not None:
                    if defined_any:
                        raise error("import after function/table/memory/global definition", field)
                else:
                    defined_any = True
                    self.declare_inline_segment(kind, cur, field)
                self.spaces[kind].add(ident, field)

    def entity_header(self, field: SList) -> tuple[str | None, Cursor]:
        """The id of a func/table/memory/global field, and a cursor past its inline exports."""
        cur = Cursor(field, 1)
        ident = cur.take_id()
        while head(cur.peek()) == "export":
            cur.next()
        return ident, cur

    def declare_inline_segment(self, kind: str, cur: Cursor, field: SList) -> None:
        """`(table reftype (elem ...))` and `(memory (data ...))` define a segment too."""
        if kind == "table" and any(head(x) == "elem" for x in field[cur.pos:]):
            self.spaces["elem"].add(None, field)
        elif kind == "memory" and head(cur.peek()) == "data":
            self.spaces["data"].add(None, field)

    # ---- pass 2: definitions

    def parse(self) -> Module:
        self.declare()
        for field in self.fields:
            kind = head(field)
            if kind in KINDS:
                self.define_entity(kind, field)
            elif kind != "type":
                getattr(self, "define_" + kind)(field)
        m = self.module
        m.names.funcs = {index: name[1:] for name, index in self.spaces["func"].names.items()}
        if any(i[0] in ("memory.init", "data.drop") for f in m.funcs for i in f.body):
            m.data_count = len(m.datas)
        return m

    def define_entity(self, kind: str, field: SList) -> None:
        """A func/table/memory/global field: its inline exports, then an inline import or a definition."""
        index = self.defined[kind]
        self.defined[kind] += 1
        _, cur = self.entity_header(field)
        for item in field[1:cur.pos]:
            if is_id(item):
                continue
            if len(item) != 2:
                raise error("malformed inline export", item)
            self.module.exports.append(Export(name_of(item[1]), kind, index))
        imported = cur.take_list("import")
        if imported is not None:
            if len(imported) != 3:
                raise error("malformed inline import", imported)
            self.import_desc(kind, cur, name_of(imported[1]), name_of(imported[2]), index)
        else:
            getattr(self, "define_" + kind)(cur, field, index)
        cur.expect_end()

    def define_import(self, field: SList) -> None:
        desc = field[3]
        kind = head(desc)
        index = self.defined[kind]
        self.defined[kind] += 1
        cur = Cursor(desc, 1)
        cur.take_id()
        self.import_desc(kind, cur, name_of(field[1]), name_of(field[2]), index)
        cur.expect_end()

    def import_desc(self, kind: str, cur: Cursor, module: str, name: str, index: int) -> None:
        if kind == "func":
            desc: Any = self.typeuse(cur)[0]
        elif kind == "table":
            limits = self.limits(cur)
            desc = TableType(reftype(cur.next("a reference type")), limits)
        elif kind == "memory":
            desc = MemoryType(self.limits(cur))
        else:
            desc = self.globaltype(cur.next("a global type"))
        self.module.imports.append(Import(module, name, kind, desc))

    def limits(self, cur: Cursor) -> Limits:
        lo = uint_of(cur.next("limits"), "limits")
        return Limits(lo, uint_of(cur.next(), "limits") if is_number(cur.peek()) else None)

    def globaltype(self, x: object) -> GlobalType:
        if head(x) == "mut":
            if len(x) != 2:
                raise error("malformed mutable global type", x)
            return GlobalType(valtype(x[1]), True)
        return GlobalType(valtype(x), False)

    def define_func(self, cur: Cursor, field: SList, index: int) -> None:
        type_index, ty, names = self.typeuse(cur)
        local_types: list[str] = []
        local_names = dict(names)
        while head(cur.peek()) == "local":
            local_types.extend(declared_types(cur.next(), local_names, len(ty.params) + len(local_types)))
        body = FuncBody(self, local_names)
        while not cur.done():
            body.instr_item(cur)
        self.module.funcs.append(Func(type_index, local_types, body.code + [("end",)]))
        if local_names:
            self.module.names.locals[index] = {i: n[1:] for n, i in local_names.items()}

    def define_table(self, cur: Cursor, field: SList, index: int) -> None:
        if head(cur.peek()) == "ref" or is_kw(cur.peek(), "funcref", "externref"):
            elemtype = reftype(cur.next())
            elems = cur.take_list("elem")
            if elems is None:
                raise error("expected (elem ...) after the element type", field)
            init = self.elem_list(Cursor(elems, 1), elemtype)
            self.module.tables.append(TableType(elemtype, Limits(len(init), len(init))))
            self.module.elems.append(Elem("active", elemtype, init, index, [("i32.const", 0), ("end",)]))
            return
        limits = self.limits(cur)
        self.module.tables.append(TableType(reftype(cur.next("a reference type")), limits))

    def define_memory(self, cur: Cursor, field: SList, index: int) -> None:
        data = cur.take_list("data")
        if data is None:
            self.module.memories.append(MemoryType(self.limits(cur)))
            return
        init = b"".join(string_of(s) for s in data[1:])
        pages = (len(init) + PAGE_SIZE - 1) // PAGE_SIZE
        self.module.memories.append(MemoryType(Limits(pages, pages)))
        self.module.datas.append(Data("active", init, index, [("i32.const", 0), ("end",)]))

    def define_global(self, cur: Cursor, field: SList, index: int) -> None:
        gtype = self.globaltype(cur.next("a global type"))
        self.module.globals.append(Global(gtype, self.const_expr(cur)))

    def define_export(self, field: SList) -> None:
        if len(field) != 3 or head(field[2]) not in KINDS or len(field[2]) != 2:
            raise error("malformed export", field)
        kind = head(field[2])
        index = self.spaces[kind].resolve(field[2][1])
        self.module.exports.append(Export(name_of(field[1]), kind, index))

    def define_start(self, field: SList) -> None:
        if self.module.start is not None:
            raise error("multiple start sections", field)
        if len(field) != 2:
            raise error("malformed start", field)
        self.module.start = self.spaces["func"].resolve(field[1])

    def const_expr(self, cur: Cursor) -> list[tuple]:
        body = FuncBody(self, {})
        while not cur.done():
            body.instr_item(cur)
        return body.code + [("end",)]

    def offset_expr(self, cur: Cursor) -> list[tuple]:
        item = cur.next("an offset")
        if head(item) == "offset":
            return self.const_expr(Cursor(item, 1))
        if not isinstance(item, SList):
            raise error("expected an offset expression", item)
        return self.const_expr(Cursor([item]))

    def elem_list(self, cur: Cursor, elemtype: str) -> list[list[tuple]]:
        """Element expressions: `func` and function indices, or `(item ...)` / folded expressions."""
        if is_kw(cur.peek(), "func") or (isinstance(cur.peek(), Atom) and elemtype == "funcref"):
            if is_kw(cur.peek(), "func"):
                cur.next()
            return [[("ref.func", self.spaces["func"].resolve(x)), ("end",)] for x in cur.items[cur.pos:]]
        exprs = []
        while not cur.done():
            item = cur.next()
            if head(item) == "item":
                exprs.append(self.const_expr(Cursor(item, 1)))
            elif isinstance(item, SList):
                exprs.append(self.const_expr(Cursor([item])))
            else:
                raise error("expected an element expression", item)
        return exprs

    def define_elem(self, field: SList) -> None:
        cur = Cursor(field, 1)
        cur.take_id()
        if is_kw(cur.peek(), "declare"):
            cur.next()
            elemtype = self.elemtype_of(cur)
            self.module.elems.append(Elem("declarative", elemtype, self.elem_list(cur, elemtype)))
            return
        table_item = cur.take_list("table")
        if table_item is None and not (isinstance(cur.peek(), SList) and head(cur.peek()) != "ref"):
            elemtype = self.elemtype_of(cur)
            self.module.elems.append(Elem("passive", elemtype, self.elem_list(cur, elemtype)))
            return
        if table_item is not None and len(table_item) != 2:
            raise error("malformed table use", table_item)
        table = self.spaces["table"].resolve(table_item[1]) if table_item is not None else 0
        offset = self.offset_expr(cur)
        legacy = table_item is None and (cur.done() or is_index(cur.peek()))
        elemtype = "funcref" if legacy else self.elemtype_of(cur)
        self.module.elems.append(Elem("active", elemtype, self.elem_list(cur, elemtype), table, offset))

    def elemtype_of(self, cur: Cursor) -> str:
        if is_kw(cur.peek(), "func"):
            return "funcref"
        return reftype(cur.next("an element type"))

    def define_data(self, field: SList) -> None:
        cur = Cursor(field, 1)
        cur.take_id()
        mem_item = cur.take_list("memory")
        if mem_item is not None and len(mem_item) != 2:
            raise error("malformed memory use", mem_item)
        if mem_item is None and not isinstance(cur.peek(), SList):
            self.module.datas.append(Data("passive", b"".join(string_of(s) for s in cur.items[cur.pos:])))
            return
        mem = self.spaces["memory"].resolve(mem_item[1]) if mem_item is not None else 0
        offset = self.offset_expr(cur)
        init = b"".join(string_of(s) for s in cur.items[cur.pos:])
        self.module.datas.append(Data("active", init, mem, offset))


class FuncBody:
    """Instructions of one function (or constant expression), flat or folded."""

    def __init__(self, parser: ModuleParser, local_names: dict[str, int]) -> None:
        self.p = parser
        self.local_names = local_names
        self.labels: list[str | None] = []
        self.code: list[tuple] = []

    def label_index(self, x: object) -> int:
        text = atom_text(x, "a label")
        if text.startswith("$"):
            for depth, name in enumerate(reversed(self.labels)):
                if name == text:
                    return depth
            raise error(f"unknown label {text}", x)
        return uint_of(x, "a label")

    def local_index(self, x: object) -> int:
        text = atom_text(x, "a local")
        if text.startswith("$"):
            if text not in self.local_names:
                raise error(f"unknown local {text}", x)
            return self.local_names[text]
        return uint_of(x, "a local")

    def blocktype(self, cur: Cursor) -> Any:
        if head(cur.peek()) in ("type", "param"):
            index, _, names = self.p.typeuse(cur)
            if names:
                raise error("block parameters cannot be named", cur.where)
            return index
        results: list[str] = []
        while head(cur.peek()) == "result":
            results.extend(valtype(t) for t in cur.next()[1:])
        if head(cur.peek()) == "param":
            raise error("param after result", cur.peek())
        if len(results) > 1:
            return self.p.type_index_for(FuncType((), tuple(results)))
        return results[0] if results else None

    def block_header(self, cur: Cursor) -> tuple[str | None, Any]:
        label = cur.take_id()
        return label, self.blocktype(cur)

    def check_end_label(self, cur: Cursor, label: str | None) -> None:
        if is_id(cur.peek()):
            closing = cur.next()
            if closing.value != label:
                raise error(f"mismatching label {closing.value}", closing)

    # ---- instructions

    def instr_item(self, cur: Cursor) -> None:
        item = cur.peek()
        if isinstance(item, SList):
            cur.next()
            self.folded(item)
            return
        op = atom_text(cur.next(), "an instruction")
        if op in ("block", "loop", "if"):
            label, bt = self.block_header(cur)
            self.code.append((op, bt))
            self.labels.append(label)
            while True:
                nxt = cur.peek()
                if nxt is None:
                    raise error(f"unclosed {op}", cur.where)
                if is_kw(nxt, "end"):
                    cur.next()
                    self.check_end_label(cur, label)
                    break
                if is_kw(nxt, "else"):
                    if op != "if":
                        raise error("else without if", nxt)
                    cur.next()
                    self.check_end_label(cur, label)
                    self.code.append(("else",))
                    continue
                self.instr_item(cur)
            self.labels.pop()
            self.code.append(("end",))
            return
        if op in ("end", "else"):
            raise error(f"unexpected {op}", cur.where)
        self.plain(op, cur)

    def folded(self, item: SList) -> None:
        if not item:
            raise error("expected an instruction", item)
        op = atom_text(item[0], "an instruction")
        cur = Cursor(item, 1)
        if op in ("block", "loop"):
            label, bt = self.block_header(cur)
            self.code.append((op, bt))
            self.labels.append(label)
            while not cur.done():
                self.instr_item(cur)
            self.labels.pop()
            self.code.append(("end",))
            return
        if op == "if":
            label, bt = self.block_header(cur)
            while not cur.done() and head(cur.peek()) not in ("then", "else"):
                nxt = cur.next()
                if not isinstance(nxt, SList):
                    raise error("expected a folded condition or (then ...)", nxt)
                self.folded(nxt)
            then = cur.take_list("then")
            if then is None:
                raise error("expected (then ...)", item)
            self.code.append(("if", bt))
            self.labels.append(label)
            inner = Cursor(then, 1)
            while not inner.done():
                self.instr_item(inner)
            els = cur.take_list("else")
            if els is not None:
                self.code.append(("else",))
                inner = Cursor(els, 1)
                while not inner.done():
                    self.instr_item(inner)
            cur.expect_end()
            self.labels.pop()
            self.code.append(("end",))
            return
        # immediates come first, folded operands after them
        self.plain(op, cur)
        instr = self.code.pop()
        while not cur.done():
            nxt = cur.next()
            if not isinstance(nxt, SList):
                raise error(f"unexpected token {nxt!r} in folded instruction", nxt)
            self.folded(nxt)
        self.code.append(instr)

    def plain(self, op: str, cur: Cursor) -> None:
        info = OPCODES.get(op)
        if info is None:
            raise error(f"unknown operator {op}", cur.where if cur.pos == 0 else cur.items[cur.pos - 1])
        imms = info.imms
        if not imms:
            self.code.append((op,))
            return
        handler = getattr(self, "imm_" + "_".join(imms), None)
        if handler is None:
            raise error(f"unsupported instruction {op}", cur.where)
        try:
            self.code.append(handler(op, cur))
        except LiteralError as exc:
            raise error(str(exc), cur.items[cur.pos - 1] if cur.pos else cur.where) from None

    # immediates, by the kinds in opcodes.IMMEDIATES

    def imm_label(self, op: str, cur: Cursor) -> tuple:
        return (op, self.label_index(cur.next("a label")))

    def imm_labels(self, op: str, cur: Cursor) -> tuple:
        labels = []
        while is_index(cur.peek()):
            labels.append(self.label_index(cur.next()))
        if not labels:
            raise error("br_table needs at least one label", cur.where)
        return (op, tuple(labels[:-1]), labels[-1])

    def index_of(self, space: str, cur: Cursor) -> int:
        return self.p.spaces[space].resolve(cur.next(f"a {space} index"))

    def imm_func(self, op: str, cur: Cursor) -> tuple:
        return (op, self.index_of("func", cur))

    def imm_local(self, op: str, cur: Cursor) -> tuple:
        return (op, self.local_index(cur.next("a local index")))

    def imm_global(self, op: str, cur: Cursor) -> tuple:
        return (op, self.index_of("global", cur))

    def optional_table(self, cur: Cursor) -> int:
        if is_index(cur.peek()):
            return self.index_of("table", cur)
        return 0

    def imm_table(self, op: str, cur: Cursor) -> tuple:
        return (op, self.optional_table(cur))

    def imm_table2(self, op: str, cur: Cursor) -> tuple:
        if is_index(cur.peek()):
            dst = self.index_of("table", cur)
            src = self.index_of("table", cur)
            return (op, dst, src)
        return (op, 0, 0)

    def imm_elem_table(self, op: str, cur: Cursor) -> tuple:
        first = cur.next("an element segment")
        if is_index(cur.peek()):
            table = self.p.spaces["table"].resolve(first)
            return (op, self.p.spaces["elem"].resolve(cur.next()), table)
        return (op, self.p.spaces["elem"].resolve(first), 0)

    def imm_elem(self, op: str, cur: Cursor) -> tuple:
        return (op, self.index_of("elem", cur))

    def imm_data(self, op: str, cur: Cursor) -> tuple:
        return (op, self.index_of("data", cur))

    imm_data_mem = imm_data  # memory.init: the memory index is always 0 in 2.0

    def imm_mem(self, op: str, cur: Cursor) -> tuple:
        return (op,)

    imm_mem2 = imm_mem

    def imm_type_table(self, op: str, cur: Cursor) -> tuple:
        table = self.optional_table(cur)
        index, _, names = self.p.typeuse(cur)
        if names:
            raise error("call_indirect parameters cannot be named", cur.where)
        return (op, index, table)

    def imm_valtypes(self, op: str, cur: Cursor) -> tuple:
        if head(cur.peek()) == "result":
            types: list[str] = []
            while head(cur.peek()) == "result":
                types.extend(valtype(t) for t in cur.next()[1:])
            return (op, tuple(types))
        return (op, None)

    def imm_reftype(self, op: str, cur: Cursor) -> tuple:
        text = atom_text(cur.next("a heap type"), "a heap type")
        if text not in HEAPTYPES:
            raise error(f"unknown heap type {text}", cur.items[cur.pos - 1])
        return (op, HEAPTYPES[text])

    def imm_i32(self, op: str, cur: Cursor) -> tuple:
        return (op, parse_int(atom_text(cur.next("a literal"), "a literal"), 32))

    def imm_i64(self, op: str, cur: Cursor) -> tuple:
        return (op, parse_int(atom_text(cur.next("a literal"), "a literal"), 64))

    def imm_f32(self, op: str, cur: Cursor) -> tuple:
        return (op, parse_f32(atom_text(cur.next("a literal"), "a literal")))

    def imm_f64(self, op: str, cur: Cursor) -> tuple:
        return (op, parse_f64(atom_text(cur.next("a literal"), "a literal")))

    def imm_v128(self, op: str, cur: Cursor) -> tuple:
        return (op, parse_v128(cur))

    def imm_lane(self, op: str, cur: Cursor) -> tuple:
        return (op, uint_of(cur.next("a lane index"), "a lane index", 8))

    def imm_lanes16(self, op: str, cur: Cursor) -> tuple:
        lanes = []
        for _ in range(16):
            lanes.append(uint_of(cur.next("16 lane indices"), "a lane index", 8))
        if is_number(cur.peek()):
            raise error("invalid lane length", cur.peek())
        return (op, tuple(lanes))

    def memarg(self, op: str, cur: Cursor) -> tuple[int, int]:
        offset = 0
        align = NATURAL_ALIGN[op]
        nxt = cur.peek()
        if isinstance(nxt, Atom) and nxt.kind == "atom" and nxt.value.startswith("offset="):
            offset = parse_uint(cur.next().value[7:], 32)
            nxt = cur.peek()
        if isinstance(nxt, Atom) and nxt.kind == "atom" and nxt.value.startswith("align="):
            value = parse_uint(cur.next().value[6:], 32)
            if value == 0 or value & (value - 1):
                raise error("alignment must be a power of two", nxt)
            align = value.bit_length() - 1
        return align, offset

    def imm_memarg(self, op: str, cur: Cursor) -> tuple:
        align, offset = self.memarg(op, cur)
        return (op, align, offset)

    def imm_memarg_lane(self, op: str, cur: Cursor) -> tuple:
        align, offset = self.memarg(op, cur)
        return (op, align, offset, uint_of(cur.next("a lane index"), "a lane index", 8))


def lane_bits(shape: str, text: str) -> int:
    """One lane of a `v128.const shape ...` literal, as its bits."""
    width = SHAPES[shape][1]
    return float_bits(text, width) if shape.startswith("f") else parse_int(text, width)


def parse_v128(cur: Cursor) -> int:
    shape = atom_text(cur.next("a vector shape"), "a vector shape")
    if shape not in SHAPES:
        raise error(f"unknown vector shape {shape}", cur.items[cur.pos - 1])
    count, width = SHAPES[shape]
    texts = [atom_text(cur.next(f"{count} lanes"), "a lane value") for _ in range(count)]
    return sum(lane_bits(shape, text) << (k * width) for k, text in enumerate(texts))


def parse_wat(source: str) -> Module:
    """Parse a WAT module (the `(module ...)` form, or its fields alone)."""
    items = parse_sexprs(source)
    if len(items) == 1 and head(items[0]) == "module":
        return parse_module_sexpr(items[0])
    return module_from_fields(list(items), items)


def parse_module_sexpr(item: SList) -> Module:
    cur = Cursor(item, 1)
    name = cur.take_id()
    if is_kw(cur.peek(), "binary", "quote"):
        raise error("binary and quote modules are script forms", item)
    module = module_from_fields(item[cur.pos:], item)
    if name:
        module.names.module = name[1:]
    return module


def module_from_fields(fields: list, where: object) -> Module:
    for f in fields:
        if not isinstance(f, SList):
            raise error(f"unexpected token {f!r}", f)
    try:
        return ModuleParser(fields).parse()
    except LiteralError as exc:
        raise DecodeError(f"line {line_of(where)}: {exc}") from None


def wat_to_wasm(source: str) -> bytes:
    """Assemble WAT text into a binary module."""
    return encode_module(parse_wat(source))
