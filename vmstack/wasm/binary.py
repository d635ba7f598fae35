"""The WebAssembly 2.0 binary decoder: bytes → ``module.Module``.

Everything the spec calls *malformed* is rejected here with a DecodeError that
names the byte offset; typing rules are the validator's job. Function bodies
are decoded once into flat instruction tuples (see module.py).
"""

from __future__ import annotations

from .errors import DecodeError
from .module import (
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
    Names,
    TableType,
    CustomSection,
)
from .numeric import f32_from_bits, f64_from_bits
from .opcodes import BY_CODE

VALTYPE_CODES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref",
                 0x6F: "externref"}
REFTYPE_CODES = {0x70: "funcref", 0x6F: "externref"}
EXTERN_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global"}
MAX_LOCALS = 50000


class Reader:
    """A cursor over the module bytes with the primitive decoders of the spec."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def fail(self, message: str, offset: int | None = None) -> DecodeError:
        return DecodeError(message, self.pos if offset is None else offset)

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def bytes(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise self.fail("unexpected end")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        data, pos, end = self.data, self.pos, self.end
        if pos < end and data[pos] < 0x80:
            self.pos = pos + 1
            return data[pos]
        return self._uleb(32)

    def _leb(self, bits: int, signed: bool) -> int:
        data, end = self.data, self.end
        start = pos = self.pos
        max_bytes = (bits + 6) // 7
        result = shift = 0
        while True:
            if pos >= end:
                self.pos = pos
                raise self.fail("unexpected end")
            b = data[pos]
            pos += 1
            if pos - start == max_bytes:
                if b & 0x80:
                    raise self.fail("integer representation too long", start)
                last_bits = bits - 7 * (max_bytes - 1)
                if signed:
                    mask = (0x7F >> (last_bits - 1)) << (last_bits - 1)
                    if b & mask not in (0, mask):
                        raise self.fail("integer too large", start)
                elif b >> last_bits:
                    raise self.fail("integer too large", start)
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        self.pos = pos
        if signed and result >> (shift - 1) & 1:
            result -= 1 << shift
        return result

    def _uleb(self, bits: int) -> int:
        return self._leb(bits, False)

    def _sleb(self, bits: int) -> int:
        return self._leb(bits, True)

    def s32(self) -> int:
        return self._sleb(32)

    def s33(self) -> int:
        return self._sleb(33)

    def s64(self) -> int:
        return self._sleb(64)

    def name(self) -> str:
        n = self.u32()
        raw = self.bytes(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("malformed UTF-8 encoding") from None

    def valtype(self) -> str:
        b = self.byte()
        t = VALTYPE_CODES.get(b)
        if t is None:
            raise self.fail(f"malformed value type 0x{b:02x}", self.pos - 1)
        return t

    def reftype(self) -> str:
        b = self.byte()
        t = REFTYPE_CODES.get(b)
        if t is None:
            raise self.fail(f"malformed reference type 0x{b:02x}", self.pos - 1)
        return t

    def limits(self) -> Limits:
        flag = self.byte()
        if flag == 0:
            return Limits(self.u32())
        if flag == 1:
            lo = self.u32()
            return Limits(lo, self.u32())
        raise self.fail("integer too large" if flag > 1 else "malformed limits flags", self.pos - 1)

    def vec(self, item) -> list:
        n = self.u32()
        if n > self.end - self.pos:
            raise self.fail("unexpected end")  # each item takes at least one byte
        return [item() for _ in range(n)]


# ---------------------------------------------------------------- instructions


def _read_memarg(r: Reader) -> tuple[int, int]:
    align = r.u32()
    if align >= 64:  # bit 6 would select a memory index (multi-memory): not in 2.0
        raise r.fail("malformed memop flags")
    return align, r.u32()


def _read_blocktype(r: Reader):
    b = r.data[r.pos] if r.pos < r.end else -1
    if b == 0x40:
        r.pos += 1
        return None
    if b in VALTYPE_CODES:
        r.pos += 1
        return VALTYPE_CODES[b]
    idx = r.s33()
    if idx < 0:
        raise r.fail("malformed block type")
    return idx


def _zero_byte(r: Reader) -> int:
    b = r.byte()
    if b != 0:
        raise r.fail("zero byte expected", r.pos - 1)
    return 0


def _f32(r: Reader) -> float:
    return f32_from_bits(int.from_bytes(r.bytes(4), "little"))


def _f64(r: Reader) -> float:
    return f64_from_bits(int.from_bytes(r.bytes(8), "little"))


def _br_table(r: Reader):
    labels = tuple(r.vec(r.u32))
    return labels, r.u32()


def _select_types(r: Reader):
    return tuple(r.vec(r.valtype))


IMMEDIATE_READERS = {
    "blocktype": _read_blocktype,
    "label": Reader.u32, "func": Reader.u32, "type": Reader.u32, "table": Reader.u32,
    "local": Reader.u32, "global": Reader.u32, "data": Reader.u32, "elem": Reader.u32,
    "mem": _zero_byte,
    "i32": lambda r: r.s32() & 0xFFFFFFFF,
    "i64": lambda r: r.s64() & 0xFFFFFFFFFFFFFFFF,
    "f32": _f32, "f64": _f64,
    "v128": lambda r: int.from_bytes(r.bytes(16), "little"),
    "lane": Reader.byte,
    "lanes16": lambda r: tuple(r.bytes(16)),
    "reftype": Reader.reftype,
}


def _decode_instr(r: Reader, op_byte: int) -> tuple:
    if op_byte in (0xFC, 0xFD):
        sub = r.u32()
        op = BY_CODE.get((op_byte, sub))
        if op is None:
            raise r.fail(f"illegal opcode 0x{op_byte:02x} {sub}")
    else:
        op = BY_CODE.get((None, op_byte))
        if op is None:
            raise r.fail(f"illegal opcode 0x{op_byte:02x}", r.pos - 1)
    name = op.name
    imms = op.imms
    if not imms:
        return (name,)
    if name == "select":
        return ("select", _select_types(r)) if op_byte == 0x1C else ("select", None)
    if imms == ("memarg",):
        align, offset = _read_memarg(r)
        return (name, align, offset)
    if imms == ("memarg", "lane"):
        align, offset = _read_memarg(r)
        return (name, align, offset, r.byte())
    if imms == ("labels",):
        labels, default = _br_table(r)
        return (name, labels, default)
    if imms == ("table2",):
        return (name, r.u32(), r.u32())
    if imms == ("mem2",):
        _zero_byte(r)
        _zero_byte(r)
        return (name,)
    if name in ("memory.size", "memory.grow", "memory.fill"):
        _zero_byte(r)
        return (name,)
    if name == "memory.init":
        idx = r.u32()
        _zero_byte(r)
        return (name, idx)
    return (name, *[IMMEDIATE_READERS[k](r) for k in imms])


def decode_expr(r: Reader, offsets: list[int] | None = None) -> list[tuple]:
    """Instructions up to and including the `end` that closes the expression."""
    body: list[tuple] = []
    depth = 0
    data = r.data
    while True:
        if r.pos >= r.end:
            raise r.fail("unexpected end of section or function")
        if offsets is not None:
            offsets.append(r.pos)
        op_byte = data[r.pos]
        r.pos += 1
        instr = _decode_instr(r, op_byte)
        body.append(instr)
        name = instr[0]
        if name in ("block", "loop", "if"):
            depth += 1
        elif name == "end":
            if depth == 0:
                return body
            depth -= 1


# ---------------------------------------------------------------- sections


def _decode_functype(r: Reader) -> FuncType:
    form = r.byte()
    if form != 0x60:
        raise r.fail(f"malformed function type 0x{form:02x}", r.pos - 1)
    params = tuple(r.vec(r.valtype))
    return FuncType(params, tuple(r.vec(r.valtype)))


def _decode_tabletype(r: Reader) -> TableType:
    t = r.reftype()
    return TableType(t, r.limits())


def _decode_globaltype(r: Reader) -> GlobalType:
    t = r.valtype()
    m = r.byte()
    if m > 1:
        raise r.fail("malformed mutability", r.pos - 1)
    return GlobalType(t, m == 1)


def _decode_import(r: Reader) -> Import:
    module = r.name()
    name = r.name()
    kind_byte = r.byte()
    kind = EXTERN_KINDS.get(kind_byte)
    if kind == "func":
        desc = r.u32()
    elif kind == "table":
        desc = _decode_tabletype(r)
    elif kind == "memory":
        desc = MemoryType(r.limits())
    elif kind == "global":
        desc = _decode_globaltype(r)
    else:
        raise r.fail("malformed import kind", r.pos - 1)
    return Import(module, name, kind, desc)


def _decode_export(r: Reader) -> Export:
    name = r.name()
    kind = EXTERN_KINDS.get(r.byte())
    if kind is None:
        raise r.fail("malformed export kind", r.pos - 1)
    return Export(name, kind, r.u32())


def _ref_func_exprs(r: Reader) -> list[list[tuple]]:
    return [[("ref.func", idx), ("end",)] for idx in r.vec(r.u32)]


def _decode_elem(r: Reader) -> Elem:
    flags = r.u32()
    if flags > 7:
        raise r.fail("malformed elements segment kind")
    exprs = bool(flags & 4)
    if flags & 1:
        mode = "declarative" if flags & 2 else "passive"
        table, offset = 0, None
    else:
        mode = "active"
        table = r.u32() if flags & 2 else 0
        offset = decode_expr(r)
    if flags & 3:  # an elemkind or reftype is present
        if exprs:
            elemtype = r.reftype()
        else:
            kind = r.byte()
            if kind != 0:
                raise r.fail("malformed element kind", r.pos - 1)
            elemtype = "funcref"
    else:
        elemtype = "funcref"
    init = r.vec(lambda: decode_expr(r)) if exprs else _ref_func_exprs(r)
    return Elem(mode, elemtype, init, table, offset)


def _decode_data(r: Reader) -> Data:
    flags = r.u32()
    if flags == 0:
        offset = decode_expr(r)
        return Data("active", r.bytes(r.u32()), 0, offset)
    if flags == 1:
        return Data("passive", r.bytes(r.u32()))
    if flags == 2:
        mem = r.u32()
        offset = decode_expr(r)
        return Data("active", r.bytes(r.u32()), mem, offset)
    raise r.fail("malformed data segment kind")


def _decode_code(r: Reader, func: Func) -> None:
    size = r.u32()
    start = r.pos
    end = start + size
    if end > r.end:
        raise r.fail("unexpected end of section or function")
    body_reader = Reader(r.data, start, end)
    locals_: list[str] = []
    total = 0
    for _ in range(body_reader.u32()):
        count = body_reader.u32()
        total += count
        if total > MAX_LOCALS:
            raise body_reader.fail("too many locals")
        locals_.extend([body_reader.valtype()] * count)
    func.locals = locals_
    func.body_offset = start
    func.body = decode_expr(body_reader, func.offsets)
    if body_reader.pos != end:
        raise r.fail("section size mismatch: function body has trailing bytes", body_reader.pos)
    r.pos = end


def _decode_names(data: bytes) -> Names:
    names = Names()
    r = Reader(data)
    while r.pos < r.end:
        sub_id = r.byte()
        size = r.u32()
        sub = Reader(data, r.pos, r.pos + size)
        if sub.end > r.end:
            raise r.fail("unexpected end")
        if sub_id == 0:
            names.module = sub.name()
        elif sub_id == 1:
            for _ in range(sub.u32()):
                idx = sub.u32()
                names.funcs[idx] = sub.name()
        elif sub_id == 2:
            for _ in range(sub.u32()):
                fidx = sub.u32()
                names.locals[fidx] = {sub.u32(): sub.name() for _ in range(sub.u32())}
        r.pos = sub.end
    return names


SECTION_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}


def decode_module(data: bytes) -> Module:
    """Decode a binary module. Raises DecodeError for anything malformed."""
    data = bytes(data)
    r = Reader(data)
    if r.end < 4 or data[:4] != b"\0asm":
        raise DecodeError("magic header not detected", 0)
    if r.end < 8:
        raise DecodeError("unexpected end", r.end)
    if data[4:8] != b"\x01\0\0\0":
        raise DecodeError("unknown binary version", 4)
    r.pos = 8
    module = Module()
    func_types: list[int] = []
    last_order = 0
    code_seen = False
    while r.pos < r.end:
        section_start = r.pos
        section_id = r.byte()
        size = r.u32()
        end = r.pos + size
        if end > r.end:
            raise r.fail("length out of bounds", section_start)
        s = Reader(data, r.pos, end)
        if section_id == 0:
            name = s.name()
            payload = data[s.pos:end]
            module.customs.append(CustomSection(name, payload))
            if name == "name":
                try:
                    module.names = _decode_names(payload)
                except DecodeError:
                    module.names = Names()  # a broken name section does not make the module malformed
            r.pos = end
            continue
        order = SECTION_ORDER.get(section_id)
        if order is None:
            raise r.fail(f"malformed section id {section_id}", section_start)
        if order <= last_order:
            raise r.fail("unexpected content after last section" if section_id in SECTION_ORDER
                         else "junk after last section", section_start)
        last_order = order
        if section_id == 1:
            module.types = s.vec(lambda: _decode_functype(s))
        elif section_id == 2:
            module.imports = s.vec(lambda: _decode_import(s))
        elif section_id == 3:
            func_types = s.vec(s.u32)
        elif section_id == 4:
            module.tables = s.vec(lambda: _decode_tabletype(s))
        elif section_id == 5:
            module.memories = s.vec(lambda: MemoryType(s.limits()))
        elif section_id == 6:
            module.globals = s.vec(lambda: Global(_decode_globaltype(s), decode_expr(s)))
        elif section_id == 7:
            module.exports = s.vec(lambda: _decode_export(s))
        elif section_id == 8:
            module.start = s.u32()
        elif section_id == 9:
            module.elems = s.vec(lambda: _decode_elem(s))
        elif section_id == 12:
            module.data_count = s.u32()
        elif section_id == 10:
            code_seen = True
            n = s.u32()
            if n != len(func_types):
                raise s.fail("function and code section have inconsistent lengths")
            module.funcs = [Func(t, [], []) for t in func_types]
            for func in module.funcs:
                _decode_code(s, func)
        elif section_id == 11:
            module.datas = s.vec(lambda: _decode_data(s))
            if module.data_count is not None and module.data_count != len(module.datas):
                raise s.fail("data count and data section have inconsistent lengths")
        if s.pos != end:
            raise r.fail("section size mismatch", s.pos)
        r.pos = end
    if func_types and not code_seen:
        raise DecodeError("function and code section have inconsistent lengths", r.pos)
    if module.data_count is not None and module.data_count != len(module.datas):
        raise DecodeError("data count and data section have inconsistent lengths", r.pos)
    if module.data_count is None and module.datas and _uses_data_count(module):
        raise DecodeError("data count section required", r.pos)
    return module


def _uses_data_count(module: Module) -> bool:
    return any(instr[0] in ("memory.init", "data.drop") for func in module.funcs for instr in func.body)
