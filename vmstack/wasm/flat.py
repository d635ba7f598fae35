"""Tier 1's general translation, for the functions the structured one cannot
express (loops nested deeper than CPython's 20 static blocks, nesting deeper
than its indentation limit, huge irregular ``br_table``s).

The function becomes a state machine over basic blocks: ``while True:`` around
a binary decision tree on ``pc`` (so the source nests only log2(blocks) deep),
each basic block a straight run of the same instruction code the structured
translation writes. Every branch sets ``pc`` and ``continue``s; values crossing
a block boundary live in their stack slots ``s{k}``. Slower, but always valid
Python.
"""

from __future__ import annotations

import re

from .interp import Frame, Translator, as_condition

_LABEL = re.compile(r"@(\d+)@")


class FlatTranslator(Translator):
    """Writes one wasm function as a basic-block state machine."""

    TARGET_SETTER = "pc = "

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.blocks: list[tuple[list[int], list[str]]] = []  # (labels naming the block, its lines)
        self.next_label = 0
        self.else_labels: dict[int, int] = {}  # if frame id → label of its else arm
        self.table_labels: dict[str, list[int]] = {}  # br_table constant → the labels it holds
        self.block_start_count = 0
        self.prologue: list[str] = []  # lines before the state machine (locals, memory)

    # ---- blocks and labels

    def new_label(self) -> int:
        self.next_label += 1
        return self.next_label

    def start_block(self, labels: list[int]) -> None:
        """Close the current basic block and begin one reached through ``labels``."""
        self.close_block()
        self.lines = []
        self.ind = 0
        self.blocks.append((labels, self.lines))
        self.block_start_count = self.live_count
        if self.fuel:
            self.emit_fuel("@FUEL@")  # the block's instruction count, known when it closes

    def close_block(self) -> None:
        if self.blocks and self.fuel:
            self.lines[0] = self.lines[0].replace("@FUEL@", str(max(self.live_count - self.block_start_count, 1)))

    def jump(self, label: int) -> list[str]:
        return [f"pc = @{label}@", "continue"]

    def start_body(self) -> None:
        self.prologue = self.lines
        self.start_block([0])

    def assemble(self) -> str:
        self.close_block()
        order = {label: n for n, (labels, _) in enumerate(self.blocks) for label in labels}

        def resolve(line: str) -> str:
            return _LABEL.sub(lambda m: str(order[int(m.group(1))]), line)

        for name, labels in self.table_labels.items():
            self.consts[name] = tuple(order[label] for label in labels)
        out = [self.header(), *self.prologue, "    pc = 0", "    while True:"]
        self.dispatch(0, len(self.blocks), 2, out, resolve)
        return "\n".join(out)

    def dispatch(self, lo: int, hi: int, depth: int, out: list[str], resolve) -> None:
        """The decision tree selecting blocks lo..hi-1 by ``pc``."""
        pad = "    " * depth
        if hi - lo == 1:
            out.extend(pad + resolve(line) for line in self.blocks[lo][1] or ["pass"])
            return
        mid = (lo + hi) // 2
        out.append(f"{pad}if pc < {mid}:")
        self.dispatch(lo, mid, depth + 1, out, resolve)
        out.append(f"{pad}else:")
        self.dispatch(mid, hi, depth + 1, out, resolve)

    # ---- values: every result goes to its slot (no nested expressions to outgrow the parser)

    def push(self, expr: str) -> None:
        k = len(self.stack)
        self.stmt(f"s{k} = {expr}")
        self.stack.append(f"s{k}")

    # ---- structure

    def structured(self, op: str, instr: tuple, pc: int) -> None:
        cond = as_condition(self.pop()[0]) if op == "if" else ""
        frame = self.open_frame(op, instr[1], pc)
        frame.id = self.new_label()
        if op == "loop":
            self.emit(f"pc = @{frame.id}@")
            self.start_block([frame.id])
        elif op == "if":
            else_label = self.else_labels[frame.id] = self.new_label()
            self.emit(f"if not ({cond}):")
            self.ind += 1
            for line in self.jump(else_label):
                self.emit(line)
            self.ind -= 1
        self.frames.append(frame)

    def do_else(self) -> None:
        frame = self.frames[-1]
        if not self.dead:
            self.end_frame_values(frame)
            self.emit(f"pc = @{frame.id}@")
        frame.dead_before_else = self.dead
        frame.else_seen = True
        self.dead = False
        del self.stack[frame.height:]
        self.stack.extend(f"s{frame.height + i}" for i in range(len(frame.params)))
        self.start_block([self.else_labels[frame.id]])

    def do_end(self) -> bool:
        frame = self.frames[-1]
        if frame.kind == "func":
            return super().do_end()
        fell_through = not self.dead
        if fell_through:
            self.end_frame_values(frame)
        self.frames.pop()
        del self.stack[frame.height:]
        self.stack.extend(f"s{frame.height + i}" for i in range(len(frame.results)))
        if frame.kind == "loop":
            self.dead = not fell_through
            return False
        labels = [frame.id]
        if frame.kind == "if" and not frame.else_seen:
            labels.append(self.else_labels[frame.id])
        reachable = fell_through or frame.targeted or len(labels) > 1 or not frame.dead_before_else
        if fell_through:
            self.emit(f"pc = @{frame.id}@")
        if reachable:
            self.start_block(labels)
        self.dead = not reachable
        return False

    # ---- branches

    def branch_code(self, depth: int) -> tuple[list[str], bool]:
        target = self.frames[-1 - depth]
        if target.kind == "func":
            return super().branch_code(depth)
        return self.moves(target) + self.jump(target.id), False

    def can_skip_rest(self, frame: Frame) -> bool:
        return False  # every branch is a jump here

    def target_table(self, targets: list[str]) -> str:
        name = self.const(list(targets), "PC")  # a fresh object: its block numbers are known at assembly
        self.table_labels[name] = [int(t.strip("@")) if t else 0 for t in targets]
        return name
