"""The WebAssembly 2.0 binary decoder: bytes → ``module.Module``.

Everything the spec calls *malformed* is rejected here with a DecodeError that
names the byte offset; typing rules are the validator's job. Function bodies
are decoded once into flat instruction tuples (see module.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .errors import DecodeError
from .module import (
    CustomSection,
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
)
from .numeric import f32_from_bits, f64_from_bits
from .opcodes import BY_CODE, Op

VALTYPE_CODES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref",
                 0x6F: "externref"}
REFTYPE_CODES = {0x70: "funcref", 0x6F: "externref"}
EXTERN_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global"}
T = TypeVar("T")
MAX_LOCALS = 2**32 - 1  # the spec's bound on a function's locals
LOCALS_LIMIT = 50_000  # this implementation's bound (as wasmtime's and V8's): locals are expanded
DATA_COUNT_USERS = ("memory.init", "data.drop")  # instructions that need the data count section


class Reader:
    """A cursor over the module bytes with the primitive decoders of the spec."""

    __slots__ = ("data", "end", "pos")

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
        return self._leb(32, False)

    def _leb(self, bits: int, signed: bool) -> int:
        """LEB128 of at most ``bits`` bits: no more bytes than needed, unused bits of the last one clear
        (or, when signed, copies of the sign bit)."""
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

    def s32(self) -> int:
        return self._leb(32, True)

    def s33(self) -> int:
        return self._leb(33, True)

    def s64(self) -> int:
        return self._leb(64, True)

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
        raise self.fail("integer too large", self.pos - 1)  # the suite's message for a malformed limits flag

    def vec(self, item: Callable[[Reader], T]) -> list[T]:
        n = self.u32()
        if n > self.end - self.pos:
            raise self.fail("unexpected end")  # each item takes at least one byte
        return [item(self) for _ in range(n)]


# ---------------------------------------------------------------- instructions

InstrReader = Callable[[Reader], tuple]
END = ("end",)
BLOCK_OPENERS = (0x02, 0x03, 0x04)  # block, loop, if
RESERVED_MEMORY_BYTES = {"mem": 1, "mem2": 2}  # memory index 0x00 bytes: checked, not kept


def _blocktype(r: Reader) -> str | int | None:
    b = r.data[r.pos] if r.pos < r.end else -1
    if b == 0x40:
        r.pos += 1
        return None
    if b in VALTYPE_CODES:
        r.pos += 1
        return VALTYPE_CODES[b]
    start = r.pos
    idx = r.s33()
    if idx < 0:
        raise r.fail("malformed block type", start)
    return idx


def _zero_byte(r: Reader) -> None:
    if r.byte() != 0:
        raise r.fail("zero byte expected", r.pos - 1)


def _f32(r: Reader) -> float:
    return f32_from_bits(int.from_bytes(r.bytes(4), "little"))


def _f64(r: Reader) -> float:
    return f64_from_bits(int.from_bytes(r.bytes(8), "little"))


def _label_vector(r: Reader) -> tuple[int, ...]:
    return tuple(r.vec(Reader.u32))


def _valtype_vector(r: Reader) -> tuple[str, ...]:
    return tuple(r.vec(Reader.valtype))


# the readers of each immediate kind; one kind may stand for several tuple fields
FIELD_READERS: dict[str, tuple[Callable[[Reader], object], ...]] = {
    "blocktype": (_blocktype,),
    "label": (Reader.u32,), "func": (Reader.u32,), "type": (Reader.u32,), "table": (Reader.u32,),
    "local": (Reader.u32,), "global": (Reader.u32,), "data": (Reader.u32,), "elem": (Reader.u32,),
    "labels": (_label_vector, Reader.u32),
    "table2": (Reader.u32, Reader.u32),
    "memarg": (Reader.u32, Reader.u32),
    "mem": (), "mem2": (),
    "i32": (lambda r: r.s32() & 0xFFFFFFFF,),
    "i64": (lambda r: r.s64() & 0xFFFFFFFFFFFFFFFF,),
    "f32": (_f32,), "f64": (_f64,),
    "v128": (lambda r: int.from_bytes(r.bytes(16), "little"),),
    "lane": (Reader.byte,),
    "lanes16": (lambda r: tuple(r.bytes(16)),),
    "reftype": (Reader.reftype,),
    "valtypes": (_valtype_vector,),
}


def _instr_reader(op: Op) -> tuple | InstrReader:
    """A shared tuple for an instruction without immediates, else a function reading its tuple."""
    name = op.name
    if name == "select" and op.code == 0x1B:
        return ("select", None)
    fields = tuple(read for kind in op.imms for read in FIELD_READERS[kind])
    zero_bytes = sum(RESERVED_MEMORY_BYTES.get(kind, 0) for kind in op.imms)
    if zero_bytes:
        def read_with_memory_index(r: Reader) -> tuple:
            instr = (name, *[read(r) for read in fields])
            for _ in range(zero_bytes):
                _zero_byte(r)
            return instr
        return read_with_memory_index
    if not fields:
        return (name,)
    if len(fields) == 1:
        (read_field,) = fields

        def read_one(r: Reader) -> tuple:
            return (name, read_field(r))
        return read_one

    def read_many(r: Reader) -> tuple:
        return (name, *[read(r) for read in fields])
    return read_many


def _prefixed_reader(prefix: int, entries: dict[int, tuple | InstrReader]) -> InstrReader:
    def read_prefixed(r: Reader) -> tuple:
        start = r.pos - 1
        sub = r.u32()
        entry = entries.get(sub)
        if entry is None:
            raise r.fail(f"illegal opcode 0x{prefix:02x} {sub}", start)
        return entry if entry.__class__ is tuple else entry(r)
    return read_prefixed


def _build_instr_table() -> list[tuple | InstrReader | None]:
    table: list[tuple | InstrReader | None] = [None] * 256
    prefixed: dict[int, dict[int, tuple | InstrReader]] = {0xFC: {}, 0xFD: {}}
    for (prefix, code), op in BY_CODE.items():
        if prefix is None:
            table[code] = _instr_reader(op)
        else:
            prefixed[prefix][code] = _instr_reader(op)
    for prefix, entries in prefixed.items():
        table[prefix] = _prefixed_reader(prefix, entries)
    table[0x0B] = END
    return table


INSTR_TABLE = _build_instr_table()


def decode_expr(r: Reader, offsets: list[int] | None = None) -> list[tuple]:
    """Instructions up to and including the `end` that closes the expression.

    ``offsets``, when given, receives the byte offset of each instruction.
    """
    body: list[tuple] = []
    append = body.append
    offsets = [] if offsets is None else offsets
    append_offset = offsets.append
    data, table = r.data, INSTR_TABLE
    depth = 0
    while True:
        pos = r.pos
        if pos >= r.end:
            raise r.fail("unexpected end of section or function")
        append_offset(pos)
        op_byte = data[pos]
        entry = table[op_byte]
        r.pos = pos + 1
        if entry.__class__ is tuple:
            instr = entry
        elif entry is None:
            raise r.fail(f"illegal opcode 0x{op_byte:02x}", pos)
        else:
            instr = entry(r)
        append(instr)
        if instr is END:
            if depth == 0:
                return body
            depth -= 1
        elif op_byte in BLOCK_OPENERS:
            depth += 1


# ---------------------------------------------------------------- sections


def _functype(r: Reader) -> FuncType:
    form = r.byte()
    if form != 0x60:
        raise r.fail(f"malformed function type 0x{form:02x}", r.pos - 1)
    params = _valtype_vector(r)
    return FuncType(params, _valtype_vector(r))


def _tabletype(r: Reader) -> TableType:
    elemtype = r.reftype()
    return TableType(elemtype, r.limits())


def _memtype(r: Reader) -> MemoryType:
    return MemoryType(r.limits())


def _globaltype(r: Reader) -> GlobalType:
    valtype = r.valtype()
    mutability = r.byte()
    if mutability > 1:
        raise r.fail("malformed mutability", r.pos - 1)
    return GlobalType(valtype, mutability == 1)


def _import(r: Reader) -> Import:
    module = r.name()
    name = r.name()
    kind = EXTERN_KINDS.get(r.byte())
    if kind is None:
        raise r.fail("malformed import kind", r.pos - 1)
    desc_readers = {"func": Reader.u32, "table": _tabletype, "memory": _memtype, "global": _globaltype}
    return Import(module, name, kind, desc_readers[kind](r))


def _global(r: Reader) -> Global:
    globaltype = _globaltype(r)
    return Global(globaltype, decode_expr(r))


def _export(r: Reader) -> Export:
    name = r.name()
    kind = EXTERN_KINDS.get(r.byte())
    if kind is None:
        raise r.fail("malformed export kind", r.pos - 1)
    return Export(name, kind, r.u32())


def _elem(r: Reader) -> Elem:
    """An element segment; flags bit 0: passive/declarative, bit 1: table index or declarative,
    bit 2: element expressions instead of function indices."""
    flags = r.u32()
    if flags > 7:
        raise r.fail("malformed elements segment kind")
    uses_exprs = bool(flags & 4)
    if flags & 1:
        mode = "declarative" if flags & 2 else "passive"
        table, offset = 0, None
    else:
        mode = "active"
        table = r.u32() if flags & 2 else 0
        offset = decode_expr(r)
    elemtype = "funcref"
    if flags & 3 and uses_exprs:
        elemtype = r.reftype()
    elif flags & 3 and r.byte() != 0:
        raise r.fail("malformed element kind", r.pos - 1)
    if uses_exprs:
        init = r.vec(decode_expr)
    else:
        init = [[("ref.func", idx), END] for idx in r.vec(Reader.u32)]
    return Elem(mode, elemtype, init, table, offset)


def _data(r: Reader) -> Data:
    flags = r.u32()
    if flags == 1:
        return Data("passive", r.bytes(r.u32()))
    if flags not in (0, 2):
        raise r.fail("malformed data segment kind")
    memory = r.u32() if flags == 2 else 0
    offset = decode_expr(r)
    return Data("active", r.bytes(r.u32()), memory, offset)


def _locals(r: Reader) -> list[str]:
    groups = [(r.u32(), r.valtype()) for _ in range(r.u32())]
    total = sum(count for count, _ in groups)
    if total > MAX_LOCALS:
        raise r.fail("too many locals")
    if total > LOCALS_LIMIT:
        raise r.fail(f"too many locals: {total} exceeds the implementation limit of {LOCALS_LIMIT}")
    return [valtype for count, valtype in groups for _ in range(count)]


def _code(r: Reader, type_index: int) -> Func:
    size = r.u32()
    start, end = r.pos, r.pos + size
    if end > r.end:
        raise r.fail("unexpected end of section or function")
    body = Reader(r.data, start, end)
    func = Func(type_index, _locals(body), [], body_offset=start)
    func.body = decode_expr(body, func.offsets)
    if body.pos != end:
        raise r.fail("section size mismatch: function body has trailing bytes", body.pos)
    r.pos = end
    return func


def _names(data: bytes) -> Names:
    """The name section's module, function and local names (other subsections are skipped)."""
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
            names.funcs = _name_map(sub)
        elif sub_id == 2:
            names.locals = {func: _name_map(sub) for func in _indices(sub)}
        r.pos = sub.end
    return names


