"""Tier 1, the translator: a guest block entered often enough (``interpret.HOT``) becomes one Python
function, which CPython then runs.

A block runs from its entry pc through up to MAX_BLOCK instructions; it ends after a jump, an ecall or
ebreak, or a fence.i. A conditional branch does not end it: a taken branch leaves through a side exit.
Nor does a plain jump (jal x0) to code near by, in the entry's page or the next: the block goes on at
the target (the memory is told each range of bytes the block was read from).
A block whose branch (or jal) goes back to its own entry is a Python ``for`` loop up to there, so a
tight guest loop stays inside one call (for at most LOOP_CHUNK instructions, or what is left of run()'s
budget).
Guest register xN read in the block becomes the Python local ``xN`` (fN for FP registers), loaded at
its first use; writes stay in locals and are stored back at each exit. The semantics are the templates
of ``user_isa``, pasted in with their operands resolved (an immediate becomes a literal, x0 the literal
0), and loads and stores expanded into the page-dict fast path when the memory offers its page dicts.
The function takes (X, F, cpu), counts the retired instructions into ``cpu.instret`` and returns the
next pc.

Three things make the common case cheaper. A double an instruction with a float template computes on
lives in the local ``dN`` as a Python float (``_Locals`` knows whether fN, dN or both are current and
converts between them only where an instruction needs the other form, or at an exit). A run of accesses
through one base register that the run does not change looks its page up once (``page_locals``). And
consecutive plain loads, or stores covering a range without gaps, through one base register are one
struct call (``_group_code``), each keeping its own slow path.

No bookkeeping runs for faults: when a load, store or helper raises, the caller finds the faulting
line in the traceback (``BlockInfo.lines``: line -> instruction) and the registers' current values in
the dead frame's locals (``InsnAt.in_floats``: those held as floats), which makes the architectural
state exact at the faulting instruction.
"""

from __future__ import annotations

import functools
import itertools
import re
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from .decode import Decoded, decode
from .faults import IllegalInstruction
from .memory import CODE_TRANSLATED, Memory, MemoryFault
from .user_isa import KIND_BRANCH, KIND_FENCE_I, KIND_JUMP, KIND_PLAIN, KIND_TRAP

MAX_BLOCK = 64        # instructions in a block
MAX_SIDE_EXITS = 8    # conditional branches in a block (each exit stores the registers written so far)
_TOKEN = re.compile(r"\b(X1|X2|XD|F1|F2|F3|FD|D1|D2|DD|FP_FAST|IMM|RS1|RM|PC|NPC|K|NEXT)\b")


class InsnAt(NamedTuple):
    k: int          # index in the block: k instructions retired before it
    pc: int
    bits: int
    calls_env: bool  # an exception from this line comes from the environment, not the guest
    in_floats: tuple[int, ...] = ()   # written FP registers whose value is in the float local dN only


class BlockInfo(NamedTuple):
    lines: dict[int, InsnAt]
    registers: dict[str, tuple[str, int]]   # local name -> ("x" or "f", register number)
    loop_body: int    # a block looping on itself: instructions per iteration (retired = loop_i * this + k)


Block = Callable[[list, list, Any], int]


def fetch_decode(memory: Memory, pc: int) -> Decoded:
    """Fetch and decode the instruction at pc (raises MemoryFault with access "x", or IllegalInstruction)."""
    if pc & 4095 <= 4092:   # both halves in one page: one fetch
        half = int.from_bytes(memory.fetch(pc, 4), "little")
        if half & 3 != 3:
            half &= 0xFFFF
    else:
        half = int.from_bytes(memory.fetch(pc, 2), "little")
        if half & 3 == 3:
            half |= int.from_bytes(memory.fetch(pc + 2, 2), "little") << 16
    checks = memory.core_checks
    return _decode(half) if checks is None else checks.decode(_decode(half))


_decode = functools.lru_cache(maxsize=1 << 16)(decode)   # a Decoded depends on the instruction's bits only


