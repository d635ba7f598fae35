"""Tier 1: a guest block, on its first execution, becomes one Python function, which CPython then runs.

A block runs from its entry pc through up to MAX_BLOCK instructions; it ends after a jump, an ecall or
ebreak, or a fence.i. A conditional branch does not end it: a taken branch leaves through a side exit.
Guest register xN read in the block becomes the Python local ``xN`` (fN for FP registers), loaded once
at entry; writes stay in locals and are stored back at each exit. The semantics are the templates of
``user_isa``, pasted in with their operands resolved (an immediate becomes a literal, x0 the literal 0).
The function takes (X, F, cpu), counts the retired instructions into ``cpu.instret`` and returns the
next pc.

No bookkeeping runs for faults: when a load, store or helper raises, the caller finds the faulting
line in the traceback (``BlockInfo.lines``: line -> instruction) and the registers' current values in
the dead frame's locals, which makes the architectural state exact at the faulting instruction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .decode import Decoded, decode
from .faults import IllegalInstruction
from .memory import Memory, MemoryFault
from .user_isa import KIND_BRANCH, KIND_FENCE_I, KIND_JUMP, KIND_PLAIN, KIND_TRAP

MAX_BLOCK = 64
_TOKEN = re.compile(r"\b(X1|X2|XD|F1|F2|F3|FD|IMM|RS1|RM|PC|NPC|K|NEXT)\b")


class InsnAt(NamedTuple):
    k: int          # index in the block: k instructions retired before it
    pc: int
    bits: int
    calls_env: bool  # an exception from this line comes from the environment, not the guest


class BlockInfo(NamedTuple):
    lines: dict[int, InsnAt]
    registers: dict[str, tuple[str, int]]   # local name -> ("x" or "f", register number)


Block = Callable[[list, list, Any], int]


def fetch_decode(memory: Memory, pc: int) -> Decoded:
    """Fetch and decode the instruction at pc (raises MemoryFault with access "x", or IllegalInstruction)."""
    half = int.from_bytes(memory.fetch(pc, 2), "little")
    if half & 3 == 3:
        half |= int.from_bytes(memory.fetch(pc + 2, 2), "little") << 16
    return decode(half)


def _operands(d: Decoded, pc: int, k: int) -> dict[str, str]:
    return {"X1": f"x{d.rs1}" if d.rs1 else "(0)", "X2": f"x{d.rs2}" if d.rs2 else "(0)",
            "XD": f"x{d.rd}" if d.rd else "_", "F1": f"f{d.rs1}", "F2": f"f{d.rs2}", "F3": f"f{d.rs3}",
            "FD": f"f{d.rd}", "IMM": f"({d.imm})", "RS1": str(d.rs1), "RM": str(d.rm), "PC": hex(pc),
            "NPC": hex(pc + d.length), "K": str(k), "NEXT": "next_pc"}


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
    while len(insns) < MAX_BLOCK:
        try:
            d = fetch_decode(memory, addr)
        except (MemoryFault, IllegalInstruction):
            if not insns:
                raise
            break
        insns.append((addr, d))
        addr += d.length
        if d.insn.kind not in (KIND_PLAIN, KIND_BRANCH):
            break
    fn = _compile(insns, cpu.block_globals)
    memory.translations[pc] = fn
    memory.note_code(pc, pc, addr - 1)
    return fn


def _compile(insns: list[tuple[int, Decoded]], namespace: dict[str, Any]) -> Block:
    read: dict[str, None] = {}
    written: dict[str, None] = {}
    body = _Writer()

    def writeback(indent: int, at: InsnAt, retired: int) -> None:
        stores = [f"{'X' if n[0] == 'x' else 'F'}[{n[1:]}] = {n}" for n in written]
        stores.append(f"cpu.instret += {retired}")
        body.emit("; ".join(stores), indent, at)

    end = insns[-1][0] + insns[-1][1].length
    for k, (pc, d) in enumerate(insns):
        at = InsnAt(k, pc, d.bits, False)
        ops = _operands(d, pc, k)
        template = d.insn.template
        tokens = set(_TOKEN.findall(template))
        for token in tokens & {"X1", "X2", "F1", "F2", "F3"}:
            if ops[token] != "(0)" and ops[token] not in written:
                read[ops[token]] = None
        for token in tokens & {"XD", "FD"}:
            if ops[token] != "_":
                written[ops[token]] = None
        code = _TOKEN.sub(lambda m, ops=ops: ops[m.group(1)], template)
        kind = d.insn.kind
        if kind == KIND_PLAIN:
            body.emit(code, 1, at)
        elif kind == KIND_BRANCH:
            body.emit(f"if {code}:", 1, at)
            writeback(2, at, k + 1)
            body.emit(f"return {hex((pc + d.imm) & 0xFFFFFFFFFFFFFFFF)}", 2, at)
        elif kind == KIND_JUMP:
            body.emit(code, 1, at)
            writeback(1, at, k + 1)
            body.emit("return next_pc", 1, at)
        elif kind == KIND_TRAP:
            writeback(1, at, k + 1)
            body.emit(f"cpu.pc = {hex(pc)}", 1, at)
            body.emit(code, 1, at._replace(calls_env=True))
            body.emit("return cpu.pc", 1, at)
        else:
            assert kind == KIND_FENCE_I
            writeback(1, at, k + 1)
            body.emit(code, 1, at)
            body.emit(f"return {hex(end)}", 1, at)
    if insns[-1][1].insn.kind in (KIND_PLAIN, KIND_BRANCH):
        writeback(1, InsnAt(len(insns), end, 0, False), len(insns))
        body.emit(f"return {hex(end)}", 1, None)
    prologue = [f"    {name} = {'X' if name[0] == 'x' else 'F'}[{name[1:]}]" for name in read]
    source = "\n".join(["def block(X, F, cpu):", *prologue, *body.lines])
    shift = 1 + len(prologue)
    code = compile(source, f"<riscv block {insns[0][0]:#x}>", "exec")
    scope: dict[str, Any] = {}
    exec(code, namespace, scope)  # noqa: S102 - source generated above from the ISA table
    fn = scope["block"]
    registers = {name: (name[0], int(name[1:])) for name in {**read, **written}}
    fn.info = BlockInfo({line + shift: at for line, at in body.owner.items()}, registers)
    fn.source = source
    return fn
