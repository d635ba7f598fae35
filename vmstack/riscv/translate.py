"""Tier 1, the translator: a guest block entered often enough (``interpret.HOT``) becomes one Python
function, which CPython then runs.

A block runs from its entry pc through up to MAX_BLOCK instructions; it ends after a jump, an ecall or
ebreak, or a fence.i. A conditional branch does not end it: a taken branch leaves through a side exit.
A block whose branch (or jal) goes back to its own entry is a Python ``for`` loop up to there, so a
tight guest loop stays inside one call (for at most LOOP_CHUNK instructions, or what is left of run()'s
budget).
Guest register xN read in the block becomes the Python local ``xN`` (fN for FP registers), loaded at
its first use; writes stay in locals and are stored back at each exit. The semantics are the templates
of ``user_isa``, pasted in with their operands resolved (an immediate becomes a literal, x0 the literal
0), and loads and stores expanded into the page-dict fast path when the memory offers its page dicts.
The function takes (X, F, cpu), counts the retired instructions into ``cpu.instret`` and returns the
next pc.

No bookkeeping runs for faults: when a load, store or helper raises, the caller finds the faulting
line in the traceback (``BlockInfo.lines``: line -> instruction) and the registers' current values in
the dead frame's locals, which makes the architectural state exact at the faulting instruction.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from .decode import Decoded, decode
from .faults import IllegalInstruction
from .memory import Memory, MemoryFault
from .user_isa import KIND_BRANCH, KIND_FENCE_I, KIND_JUMP, KIND_PLAIN, KIND_TRAP

MAX_BLOCK = 48        # instructions in a block
MAX_SIDE_EXITS = 8    # conditional branches in a block (each exit stores the registers written so far)
_TOKEN = re.compile(r"\b(X1|X2|XD|F1|F2|F3|FD|IMM|RS1|RM|PC|NPC|K|NEXT)\b")


class InsnAt(NamedTuple):
    k: int          # index in the block: k instructions retired before it
    pc: int
    bits: int
    calls_env: bool  # an exception from this line comes from the environment, not the guest


class BlockInfo(NamedTuple):
    lines: dict[int, InsnAt]
    registers: dict[str, tuple[str, int]]   # local name -> ("x" or "f", register number)
    loop_body: int    # a block looping on itself: instructions per iteration (retired = loop_i * this + k)


Block = Callable[[list, list, Any], int]


def fetch_decode(memory: Memory, pc: int) -> Decoded:
    """Fetch and decode the instruction at pc (raises MemoryFault with access "x", or IllegalInstruction)."""
    half = int.from_bytes(memory.fetch(pc, 2), "little")
    if half & 3 == 3:
        half |= int.from_bytes(memory.fetch(pc + 2, 2), "little") << 16
    return decode(half)


def _operands(d: Decoded, pc: int, k: str) -> dict[str, str]:
    return {"X1": f"x{d.rs1}" if d.rs1 else "(0)", "X2": f"x{d.rs2}" if d.rs2 else "(0)",
            "XD": f"x{d.rd}" if d.rd else "_", "F1": f"f{d.rs1}", "F2": f"f{d.rs2}", "F3": f"f{d.rs3}",
            "FD": f"f{d.rd}", "IMM": f"({d.imm})", "RS1": str(d.rs1), "RM": str(d.rm), "PC": hex(pc),
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
    insns: list[tuple[int, Decoded]] = []
    addr = pc
    branches = 0
    while len(insns) < MAX_BLOCK and branches < MAX_SIDE_EXITS:
        try:
            d = fetch_decode(memory, addr)
        except (MemoryFault, IllegalInstruction):
            if not insns:
                raise
            break
        insns.append((addr, d))
        addr += d.length
        branches += d.insn.kind == KIND_BRANCH
        if d.insn.kind not in (KIND_PLAIN, KIND_BRANCH):
            break
    fn = _compile(insns, cpu.block_globals)
    memory.translations[pc] = fn
    memory.note_code(pc, pc, addr - 1)
    return fn


_SIMPLIFY = [  # registers hold values in [0, 2**64): adding a zero changes nothing, needs no mask
    (re.compile(r"\((x\d+) \+ \(0\)\)"), r"\1"),
    (re.compile(r"\(\(0\) \+ (x\d+)\)"), r"\1"),
    (re.compile(r"\((x\d+)\) & 0xFFFFFFFFFFFFFFFF"), r"\1"),
    (re.compile(r"(?:(?<=\()|(?<=, )|(?<== )|^)(x\d+) & 0xFFFFFFFFFFFFFFFF(?=[,)]|$)"), r"\1"),
]
_CONSTANT_ASSIGNMENT = re.compile(r"(x\d+) = ([^\n]+)")   # x0 read as (0): li, lui and the like fold
_HEX = re.compile(r"\b0x[0-9A-Fa-f]+\b")
LOOP_CHUNK = 20000   # a block looping on itself comes back to the run loop after about this many instructions


_MEMORY_CALL = re.compile(r"\b(ld|st)([1248])\(")
_BASE_OFFSET = re.compile(r"\((x\d+) \+ \((-?\d+)\)\) & 0xFFFFFFFFFFFFFFFF")
_STRUCTS = {2: "H", 4: "I", 8: "Q"}
INLINE_HELPERS = {"StructError": struct.error, **{f"unpack{w}": struct.Struct("<" + f).unpack_from for w, f in _STRUCTS.items()},
                  **{f"pack{w}": struct.Struct("<" + f).pack_into for w, f in _STRUCTS.items()}}


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


def inline_memory(code: str) -> str:
    """Expand a template's ldN(a)/stN(a, v) call into the page-dict fast path, the call kept as the
    slow path."""
    m = _MEMORY_CALL.search(code)
    if m is None:
        return code
    kind, width = m.group(1), int(m.group(2))
    args, after = _call_arguments(code, m.end() - 1)
    addr = args[0] if re.fullmatch(r"x\d+", args[0]) else "mem_addr"
    lines = [] if addr == args[0] else [f"mem_addr = {args[0]}"]
    slow_addr = addr
    based = _BASE_OFFSET.fullmatch(args[0])
    if based:   # the page dicts miss a sum outside [0, 2**64), so only the slow path needs it wrapped
        lines, slow_addr = [f"mem_addr = {based.group(1)} + {based.group(2)}"], "mem_addr & 0xFFFFFFFFFFFFFFFF"
    page, offset = f"[{addr} >> 12]", f"{addr} & 4095"
    if kind == "ld":
        fast = f"readable_pages{page}[{offset}]" if width == 1 else f"unpack{width}(readable_pages{page}, {offset})[0]"
        prefix, suffix = code[:m.start()], code[after:]
        target = prefix[:-3] if not suffix and re.fullmatch(r"(x\d+|f\d+|_) = ", prefix) else "mem_value"
        lines += ["try:", f"    {target} = {fast}", f"except {'KeyError' if width == 1 else '(KeyError, StructError)'}:",
                  f"    {target} = ld{width}({slow_addr})"]
        if target == "mem_value":
            lines.append(prefix + "mem_value" + suffix)
    else:
        value = args[1] if width == 8 else f"{args[1]} & {hex((1 << (8 * width)) - 1)}"
        fast = (f"writable_pages{page}[{offset}] = {value}" if width == 1
                else f"pack{width}(writable_pages{page}, {offset}, {value})")
        lines += ["try:", f"    {fast}", f"except {'KeyError' if width == 1 else '(KeyError, StructError)'}:",
                  f"    st{width}({slow_addr}, {args[1]})"]
        assert not code[:m.start()].strip() and not code[after:].strip(), code
    return "\n".join(lines)


def _registers(d: Decoded, ops: dict[str, str]) -> tuple[list[str], list[str]]:
    """(locals the instruction reads, locals it writes)."""
    tokens = set(_TOKEN.findall(d.insn.template))
    reads = [ops[t] for t in ("X1", "X2", "F1", "F2", "F3") if t in tokens and ops[t] != "(0)"]
    writes = [ops[t] for t in ("XD", "FD") if t in tokens and ops[t] != "_"]
    return reads, writes


def _loop_end(insns: list[tuple[int, Decoded]]) -> int | None:
    """Index of the first branch (or jal) back to the block's entry: the block is then a loop up to there."""
    entry = insns[0][0]
    for k, (pc, d) in enumerate(insns):
        if (d.insn.kind == KIND_BRANCH or d.insn.name == "jal") and (pc + d.imm) & 0xFFFFFFFFFFFFFFFF == entry:
            return k
    return None