def _name_map(r: Reader) -> dict[int, str]:
    return {index: r.name() for index in _indices(r)}


def _indices(r: Reader):
    """Yield the indices of a vector whose items each start with an index (the caller reads the rest)."""
    for _ in range(r.u32()):
        yield r.u32()


def _custom(r: Reader, module: Module) -> None:
    name = r.name()
    payload = r.data[r.pos:r.end]
    r.pos = r.end
    module.customs.append(CustomSection(name, payload))
    if name == "name":
        try:
            module.names = _names(payload)
        except DecodeError:
            module.names = Names()  # a broken name section does not make the module malformed


class _SectionState:
    """What decoding the sections in order has gathered so far."""

    def __init__(self) -> None:
        self.module = Module()
        self.func_type_indices: list[int] = []
        self.code_seen = False


def _function_section(r: Reader, st: _SectionState) -> None:
    st.func_type_indices = r.vec(Reader.u32)


def _code_section(r: Reader, st: _SectionState) -> None:
    st.code_seen = True
    if r.u32() != len(st.func_type_indices):
        raise r.fail("function and code section have inconsistent lengths")
    st.module.funcs = [_code(r, type_index) for type_index in st.func_type_indices]


def _vector_section(attr: str, item: Callable[[Reader], object]) -> Callable[[Reader, _SectionState], None]:
    def decode(r: Reader, st: _SectionState) -> None:
        setattr(st.module, attr, r.vec(item))
    return decode


