"""The binary encoder: ``module.Module`` → WebAssembly binary bytes.

It encodes what it is given without validating it (spec scripts encode
invalid modules on purpose); the decoder and this encoder are inverses.
"""

from __future__ import annotations

from .module import Elem, Limits, Module
from .numeric import f32_to_bits, f64_to_bits
from .opcodes import OPCODES

VALTYPE_BYTES = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B, "funcref": 0x70,
                 "externref": 0x6F}
KIND_BYTES = {"func": 0, "table": 1, "memory": 2, "global": 3}


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def name(text: str) -> bytes:
    data = text.encode("utf-8")
    return uleb(len(data)) + data


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def limits(lim: Limits) -> bytes:
    if lim.max is None:
        return b"\x00" + uleb(lim.min)
    return b"\x01" + uleb(lim.min) + uleb(lim.max)


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def encode_instr(instr: tuple) -> bytes:
    op = instr[0]
    if op == "select" and instr[1] is not None:
        return b"\x1c" + vec([bytes([VALTYPE_BYTES[t]]) for t in instr[1]])
    info = OPCODES[op]
    out = bytearray(bytes([info.code]) if info.prefix is None else bytes([info.prefix]) + uleb(info.code))
    args = list(instr[1:])
    for kind in info.imms:
        if kind == "blocktype":
            bt = args.pop(0)
            out += b"\x40" if bt is None else bytes([VALTYPE_BYTES[bt]]) if isinstance(bt, str) else sleb(bt)
        elif kind == "labels":
            labels, default = args.pop(0), args.pop(0)
            out += vec([uleb(x) for x in labels]) + uleb(default)
        elif kind == "memarg":
            align, offset = args.pop(0), args.pop(0)
            out += uleb(align) + uleb(offset)
        elif kind == "mem":
            out += b"\x00"
        elif kind == "mem2":
            out += b"\x00\x00"
        elif kind == "table2":
            out += uleb(args.pop(0)) + uleb(args.pop(0))
        elif kind == "i32":
            out += sleb(_signed(args.pop(0), 32))
        elif kind == "i64":
            out += sleb(_signed(args.pop(0), 64))
        elif kind == "f32":
            out += f32_to_bits(args.pop(0)).to_bytes(4, "little")
        elif kind == "f64":
            out += f64_to_bits(args.pop(0)).to_bytes(8, "little")
        elif kind == "v128":
            out += args.pop(0).to_bytes(16, "little")
        elif kind == "lane":
            out.append(args.pop(0))
        elif kind == "lanes16":
            out += bytes(args.pop(0))
        elif kind == "reftype":
            out.append(VALTYPE_BYTES[args.pop(0)])
        elif kind == "valtypes":
            args.pop(0)
        else:  # an index
            out += uleb(args.pop(0))
    return bytes(out)


def encode_expr(expr: list[tuple]) -> bytes:
    return b"".join(encode_instr(i) for i in expr)


def _elem(seg: Elem) -> bytes:
    func_indices = seg.elemtype == "funcref" and all(
        len(e) == 2 and e[0][0] == "ref.func" for e in seg.init)
    items = ([uleb(e[0][1]) for e in seg.init] if func_indices else [encode_expr(e) for e in seg.init])
    exprs_flag = 0 if func_indices else 4
    if seg.mode == "active":
        if seg.table == 0 and (func_indices or seg.elemtype == "funcref"):
            return uleb(exprs_flag) + encode_expr(seg.offset) + vec(items)
        kind = b"\x00" if func_indices else bytes([VALTYPE_BYTES[seg.elemtype]])
        return uleb(2 | exprs_flag) + uleb(seg.table) + encode_expr(seg.offset) + kind + vec(items)
    kind = b"\x00" if func_indices else bytes([VALTYPE_BYTES[seg.elemtype]])
    flag = 1 if seg.mode == "passive" else 3
    return uleb(flag | exprs_flag) + kind + vec(items)


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(payload)) + payload


def _functype(ft) -> bytes:
    return b"\x60" + vec([bytes([VALTYPE_BYTES[t]]) for t in ft.params]) + vec(
        [bytes([VALTYPE_BYTES[t]]) for t in ft.results])


def _import(imp) -> bytes:
    out = name(imp.module) + name(imp.name) + bytes([KIND_BYTES[imp.kind]])
    if imp.kind == "func":
        return out + uleb(imp.desc)
    if imp.kind == "table":
        return out + bytes([VALTYPE_BYTES[imp.desc.elemtype]]) + limits(imp.desc.limits)
    if imp.kind == "memory":
        return out + limits(imp.desc.limits)
    return out + bytes([VALTYPE_BYTES[imp.desc.valtype], int(imp.desc.mutable)])


def _code(func) -> bytes:
    groups: list[list] = []
    for t in func.locals:
        if groups and groups[-1][0] == t:
            groups[-1][1] += 1
        else:
            groups.append([t, 1])
    body = vec([uleb(n) + bytes([VALTYPE_BYTES[t]]) for t, n in groups]) + encode_expr(func.body)
    return uleb(len(body)) + body


def _data(seg) -> bytes:
    if seg.mode == "passive":
        return b"\x01" + uleb(len(seg.init)) + seg.init
    if seg.memory == 0:
        return b"\x00" + encode_expr(seg.offset) + uleb(len(seg.init)) + seg.init
    return b"\x02" + uleb(seg.memory) + encode_expr(seg.offset) + uleb(len(seg.init)) + seg.init


def _names(module: Module) -> bytes:
    payload = b""
    if module.names.module is not None:
        payload += _section(0, name(module.names.module))
    if module.names.funcs:
        payload += _section(1, _name_map(module.names.funcs))
    if module.names.locals:
        entries = [uleb(i) + _name_map(local_names) for i, local_names in sorted(module.names.locals.items())]
        payload += _section(2, vec(entries))
    return payload


def _name_map(names: dict[int, str]) -> bytes:
    return vec([uleb(i) + name(n) for i, n in sorted(names.items())])


def encode_module(module: Module) -> bytes:
    out = bytearray(b"\0asm\x01\0\0\0")
    m = module
    if m.types:
        out += _section(1, vec([_functype(t) for t in m.types]))
    if m.imports:
        out += _section(2, vec([_import(i) for i in m.imports]))
    if m.funcs:
        out += _section(3, vec([uleb(f.type_index) for f in m.funcs]))
    if m.tables:
        out += _section(4, vec([bytes([VALTYPE_BYTES[t.elemtype]]) + limits(t.limits) for t in m.tables]))
    if m.memories:
        out += _section(5, vec([limits(mem.limits) for mem in m.memories]))
    if m.globals:
        out += _section(6, vec([bytes([VALTYPE_BYTES[g.type.valtype], int(g.type.mutable)]) + encode_expr(g.init)
                                for g in m.globals]))
    if m.exports:
        out += _section(7, vec([name(e.name) + bytes([KIND_BYTES[e.kind]]) + uleb(e.index) for e in m.exports]))
    if m.start is not None:
        out += _section(8, uleb(m.start))
    if m.elems:
        out += _section(9, vec([_elem(e) for e in m.elems]))
    if m.data_count is not None:
        out += _section(12, uleb(m.data_count))
    if m.funcs:
        out += _section(10, vec([_code(f) for f in m.funcs]))
    if m.datas:
        out += _section(11, vec([_data(d) for d in m.datas]))
    names = _names(m)
    if names:
        out += _section(0, name("name") + names)
    for custom in m.customs:
        out += _section(0, name(custom.name) + custom.data)
    return bytes(out)
