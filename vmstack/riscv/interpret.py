"""The interpreter for cold code: one Python function per instruction of the ``user_isa`` table, made
from the same templates the translator uses, with operands read from the decoded fields at run time.

Code runs here until its block has been entered HOT times; then ``translate`` compiles it. Compiling a
block costs about as much as interpreting it a few dozen times, and most code (start-up, error paths)
runs only a handful of times. The interpreter executes on the architectural state itself, one
instruction at a time, so a fault leaves the state exact without any recovery.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .decode import Decoded
from .faults import IllegalInstruction
from .memory import CODE_DECODED
from .translate import fetch_decode
from .user_isa import INSTRUCTIONS, KIND_BRANCH, KIND_FENCE_I, KIND_JUMP, KIND_PLAIN, KIND_TRAP, Instruction

HOT = 25          # entries into a block before it is translated
MAX_STEPS = 64    # instructions interpreted in one go (a block's worth)

_TOKEN = re.compile(r"\b(X1|X2|F1|F2|F3|IMM|RS1|RM|PC|NPC|K|NEXT)\b")
_OPERAND = {"X1": "X[rs1]", "X2": "X[rs2]", "F1": "F[rs1]", "F2": "F[rs2]", "F3": "F[rs3]", "IMM": "imm",
            "RS1": "rs1", "RM": "rm", "PC": "pc", "NPC": "npc", "K": "0", "NEXT": "next_pc"}

Step = Callable[..., int]   # (cpu, X, F, pc, rd, rs1, rs2, rs3, imm, rm, npc) -> next pc


def _step_source(insn: Instruction) -> str:
    lines = []
    for line in insn.template.split("\n"):
        target = None
        if line.startswith(("XD = ", "FD = ")):
            target, line = line[:2], line[5:]
        line = _TOKEN.sub(lambda m: _OPERAND[m.group(1)], line)
        if target == "XD":
            lines += [f"value = {line}", "if rd:", "    X[rd] = value"]
        elif target == "FD":
            lines.append(f"F[rd] = {line}")
        elif insn.kind == KIND_BRANCH:
            lines.append(f"return (pc + imm) & 0xFFFFFFFFFFFFFFFF if {line} else npc")
        else:
            lines.append(line)
    if insn.kind == KIND_TRAP:
        lines.insert(0, "cpu.pc = pc")
        lines.append("return cpu.pc")
    elif insn.kind == KIND_JUMP:
        lines.append("return next_pc")
    elif insn.kind in (KIND_PLAIN, KIND_FENCE_I):
        lines.append("return npc")
    body = "\n".join("    " + line for line in lines)
    return f"def step(cpu, X, F, pc, rd, rs1, rs2, rs3, imm, rm, npc):\n{body}\n"


def build_steps(namespace: dict[str, Any], variants: tuple[Instruction, ...] = ()) -> dict[str, Step]:
    """The step function of every instruction (and of the ``variants`` a checked decoder may return),
    its globals the translator's namespace."""
    steps = {}
    for insn in (*INSTRUCTIONS, *variants):
        scope: dict[str, Any] = {}
        exec(_step_code(insn), namespace, scope)  # noqa: S102
        steps[insn.name] = scope["step"]
    return steps


@functools.cache
def _step_code(insn: Instruction) -> Any:
    """The code object of an instruction's step (the same for every namespace: each mode of a hart has one)."""
    return compile(_step_source(insn), f"<riscv {insn.name}>", "exec")


def decoded_step(cpu: Any, pc: int) -> tuple[Step, tuple, int, int, Decoded]:
    """(step function, its operand arguments, kind, bits, the Decoded) of the instruction at pc, cached in
    the Memory."""
    memory = cpu.memory
    entry = memory.decoded.get(pc) or memory.recall(CODE_DECODED, pc)
    if entry is None:
        d: Decoded = fetch_decode(memory, pc)
        entry = (cpu.steps[d.insn.name], (d.rd, d.rs1, d.rs2, d.rs3, d.imm, d.rm, pc + d.length), d.insn.kind, d.bits,
                 d)
        memory.decoded[pc] = entry
        memory.note_code(pc, pc, pc + d.length - 1)
    return entry


def interpret(cpu: Any, pc: int) -> int:
    """Run from pc up to the end of its block (a jump, trap or taken branch); return the next pc.
    A guest fault propagates with cpu.pc and cpu.instret at the faulting instruction."""
    x, f = cpu.x, cpu.f
    decoded = cpu.memory.decoded    # the same dict until we return (a mode change comes from a trap)
    for _ in range(MAX_STEPS):
        cpu.pc = pc
        step, args, kind, bits, _ = decoded.get(pc) or decoded_step(cpu, pc)
        if kind == KIND_TRAP:   # retired before the environment sees it, as in a translated block
            cpu.instret += 1
            return step(cpu, x, f, pc, *args)
        try:
            next_pc = step(cpu, x, f, pc, *args)
        except IllegalInstruction:
            raise IllegalInstruction(bits) from None
        cpu.instret += 1
        if kind != KIND_PLAIN and (kind != KIND_BRANCH or next_pc != args[6]):
            return next_pc
        pc = next_pc
    return pc