@functools.lru_cache(maxsize=1 << 16)
def _instruction_code(d: Decoded, pc: int, k: str, inline: bool) -> tuple[str, list[str], list[str]]:
    """(source, locals read, locals written) of one instruction: its template with operands resolved."""
    ops = _operands(d, pc, k)
    code = _TOKEN.sub(lambda m: ops[m.group(1)], d.insn.template)
    for pattern, replacement in _SIMPLIFY:
        code = pattern.sub(replacement, code)
    assignment = _CONSTANT_ASSIGNMENT.fullmatch(code)
    if assignment and not re.search(r"[A-Za-z_]", _HEX.sub("", assignment.group(2))):
        code = f"{assignment.group(1)} = {eval(assignment.group(2))}"   # literals and operators only
    if inline:
        code = inline_memory(code)
    reads, writes = _registers(d, ops)
    return code, reads, writes


@functools.lru_cache(maxsize=1 << 14)
def _compiled(source: str, name: str) -> Any:
    """The code object of a block's source: a block translated again (its code cache dropped by a
    TLB shootdown or fence.i, the same bytes at the same pc) is not compiled again."""
    return compile(source, name, "exec")


def _compile(insns: list[tuple[int, Decoded]], namespace: dict[str, Any]) -> Block:
    """Generate, compile and return the function of one block (see the module's docstring)."""
    body = _Writer()
    inline = "readable_pages" in namespace
    loaded: dict[str, None] = {}     # locals holding a register (loaded or written so far)
    written: dict[str, None] = {}
    loop_end = _loop_end(insns)
    codes = [_instruction_code(d, pc, str(k) if loop_end is None else f"(loop_i * {loop_end + 1} + {k})", inline)
             for k, (pc, d) in enumerate(insns)]
    prologue: list[str] = []
    indent = 1
    if loop_end is not None:
        # every register the loop touches lives in a local from the start, so that an exit from any
        # iteration can store it back
        for _, reads, writes in codes[:loop_end + 1]:
            loaded.update(dict.fromkeys(reads + writes))
            written.update(dict.fromkeys(writes))
        prologue = [f"{name} = {'X' if name[0] == 'x' else 'F'}[{name[1:]}]" for name in loaded]
        body_length = loop_end + 1
        chunk = max(1, LOOP_CHUNK // body_length)   # iterations, fewer when run()'s budget ends sooner
        prologue.append(f"for loop_i in range(min({chunk}, (cpu.limit - cpu.instret) // {body_length} + 1)):")
        indent = 2
    else:
        body_length = 0
    retired = f"loop_i * {body_length} + " if loop_end is not None else ""

    def writeback(level: int, at: InsnAt, count: int) -> None:
        stores = [f"{'X' if n[0] == 'x' else 'F'}[{n[1:]}] = {n}" for n in written]
        stores.append(f"cpu.instret += {retired}{count}")
        body.emit("; ".join(stores), level, at)

    end = insns[-1][0] + insns[-1][1].length
    for k, (pc, d) in enumerate(insns):
        at = InsnAt(k, pc, d.bits, False)
        code, reads, writes = codes[k]
        for name in reads:
            if name not in loaded:
                body.emit(f"{name} = {'X' if name[0] == 'x' else 'F'}[{name[1:]}]", indent, None)
                loaded[name] = None
        loaded.update(dict.fromkeys(writes))
        written.update(dict.fromkeys(writes))
        kind = d.insn.kind
        if kind == KIND_PLAIN:
            body.emit(code, indent, at)
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
        writeback(indent, InsnAt(len(insns), end, 0, False), len(insns))
        body.emit(f"return {hex(end)}", indent, None)
    header = ["def block(X, F, cpu):", *("    " + line for line in prologue)]
    source = "\n".join([*header, *body.lines])
    code = _compiled(source, f"<riscv block {insns[0][0]:#x}>")
    scope: dict[str, Any] = {}
    exec(code, namespace, scope)  # noqa: S102 - source generated above from the ISA table
    fn = scope["block"]
    registers = {name: (name[0], int(name[1:])) for name in loaded}
    fn.info = BlockInfo({line + len(header): at for line, at in body.owner.items()}, registers, body_length)
    fn.source = source
    return fn