def _operands(d: Decoded, pc: int, k: str) -> dict[str, str]:
    return {"X1": f"x{d.rs1}" if d.rs1 else "(0)", "X2": f"x{d.rs2}" if d.rs2 else "(0)",
            "XD": f"x{d.rd}" if d.rd else "_", "F1": f"f{d.rs1}", "F2": f"f{d.rs2}", "F3": f"f{d.rs3}",
            "FD": f"f{d.rd}", "D1": f"d{d.rs1}", "D2": f"d{d.rs2}", "DD": f"d{d.rd}",
            "FP_FAST": "fp_fast" if d.rm in (0, 7) else "False", "IMM": f"({d.imm})", "RS1": str(d.rs1), "RM": str(d.rm), "PC": hex(pc),
            "NPC": hex(pc + d.length), "K": k, "NEXT": "next_pc"}


class _Writer:
    """Accumulates the source of one block function and its line table."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.owner: dict[int, InsnAt] = {}

    def emit(self, text: str, indent: int, at: InsnAt | None) -> None:
        for line in text.split("\n"):
            self.lines.append("    " * indent + line)
            if at is not None:
                self.owner[len(self.lines)] = at


def translate(cpu: Any, pc: int) -> Block:
    """Translate the block at pc, install it in the memory's translation cache and return it."""
    memory = cpu.memory
    recalled = memory.recall(CODE_TRANSLATED, pc)
    if recalled is not None:
        return recalled
    insns: list[tuple[int, Decoded]] = []
    addr = start = pc
    pages = range(pc >> 12, (pc >> 12) + 2)   # where a block's code lies
    ranges: list[tuple[int, int]] = []   # the bytes read, a range per jump followed
    branches = 0
    while len(insns) < MAX_BLOCK and branches < MAX_SIDE_EXITS and (addr + 3) >> 12 in pages:
        decoded = memory.decoded.get(addr)   # the interpreter's, most often
        try:
            d = decoded[4] if decoded else fetch_decode(memory, addr)
        except (MemoryFault, IllegalInstruction):
            if not insns:
                raise
            break
        insns.append((addr, d))
        branches += d.insn.kind == KIND_BRANCH
        target = (addr + d.imm) & 0xFFFFFFFFFFFFFFFF
        if d.insn.name == "jal" and not d.rd and target != pc and target >> 12 in pages:
            ranges.append((start, addr + d.length - 1))    # a plain jump near by: the block goes on there
            addr = start = target
            continue
        addr += d.length
        if d.insn.kind not in (KIND_PLAIN, KIND_BRANCH):
            break
    fn = _compile(insns, cpu.block_globals)
    memory.translations[pc] = fn
    if addr > start:    # (nothing was read at a jump's target whose fetch faulted)
        ranges.append((start, addr - 1))
    for first, last in ranges:
        memory.note_code(pc, first, last)
    return fn


_SIMPLIFY = [  # registers hold values in [0, 2**64): adding a zero changes nothing, needs no mask
    # (text every match contains, pattern, replacement)
    (" + (0))", re.compile(r"\((x\d+) \+ \(0\)\)"), r"\1"),
    ("((0) + ", re.compile(r"\(\(0\) \+ (x\d+)\)"), r"\1"),
    (") & 0xFFFFFFFFFFFFFFFF", re.compile(r"\((x\d+)\) & 0xFFFFFFFFFFFFFFFF"), r"\1"),
    (" & 0xFFFFFFFFFFFFFFFF", re.compile(r"(?:(?<=\()|(?<=, )|(?<== )|^)(x\d+) & 0xFFFFFFFFFFFFFFFF(?=[,)]|$)"), r"\1"),
]
_CONSTANT_ASSIGNMENT = re.compile(r"(x\d+|next_pc) = ([^\n]+)")   # x0 read as (0): li, lui and the like fold
_CONSTANT_TO_X0 = re.compile(r"_ = (0x[0-9a-f]+|\d+)")                # a jal's link dropped
_HEX = re.compile(r"\b0x[0-9A-Fa-f]+\b")
LOOP_CHUNK = 20000   # a block looping on itself comes back to the run loop after about this many instructions


