"""A readable summary of a WebAssembly module: its sections with their sizes,
then its imports and exports with their types (`vmstack inspect`).
"""

from __future__ import annotations

from .binary import decode_module
from .errors import DecodeError

SECTION_NAMES = ["custom", "type", "import", "function", "table", "memory", "global", "export",
                 "start", "element", "code", "data", "datacount"]


def _read_u32(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError("unexpected end of section header", pos)
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def section_table(data: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) of every section, custom sections named by their own name."""
    sections = []
    pos = 8
    while pos < len(data):
        start = pos
        section_id = data[pos]
        size, pos = _read_u32(data, pos + 1)
        name = SECTION_NAMES[section_id] if section_id < len(SECTION_NAMES) else f"unknown({section_id})"
        if section_id == 0:
            name_len, name_pos = _read_u32(data, pos)
            name = f"custom {data[name_pos:name_pos + name_len].decode('utf-8', 'replace')!r}"
        sections.append((name, start, size))
        pos += size
    return sections


def describe_module(data: bytes) -> str:
    module = decode_module(data)
    lines = [f"{len(data)} bytes", "sections:"]
    lines += [f"  {name:<24} offset {offset:#08x}  {size:>9} bytes" for name, offset, size in section_table(data)]
    lines.append(f"imports ({len(module.imports)}):")
    for imp in module.imports:
        desc = module.types[imp.desc] if imp.kind == "func" else imp.desc
        lines.append(f"  {imp.kind:<6} {imp.module}.{imp.name}: {desc}")
    func_types = module.func_types()
    lines.append(f"exports ({len(module.exports)}):")
    for exp in module.exports:
        detail = f": {func_types[exp.index]}" if exp.kind == "func" else f" {exp.index}"
        lines.append(f"  {exp.kind:<6} {exp.name}{detail}")
    lines.append(f"functions: {len(func_types)} ({len(module.funcs)} defined), "
                 f"memories: {len(module.imports_of('memory')) + len(module.memories)}, "
                 f"tables: {len(module.imports_of('table')) + len(module.tables)}, "
                 f"globals: {len(module.imports_of('global')) + len(module.globals)}")
    return "\n".join(lines)