def _single_section(attr: str) -> Callable[[Reader, _SectionState], None]:
    def decode(r: Reader, st: _SectionState) -> None:
        setattr(st.module, attr, r.u32())
    return decode


# section id -> (position in the required order, decoder); the data count section (12) sits before code
SECTIONS: dict[int, tuple[int, Callable[[Reader, _SectionState], None]]] = {
    1: (1, _vector_section("types", _functype)),
    2: (2, _vector_section("imports", _import)),
    3: (3, _function_section),
    4: (4, _vector_section("tables", _tabletype)),
    5: (5, _vector_section("memories", _memtype)),
    6: (6, _vector_section("globals", _global)),
    7: (7, _vector_section("exports", _export)),
    8: (8, _single_section("start")),
    9: (9, _vector_section("elems", _elem)),
    12: (10, _single_section("data_count")),
    10: (11, _code_section),
    11: (12, _vector_section("datas", _data)),
}


def _check_header(data: bytes) -> None:
    if len(data) < 4 or data[:4] != b"\0asm":
        raise DecodeError("magic header not detected", 0)
    if len(data) < 8:
        raise DecodeError("unexpected end", len(data))
    if data[4:8] != b"\x01\0\0\0":
        raise DecodeError("unknown binary version", 4)


def decode_module(data: bytes) -> Module:
    """Decode a binary module. Raises DecodeError for anything malformed."""
    data = bytes(data)
    _check_header(data)
    r = Reader(data, 8)
    st = _SectionState()
    last_order = 0
    while r.pos < r.end:
        section_start = r.pos
        section_id = r.byte()
        size = r.u32()
        end = r.pos + size
        if end > r.end:
            raise r.fail("length out of bounds", section_start)
        s = Reader(data, r.pos, end)
        if section_id == 0:
            _custom(s, st.module)
        elif section_id not in SECTIONS:
            raise r.fail(f"malformed section id {section_id}", section_start)
        else:
            order, decode_section = SECTIONS[section_id]
            if order <= last_order:
                raise r.fail("unexpected content after last section", section_start)
            last_order = order
            decode_section(s, st)
        if s.pos != end:
            raise r.fail("section size mismatch", s.pos)
        r.pos = end
    _check_counts(st, r.end)
    st.module.source = data
    return st.module


def _check_counts(st: _SectionState, offset: int) -> None:
    module = st.module
    if st.func_type_indices and not st.code_seen:
        raise DecodeError("function and code section have inconsistent lengths", offset)
    if module.data_count is None:
        # without data segments the validator reports the index as unknown, as the official suite expects
        if module.datas and any(instr[0] in DATA_COUNT_USERS for func in module.funcs for instr in func.body):
            raise DecodeError("data count section required", offset)
    elif module.data_count != len(module.datas):
        raise DecodeError("data count and data section have inconsistent lengths", offset)