_MEMORY_CALL = re.compile(r"\b(ld|st)([1248d])\(")
_BASE_OFFSET = re.compile(r"\((x\d+) \+ \((-?\d+)\)\) & 0xFFFFFFFFFFFFFFFF")
_STRUCTS = {2: "H", 4: "I", 8: "Q", "d": "d"}
INLINE_HELPERS = {"StructError": struct.error, **{f"unpack{w}": struct.Struct("<" + f).unpack_from for w, f in _STRUCTS.items()},
                  **{f"pack{w}": struct.Struct("<" + f).pack_into for w, f in _STRUCTS.items()},
                  # n FP registers converted at once, bits -> floats and back
                  **{f"floats_{n}": struct.Struct(f"<{n}d").unpack for n in range(1, 33)},
                  **{f"quads_{n}": struct.Struct(f"<{n}Q").pack for n in range(1, 33)},
                  **{f"bits_{n}": struct.Struct(f"<{n}Q").unpack for n in range(1, 33)},
                  **{f"doubles_{n}": struct.Struct(f"<{n}d").pack for n in range(1, 33)}}


def _call_arguments(code: str, start: int) -> tuple[list[str], int]:
    """Split the top-level arguments of the call whose "(" is at code[start]; return them and the index
    just past its ")"."""
    depth, args, begin = 0, [], start + 1
    for i in range(start, len(code)):
        c = code[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(code[begin:i].strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(code[begin:i].strip())
            begin = i + 1
    raise ValueError(f"unbalanced template {code!r}")


class Access(NamedTuple):
    """A template's memory access: ld or st, the base register's local and an offset."""
    kind: str
    base: str
    offset: int


@functools.lru_cache(maxsize=1 << 16)
def memory_access(code: str) -> Access | None:
    """The access of an instruction's code when it is of the form base register + offset."""
    m = _MEMORY_CALL.search(code)
    if m is None:
        return None
    address = _call_arguments(code, m.end() - 1)[0][0]
    based = _BASE_OFFSET.fullmatch(address)
    if based:
        return Access(m.group(1), based.group(1), int(based.group(2)))
    return Access(m.group(1), address, 0) if re.fullmatch(r"x\d+", address) else None


def page_locals(access: Access) -> tuple[str, str]:
    """The locals caching the page that the address base + origin is in (None when absent from the page
    dict; origin, the least offset of the run of accesses or 0, keeps every offset from it >= 0) and that
    address's offset in it."""
    number = access.base[1:]
    return (f"rp{number}", f"ro{number}") if access.kind == "ld" else (f"wp{number}", f"wo{number}")


def page_lookup(access: Access, origin: int) -> str:
    """The line filling ``page_locals``."""
    page, offset = page_locals(access)
    pages = "readable_pages" if access.kind == "ld" else "writable_pages"
    address = f"({access.base} + {origin})" if origin else access.base
    return f"{page} = {pages}.get({address} >> 12); {offset} = {address} & 4095"


@functools.lru_cache(maxsize=1 << 16)
def inline_memory(code: str, origin: int | None = None) -> str:
    """Expand a template's ldN(a)/stN(a, v) call (ldd/std: a double as a float) into the page-dict fast
    path, the call kept as the slow path. ``origin`` (not None): the access is base + offset and
    ``page_locals`` hold the page of base + origin (an offset past the page's end, or no page, takes the
    slow path)."""
    m = _MEMORY_CALL.search(code)
    if m is None:
        return code
    kind, size = m.group(1), m.group(2)
    width = 8 if size == "d" else int(size)
    args, after = _call_arguments(code, m.end() - 1)
    addr = args[0] if re.fullmatch(r"x\d+", args[0]) else "mem_addr"
    lines = [] if addr == args[0] else [f"mem_addr = {args[0]}"]
    slow_addr = addr
    based = _BASE_OFFSET.fullmatch(args[0])
    if based:   # the page dicts miss a sum outside [0, 2**64), so only the slow path needs it wrapped
        lines, slow_addr = [f"mem_addr = {based.group(1)} + {based.group(2)}"], "mem_addr & 0xFFFFFFFFFFFFFFFF"
    pages = "readable_pages" if kind == "ld" else "writable_pages"
    page, offset = f"{pages}[{addr} >> 12]", f"{addr} & 4095"
    caught = "KeyError" if width == 1 else "(KeyError, StructError)"
    if origin is not None:
        access = memory_access(code)
        page, offset = page_locals(access)
        offset += f" + {access.offset - origin}" if access.offset != origin else ""
        caught = "(TypeError, IndexError)" if width == 1 else "(TypeError, StructError)"
        lines = []
        slow_addr = f"({args[0]})"
    if kind == "ld":
        fast = f"{page}[{offset}]" if width == 1 else f"unpack{size}({page}, {offset})[0]"
        slow = f"ld{width}({slow_addr})" if size != "d" else f"float_of_bits(ld8({slow_addr}))"
        prefix, suffix = code[:m.start()], code[after:]
        target = prefix[:-3] if not suffix and re.fullmatch(r"([xfd]\d+|_) = ", prefix) else "mem_value"
        lines += ["try:", f"    {target} = {fast}", f"except {caught}:", f"    {target} = {slow}"]
        if target == "mem_value":
            lines.append(prefix + "mem_value" + suffix)
    else:
        value = args[1] if width == 8 else f"{args[1]} & {hex((1 << (8 * width)) - 1)}"
        fast = (f"{page}[{offset}] = {value}" if width == 1 else f"pack{size}({page}, {offset}, {value})")
        slow_value = args[1] if size != "d" else f"bits_of_float({args[1]})"
        lines += ["try:", f"    {fast}", f"except {caught}:", f"    st{width}({slow_addr}, {slow_value})"]
        assert not code[:m.start()].strip() and not code[after:].strip(), code
    return "\n".join(lines)


def _registers(template: str, ops: dict[str, str]) -> tuple[list[str], list[str]]:
    """(locals the instruction reads, locals it writes)."""
    tokens = set(_TOKEN.findall(template))
    reads = [ops[t] for t in ("X1", "X2", "F1", "F2", "F3", "D1", "D2") if t in tokens and ops[t] != "(0)"]
    writes = [ops[t] for t in ("XD", "FD", "DD") if t in tokens and ops[t] != "_"]
    return reads, writes


def _loop_end(insns: list[tuple[int, Decoded]]) -> int | None:
    """Index of the first branch (or jal) back to the block's entry: the block is then a loop up to there."""
    entry = insns[0][0]
    for k, (pc, d) in enumerate(insns):
        if (d.insn.kind == KIND_BRANCH or d.insn.name == "jal") and (pc + d.imm) & 0xFFFFFFFFFFFFFFFF == entry:
            return k
    return None


_SAME_SIGN_SOURCE = [(re.compile(r"copysign\((d\d+), \1\)"), r"\1"),   # fmv.d, fneg.d on floats
                     (re.compile(r"copysign\((d\d+), -\1\)"), r"-\1")]


def _folded(line: str) -> str:
    """A line assigning an expression of literals and operators only, with its value instead."""
    assignment = _CONSTANT_ASSIGNMENT.fullmatch(line)
    if assignment and not re.search(r"[A-Za-z_]", _HEX.sub("", assignment.group(2)).replace("sx", "")):
        return f"{assignment.group(1)} = {eval(assignment.group(2), {})}"   # literals, operators and sx only
    return line


@functools.lru_cache(maxsize=1 << 16)
def _instruction_code(d: Decoded, pc: int, k: str, inline: bool) -> tuple[str, list[str], list[str]]:
    """(source, locals read, locals written) of one instruction: its template with operands resolved
    (the float template when the memory's page dicts are inlined), memory accesses not yet inlined."""
    ops = _operands(d, pc, k)
    template = d.insn.float_template if inline and d.insn.float_template else d.insn.template
    code = _TOKEN.sub(lambda m: ops[m.group(1)], template)
    if "0xFFFFFFFFFFFFFFFF" in code or "(0)" in code:
        for text, pattern, replacement in _SIMPLIFY:
            if text in code:
                code = pattern.sub(replacement, code)
    if "copysign" in code:
        for pattern, replacement in _SAME_SIGN_SOURCE:
            code = pattern.sub(replacement, code)
    code = "\n".join(_folded(line) for line in code.split("\n") if not _CONSTANT_TO_X0.fullmatch(line)) or "pass"
    reads, writes = _registers(template, ops)
    return code, reads, writes


@functools.cache
def _placed(template: str) -> tuple[bool, bool]:
    """Whether a template uses its instruction's address (PC, NPC), and its index in the block (K)."""
    tokens = set(_TOKEN.findall(template))
    return bool(tokens & {"PC", "NPC"}), "K" in tokens


def _placed_code(d: Decoded, pc: int, k: str, inline: bool) -> tuple[str, list[str], list[str]]:
    """``_instruction_code``, cached across the blocks that share the instruction (the tail of a block is
    often the start of another) unless its code depends on its place."""
    uses_pc, uses_k = _placed(d.insn.template)
    return _instruction_code(d, pc if uses_pc else 0, k if uses_k else "", inline)


FP_FAST = "fp_fast = cpu.fcsr & 0xE1 == 1"   # what FP_FAST stands for: NX accrued and frm rounding to nearest


def _twin(name: str) -> str:
    """An FP register's other local: fN (its bits) for dN (its double as a float), and back."""
    return ("d" if name[0] == "f" else "f") + name[1:]


class _Locals:
    """Which locals hold the current value of which register, as the block's source is generated: xN
    for integer register N; for FP register N, fN (its bits), dN (its double as a float) or both."""

    def __init__(self) -> None:
        self.current: dict[str, None] = {}    # locals holding their register's current value
        self.assigned: dict[str, None] = {}   # every xN and fN local assigned (the fault recovery reads them)
        self.written: dict[str, None] = {}    # registers written so far, as xN or fN

    def make_current(self, name: str) -> str | None:
        """Make the local current; return the line doing it (a load, or a conversion from its twin)."""
        if name in self.current:
            return None
        number, twin = name[1:], _twin(name)
        if name[0] == "x":
            line = f"{name} = X[{number}]"
        elif twin in self.current:
            line = f"{name} = " + (f"bits_of(float_bytes({twin}))[0]" if name[0] == "f" else f"float_of(quad_bytes({twin}))[0]")
        else:
            line = f"{name} = " + (f"F[{number}]" if name[0] == "f" else f"float_of(quad_bytes(F[{number}]))[0]")
        self.note(name)
        return line

    def note(self, name: str) -> None:
        self.current[name] = None
        if name[0] != "d":
            self.assigned[name] = None

    def write(self, name: str) -> None:
        if name[0] != "x":
            self.current.pop(_twin(name), None)
        self.note(name)
        self.written["f" + name[1:] if name[0] == "d" else name] = None

    def load_floats(self, names: list[str]) -> list[str]:
        """The line loading the FP registers of ``names`` (dN locals) as floats, all in one conversion."""
        if not names:
            return []
        for name in names:
            self.note(name)
        n = len(names)
        return [f"{', '.join(names)}, = floats_{n}(quads_{n}({', '.join(f'F[{name[1:]}]' for name in names)}))"]

    def in_floats(self) -> tuple[int, ...]:
        return tuple(int(name[1:]) for name in self.written if name[0] == "f" and name not in self.current)

    def stores(self) -> list[str]:
        """Statements storing the written registers back into X and F."""
        out, floats = [], []
        for name in self.written:
            if name[0] == "x":
                out.append(f"X[{name[1:]}] = {name}")
            elif name in self.current:
                out.append(f"F[{name[1:]}] = {name}")
            else:
                floats.append(name[1:])
        if floats:
            n = len(floats)
            out.append(f"{', '.join(f'F[{number}]' for number in floats)}, = "
                       f"bits_{n}(doubles_{n}({', '.join(f'd{number}' for number in floats)}))")
        return out


_KEEPS_PAGES = re.compile(r"\b(?:(?:double|single)_\w+|accrue_\w|rounding)\(cpu\b|\bcpu\.fcsr\b")


@functools.lru_cache(maxsize=1 << 16)
def _may_change_pages(code: str) -> bool:
    """Whether an instruction may change the page dicts (a CSR, an atomic, anything else reaching the cpu
    but the FP helpers): the pages cached for base registers are then looked up again."""
    return "cpu" in _KEEPS_PAGES.sub("", code)


def _cached_accesses(codes: list[tuple[str, list[str], list[str]]], accesses: list[Access | None],
                     loop_end: int | None) -> dict[int, int]:
    """The accesses that take their page from ``page_locals``, each with its run's origin: runs of two or
    more accesses of one kind through one base register, not written in between (the first of a run
    fills the locals)."""
    runs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    chosen: dict[int, int] = {}

    def close(keys: list[tuple[str, str]]) -> None:
        for key in keys:
            run = runs.pop(key)
            if len(run) > 1:
                origin = min(0, *(offset for _, offset in run))
                chosen.update((k, origin) for k, _ in run)
    for k, (code, _, writes) in enumerate(codes):
        access = accesses[k]
        if access:
            runs.setdefault((access.kind, access.base), []).append((k, access.offset))
        close(list(runs) if _may_change_pages(code) or k == loop_end else [key for key in runs if key[1] in writes])
    close(list(runs))
    return chosen


_PLAIN_LOAD = re.compile(r"([xfd]\d+|_) = ld([48d])\((.+)\)")
_GROUPED = {"4": ("I", 4), "8": ("Q", 8), "d": ("d", 8)}   # access sizes a group takes: struct code, width


@functools.lru_cache(maxsize=1 << 16)
def _plain_access(code: str) -> tuple[str, str, str] | None:
    """(size, target or value, address) of a ld8/ldd/ld4 straight into a register or a st8/std/st4."""
    load = _PLAIN_LOAD.fullmatch(code)
    if load:
        return load.group(2), load.group(1), load.group(3)
    m = _MEMORY_CALL.match(code)
    if m and m.group(1) == "st" and m.group(2) in _GROUPED:
        args, after = _call_arguments(code, m.end() - 1)
        if after == len(code):
            return m.group(2), args[1], args[0]
    return None


def _groups(codes: list[tuple[str, list[str], list[str]]], accesses: list[Access | None],
            cached: dict[int, int]) -> list[list[int]]:
    """Runs of consecutive cached plain accesses of one kind through one base register, their bytes
    apart and their targets distinct, a group of stores without gaps: each group becomes one struct call
    (see ``_group_code``)."""
    groups: list[list[int]] = []
    current: list[int] = []
    spans: list[tuple[int, int]] = []
    targets: set[str] = set()
    for k, access in enumerate(accesses):
        plain = _plain_access(codes[k][0]) if access and k in cached else None
        if plain:
            first = accesses[current[0]] if current else None
            span = (access.offset, access.offset + _GROUPED[plain[0]][1])
            fits = (first and (first.kind, first.base) == (access.kind, access.base) and plain[1] not in targets
                    and all(span[1] <= start or end <= span[0] for start, end in spans))
            if not fits:
                groups.append(current)
                current, spans, targets = [], [], set()
            if access.base not in codes[k][2]:
                current.append(k)
                spans.append(span)
                if access.kind == "ld":
                    targets.add(plain[1])
                continue
        groups.append(current)
        current, spans, targets = [], [], set()
    groups.append(current)
    return [group for group in groups if len(group) > 1 and (accesses[group[0]].kind == "ld" or _contiguous(
        [(accesses[k].offset, _GROUPED[_plain_access(codes[k][0])[0]][1]) for k in group]))]


def _contiguous(spans: list[tuple[int, int]]) -> bool:
    """Whether accesses (offset, width) cover their range without a gap (a pad byte of a packed format
    would write a zero there)."""
    ordered = sorted(spans)
    return all(offset + width == following for (offset, width), (following, _) in itertools.pairwise(ordered))


def _group_code(members: list[tuple[Access, tuple[str, str, str]]], origin: int, namespace: dict[str, Any]
                ) -> tuple[str, list[str]]:
    """The fast line of a group of accesses (one struct call on the cached page; its format is added to
    ``namespace``) and each member's slow line, run in order when the fast one fails."""
    ordered = sorted(members, key=lambda member: member[0].offset)
    first = ordered[0][0]
    layout, position = "", first.offset
    for access, (size, _, _) in ordered:
        code, width = _GROUPED[size]
        layout += (f"{access.offset - position}x" if access.offset > position else "") + code
        position = access.offset + width
    page, offset = page_locals(first)
    at = offset + (f" + {first.offset - origin}" if first.offset != origin else "")
    slow = []
    if first.kind == "ld":
        name = f"unpack_{layout}"
        namespace.setdefault(name, struct.Struct("<" + layout).unpack_from)
        fast = f"{', '.join(target for _, (_, target, _) in ordered)}, = {name}({page}, {at})"
        for _, (size, target, address) in members:
            slow.append(f"{target} = " + (f"float_of_bits(ld8({address}))" if size == "d" else f"ld{size}({address})"))
    else:
        name = f"pack_{layout}"
        namespace.setdefault(name, struct.Struct("<" + layout).pack_into)
        values = [value if size != "4" else f"{value} & 0xFFFFFFFF" for _, (size, value, _) in ordered]
        fast = f"{name}({page}, {at}, {', '.join(values)})"
        for _, (size, value, address) in members:
            slow.append(f"st8({address}, bits_of_float({value}))" if size == "d" else f"st{size}({address}, {value})")
    return fast, slow


def _float_inputs(codes: list[tuple[str, list[str], list[str]]]) -> list[str]:
    """The FP registers a block reads as floats before it writes them (loaded at its entry at once)."""
    seen: dict[str, None] = {}
    inputs = []
    for _, reads, writes in codes:
        for name in reads:
            if name[0] in "fd" and "f" + name[1:] not in seen:
                if name[0] == "d":
                    inputs.append(name)
                seen["f" + name[1:]] = None
        seen.update(dict.fromkeys("f" + name[1:] for name in writes if name[0] in "fd"))
    return inputs


@functools.lru_cache(maxsize=1 << 14)
def _compiled(source: str, name: str) -> Any:
    """The code object of a block's source: a block translated again (its code cache dropped by a
    TLB shootdown or fence.i, the same bytes at the same pc) is not compiled again."""
    return compile(source, name, "exec")


def _compile(insns: list[tuple[int, Decoded]], namespace: dict[str, Any]) -> Block:
    """Generate, compile and return the function of one block (see the module's docstring)."""
    body = _Writer()
    inline = "readable_pages" in namespace
    regs = _Locals()
    loop_end = _loop_end(insns)
    codes = [_placed_code(d, pc, str(k) if loop_end is None else f"(loop_i * {loop_end + 1} + {k})", inline)
             for k, (pc, d) in enumerate(insns)]
    uses_fp_fast = any("fp_fast" in code for code, _, _ in codes)
    prologue: list[str] = [FP_FAST] if uses_fp_fast else []
    indent = 1
    heads: list[str] = []
    if loop_end is not None:
        # every register the loop touches lives in a local from the start, so that an exit from any
        # iteration can store it back; an FP register the loop computes on as a float enters as a float
        touched: dict[str, None] = {}
        for _, reads, writes in codes[:loop_end + 1]:
            touched.update(dict.fromkeys(reads + writes))
            for name in writes:
                regs.written["f" + name[1:] if name[0] == "d" else name] = None
        heads = [name for name in touched if name[0] == "x" or name[0] == "d" or _twin(name) not in touched]
        prologue += [regs.make_current(name) for name in heads if name[0] != "d"]
        prologue += regs.load_floats([name for name in heads if name[0] == "d"])
        body_length = loop_end + 1
        chunk = max(1, LOOP_CHUNK // body_length)   # iterations, fewer when run()'s budget ends sooner
        prologue.append(f"for loop_i in range(min({chunk}, (cpu.limit - cpu.instret) // {body_length} + 1)):")
        indent = 2
    else:
        body_length = 0
        prologue += regs.load_floats(_float_inputs(codes))
    retired = f"loop_i * {body_length} + " if loop_end is not None else ""

    def writeback(level: int, at: InsnAt, count: int) -> None:
        body.emit("; ".join([*regs.stores(), f"cpu.instret += {retired}{count}"]), level, at)

    accesses = [memory_access(code) if inline else None for code, _, _ in codes]
    cached = _cached_accesses(codes, accesses, loop_end)
    filled: set[tuple[str, str]] = set()   # page_locals holding the page of their base register's value
    groups = {group[-1]: group for group in _groups(codes, accesses, cached)}
    grouped = {k for group in groups.values() for k in group}
    pending: list[InsnAt] = []   # the members of a group seen so far
    end = insns[-1][0] + insns[-1][1].length
    for k, (pc, d) in enumerate(insns):
        code, reads, writes = codes[k]
        access = accesses[k]
        if access and k in cached and (access.kind, access.base) not in filled:
            regs_line = regs.make_current(access.base)
            if regs_line:
                body.emit(regs_line, indent, None)
            body.emit(page_lookup(access, cached[k]), indent, None)
            filled.add((access.kind, access.base))
        if inline:
            code = inline_memory(code, cached.get(k))
        if _may_change_pages(code) or k == loop_end:
            filled.clear()
        else:
            filled -= {key for key in filled if key[1] in writes}
        if k == loop_end:   # the next iteration finds each register in the local it entered in
            for name in heads:
                line = regs.make_current(name)
                if line:
                    body.emit(line, indent, None)
        for name in reads:
            line = regs.make_current(name)
            if line:
                body.emit(line, indent, None)
        at = InsnAt(k, pc, d.bits, False, regs.in_floats())
        for name in writes:
            regs.write(name)
        if k in grouped:
            pending.append(at)
            if k in groups:
                members = groups[k]
                fast, slow = _group_code([(accesses[j], _plain_access(codes[j][0])) for j in members],
                                         cached[members[0]], namespace)
                body.emit(f"try:\n    {fast}\nexcept (TypeError, StructError):", indent, pending[0])
                for line, member_at in zip(slow, pending):
                    body.emit(line, indent + 1, member_at)
                pending = []
            continue
        kind = d.insn.kind
        if kind == KIND_PLAIN:
            body.emit(code, indent, at)
            if uses_fp_fast and "csr_access" in code:   # fcsr may have changed
                body.emit(FP_FAST, indent, None)
        elif kind == KIND_BRANCH and k == loop_end:
            body.emit(f"if not ({code}):", indent, at)
            body.emit("break", indent + 1, at)
            body.emit("else:", 1, at)   # the for loop ran out: come back through the run loop
            writeback(2, at, k + 1)
            body.emit(f"return {hex(pc + d.imm & 0xFFFFFFFFFFFFFFFF)}", 2, at)
            indent = 1
        elif kind == KIND_BRANCH:
            body.emit(f"if {code}:", indent, at)
            writeback(indent + 1, at, k + 1)
            body.emit(f"return {hex((pc + d.imm) & 0xFFFFFFFFFFFFFFFF)}", indent + 1, at)
        elif kind == KIND_JUMP and k == loop_end:   # jal back to the entry: the for loop goes on
            body.emit(code, indent, at)
            body.emit("else:", 1, at)
            writeback(2, at, k + 1)
            body.emit("return next_pc", 2, at)
        elif kind == KIND_JUMP and k + 1 < len(insns):   # a jal the block follows: only its link is left
            body.emit("\n".join(line for line in code.split("\n") if not line.startswith("next_pc = ")) or "pass",
                      indent, at)
        elif kind == KIND_JUMP:
            body.emit(code, indent, at)
            writeback(indent, at, k + 1)
            body.emit("return next_pc", indent, at)
        elif kind == KIND_TRAP:
            writeback(indent, at, k + 1)
            body.emit(f"cpu.pc = {hex(pc)}", indent, at)
            body.emit(code, indent, at._replace(calls_env=True))
            body.emit("return cpu.pc", indent, at)
        else:
            assert kind == KIND_FENCE_I
            writeback(indent, at, k + 1)
            body.emit(code, indent, at)
            body.emit(f"return {hex(end)}", indent, at)
    if insns[-1][1].insn.kind in (KIND_PLAIN, KIND_BRANCH):
        writeback(indent, InsnAt(len(insns), end, 0, False, regs.in_floats()), len(insns))
        body.emit(f"return {hex(end)}", indent, None)
    header = ["def block(X, F, cpu):", *("    " + line for line in prologue)]
    source = "\n".join([*header, *body.lines])
    code = _compiled(source, f"<riscv block {insns[0][0]:#x}>")
    scope: dict[str, Any] = {}
    exec(code, namespace, scope)  # noqa: S102 - source generated above from the ISA table
    fn = scope["block"]
    registers = {name: (name[0], int(name[1:])) for name in regs.assigned}
    fn.info = BlockInfo({line + len(header): at for line, at in body.owner.items()}, registers, body_length)
    fn.source = source
    return fn
