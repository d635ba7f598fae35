"""Tier 1, the interpreter: each wasm function is translated, on its first call,
into one Python function, which CPython then runs.

The wasm operand stack is static, so stack slot k becomes the Python local
``s{k}`` and wasm local j becomes ``l{j}``; ``i32.add`` becomes
``s3 = (s3 + s4) & 0xFFFFFFFF``, and a value consumed right away is folded into
its consumer's expression instead. Instruction semantics come from the tables
in ``numeric`` (and ``simd``), written once. Control flow: a branch-targeted
``loop`` is a ``while True:``; blocks are not Python blocks (CPython allows
only 20 nested loops, clang nests dozens of blocks): a branch to a block sets
``br`` to the block's id, and code that might be skipped is guarded by
``if not br:`` until the block's end clears it. A switch (a run of nested
blocks entered by ``br_table``) gets a binary tree of such guards, so reaching
a case costs log(n) tests. Functions CPython cannot take in this shape get the
general translation of ``flat``."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from . import numeric, simd
from .errors import OutOfFuel, Trap, WasmError
from .module import Func, FuncType
from .runtime import CODE_FILENAME, WasmFunc

# ---------------------------------------------------------------- run-time helpers


def _trap_table() -> Trap:
    return Trap("out of bounds table access")


def mem_fill(mem: bytearray, dst: int, value: int, n: int) -> None:
    if dst + n > len(mem):
        raise Trap("out of bounds memory access")
    mem[dst:dst + n] = bytes((value & 0xFF,)) * n


def mem_copy(mem: bytearray, dst: int, src: int, n: int) -> None:
    if dst + n > len(mem) or src + n > len(mem):
        raise Trap("out of bounds memory access")
    mem[dst:dst + n] = mem[src:src + n]


def mem_init(mem: bytearray, data: bytes, dst: int, src: int, n: int) -> None:
    if src + n > len(data) or dst + n > len(mem):
        raise Trap("out of bounds memory access")
    mem[dst:dst + n] = data[src:src + n]


def table_get(table: Any, i: int) -> Any:
    if i >= len(table.elements):
        raise _trap_table()
    return table.elements[i]


def table_set(table: Any, i: int, value: Any) -> None:
    if i >= len(table.elements):
        raise _trap_table()
    table.elements[i] = value
    table.changed()


def table_fill(table: Any, i: int, value: Any, n: int) -> None:
    if i + n > len(table.elements):
        raise _trap_table()
    table.elements[i:i + n] = [value] * n
    table.changed()


def table_copy(dst_table: Any, src_table: Any, dst: int, src: int, n: int) -> None:
    if dst + n > len(dst_table.elements) or src + n > len(src_table.elements):
        raise _trap_table()
    dst_table.elements[dst:dst + n] = src_table.elements[src:src + n]
    dst_table.changed()


def table_init(table: Any, segment: list, dst: int, src: int, n: int) -> None:
    if src + n > len(segment) or dst + n > len(table.elements):
        raise _trap_table()
    table.elements[dst:dst + n] = segment[src:src + n]
    table.changed()


def indirect_target(table: Any, i: int, expected: FuncType) -> Any:
    elements = table.elements
    if i >= len(elements):
        raise Trap("undefined element")
    func = elements[i]
    if func is None:
        raise Trap("uninitialized element")
    if func.type != expected:
        raise Trap("indirect call type mismatch")
    return func.call


def _struct(fmt: str) -> struct.Struct:
    return struct.Struct("<" + fmt)


NAMESPACE: dict[str, Any] = {k: v for k, v in vars(numeric).items() if not k.startswith("__")}
NAMESPACE.update(
    Trap=Trap, OutOfFuel=OutOfFuel, mem_fill=mem_fill, mem_copy=mem_copy, mem_init=mem_init,
    table_get=table_get, table_set=table_set, table_fill=table_fill, table_copy=table_copy,
    table_init=table_init, indirect_target=indirect_target,
    U16=_struct("H").unpack_from, I16=_struct("h").unpack_from, U32=_struct("I").unpack_from,
    I32=_struct("i").unpack_from, U64=_struct("Q").unpack_from, F64=_struct("d").unpack_from,
    P16=_struct("H").pack_into, P32=_struct("I").pack_into, P64=_struct("Q").pack_into,
    PF64=_struct("d").pack_into,
)

M64 = "0xFFFFFFFFFFFFFFFF"
LOADS = {
    "i32.load": "U32(mem, {ea})[0]",
    "i64.load": "U64(mem, {ea})[0]",
    "f32.load": "f32_from_bits(U32(mem, {ea})[0])",
    "f64.load": "F64(mem, {ea})[0]",
    "i32.load8_s": "((mem[{ea}] ^ 0x80) - 0x80) & 0xFFFFFFFF",
    "i32.load8_u": "mem[{ea}]",
    "i32.load16_s": "I16(mem, {ea})[0] & 0xFFFFFFFF",
    "i32.load16_u": "U16(mem, {ea})[0]",
    "i64.load8_s": f"((mem[{{ea}}] ^ 0x80) - 0x80) & {M64}",
    "i64.load8_u": "mem[{ea}]",
    "i64.load16_s": f"I16(mem, {{ea}})[0] & {M64}",
    "i64.load16_u": "U16(mem, {ea})[0]",
    "i64.load32_s": f"I32(mem, {{ea}})[0] & {M64}",
    "i64.load32_u": "U32(mem, {ea})[0]",
}
STORES = {
    "i32.store": "P32(mem, {ea}, {v})",
    "i64.store": "P64(mem, {ea}, {v})",
    "f32.store": "P32(mem, {ea}, f32_to_bits({v}))",
    "f64.store": "PF64(mem, {ea}, {v})",
    "i32.store8": "mem[{ea}] = {v} & 0xFF",
    "i64.store8": "mem[{ea}] = {v} & 0xFF",
    "i32.store16": "P16(mem, {ea}, {v} & 0xFFFF)",
    "i64.store16": "P16(mem, {ea}, {v} & 0xFFFF)",
    "i64.store32": "P32(mem, {ea}, {v} & 0xFFFFFFFF)",
}
ZERO = {"i32": "0", "i64": "0", "f32": "0.0", "f64": "0.0", "v128": "0", "funcref": "None",
        "externref": "None"}


NAMESPACE.update({k: v for k, v in vars(simd).items() if not k.startswith("__")})
SIMD_OPS = simd.SIMD_OPS


def _single_use(template: str) -> bool:
    return all(template.count(f"{{{k}}}") <= 1 for k in range(3))


# instructions that consume the value just pushed right away, so it need not sit in a slot
CONSUMERS = frozenset(
    [name for name, t in {**numeric.SCALAR_OPS, **SIMD_OPS}.items() if _single_use(t)]
    + list(LOADS) + list(STORES)
    + ["local.set", "local.tee", "global.set", "br_if", "if", "select"])

# instructions whose code uses the linear memory's bytearray `mem`
MEMORY_OPS = frozenset(
    [*LOADS, *STORES, "memory.size", "memory.grow", "memory.fill", "memory.copy", "memory.init"]
    + [name for name, template in SIMD_OPS.items() if "{mem}" in template])

_BOOL_INT = re.compile(r"^\(\(1 if (.*) else 0\)\)$")


def as_condition(expr: str) -> str:
    """`((1 if X else 0))` tested for truth is just X."""
    match = _BOOL_INT.match(expr)
    return match.group(1) if match else expr


MAX_INDENT = 90  # CPython refuses source indented 100 levels deep
MAX_IF_CHAIN = 64  # a longer `elif` chain would strain CPython's recursive compiler


class TooComplex(WasmError):
    """The function cannot be expressed as one Python function (nesting too deep)."""


# ---------------------------------------------------------------- the translator


SWITCH_MIN = 8  # runs of this many consecutive `block`s get a switch's dispatch tree
SWITCH_LEAF = 4  # cases left to plain guards at the tree's leaves


@dataclass
class SwitchChain:
    """A run of consecutive ``block``s: clang's switch, entered by a ``br_table``. Their ends come
    innermost first, each followed by a segment of code that runs when no branch is pending, or
    the pending branch targets that end or one before it. Segments are wrapped in a binary tree
    of ``if``s, so reaching case n costs log(n) tests rather than n."""

    ids: list[int]  # frame id by position (0 = innermost)
    opens: dict[int, list[int]]  # position → the last position of each wrapper starting there, outer first
    closes: dict[int, int]  # position → how many wrappers end after its segment

    @classmethod
    def of_length(cls, length: int) -> SwitchChain:
        chain = cls([0] * length, {}, {})
        chain.split(0, length - 2)  # the outermost block's segment is the code after the switch
        return chain

    def split(self, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        self.opens.setdefault(lo, []).append(hi)
        self.closes[hi] = self.closes.get(hi, 0) + 1
        if hi - lo + 1 > SWITCH_LEAF:
            mid = (lo + hi) // 2
            self.split(lo, mid)
            self.split(mid + 1, hi)


@dataclass
class Frame:
    kind: str  # 'func' | 'block' | 'loop' | 'if'
    id: int
    params: tuple[str, ...]
    results: tuple[str, ...]
    height: int  # stack height below the frame's parameters
    targeted: bool  # some branch targets this frame's label
    escapes: set[int] = field(default_factory=set)  # ids of outer frames branched to from inside
    py_loop: bool = False  # translated as a Python `while True:`
    # Python `if`s open in the frame's code, innermost last: ("guard", first line) for an `if not br:`,
    # ("skip", first line) for the `if not cond:` of a br_if that leaves the frame
    levels: list[tuple[str, int]] = field(default_factory=list)
    setters: int = 0  # branches that reach the frame's end by setting `br`
    else_seen: bool = False
    first_line: int = 0
    dead_before_else: bool = False
    chain: SwitchChain | None = None  # the switch this block belongs to
    chain_pos: int = 0  # its position there, 0 = innermost

    @property
    def label_arity(self) -> tuple[str, ...]:
        return self.params if self.kind == "loop" else self.results


class Scan(NamedTuple):
    """What the translator needs to know ahead, by opener index (-1 for the function)."""

    targeted: dict[int, bool]  # some branch targets its label
    escapes: dict[int, set[int]]  # outer openers branched to from inside it
    counts: dict[int, int]  # for the function and each Python loop: the fuel one entry or iteration costs
    sources: dict[int, int]  # how many branch instructions target it


def _prescan(body: list[tuple]) -> Scan:
    targeted: dict[int, bool] = {-1: False}
    sources: dict[int, int] = {-1: 0}
    escapes: dict[int, set[int]] = {-1: set()}
    counts: dict[int, int] = {-1: 0}
    stack = [-1]
    loops = [-1]
    for i, instr in enumerate(body):
        op = instr[0]
        counts[loops[-1]] += 1
        if op in ("block", "loop", "if"):
            stack.append(i)
            targeted[i] = False
            sources[i] = 0
            escapes[i] = set()
            if op == "loop":
                loops.append(i)
                counts[i] = 0
            continue
        if op == "end":
            opener = stack.pop()
            if opener in counts and opener != -1:
                loops.pop()
                if not targeted[opener]:  # runs once, as part of the region around it
                    counts[loops[-1]] += counts.pop(opener)
            continue
        if op in ("br", "br_if"):
            depths = [instr[1]]
        elif op == "br_table":
            depths = [*instr[1], instr[2]]
        else:
            continue
        for target in {stack[-1 - depth] for depth in depths}:
            sources[target] += 1
        for depth in depths:
            target = stack[-1 - depth]
            targeted[target] = True
            if target == -1:
                continue  # a return: leaves through `return`, never through `br`
            for inner in stack[len(stack) - depth:]:
                escapes[inner].add(target)
    return Scan(targeted, escapes, counts, sources)


def skip_unreachable(walker: Any, op: str) -> bool:
    """Whether ``op``, met in unreachable code, is to be skipped by ``walker`` (a Translator or the JIT's
    FunctionLowering); keeps ``walker.dead_depth``, the count of blocks opened inside that code, so that
    only the ``else``/``end`` of the block that went dead is kept."""
    if op in ("block", "loop", "if"):
        walker.dead_depth += 1
        return True
    if op == "end" and walker.dead_depth:
        walker.dead_depth -= 1
        return True
    if op == "else" and walker.dead_depth:
        return True
    return op not in ("end", "else")


class Translator:
    """Writes the Python source of one wasm function."""

    def __init__(self, func: WasmFunc, fuel: bool) -> None:
        inst = func.instance
        self.inst = inst
        self.module = inst.module
        self.index = func.index
        self.code: Func = self.module.funcs[func.index - len(self.module.imports_of("func"))]
        self.type: FuncType = func.type
        self.fuel = fuel
        self.lines: list[str] = []
        self.ind = 1
        self.stack: list[str] = []
        self.frames: list[Frame] = []
        self.dead = False
        self.dead_depth = 0
        self.pending = False
        self.consts: dict[str, Any] = {}
        self.next_id = 1
        self.next_op = ""
        self.uses_br = False
        self.py_loops = 0
        self.live_count = 0  # instructions translated so far (unreachable ones excluded)
        self.switch_blocks: dict[int, tuple[SwitchChain, int]] = {}  # opener index → its switch
        self.wrapper_starts: list[int] = []  # first line of each open switch wrapper

    # ---- emission helpers

    def emit(self, line: str) -> None:
        if self.ind > MAX_INDENT:
            raise TooComplex("blocks nested too deeply for one Python function")
        self.lines.append("    " * self.ind + line)

    def const(self, value: Any, prefix: str) -> str:
        for name, existing in self.consts.items():
            if existing is value:
                return name
        name = f"{prefix}{len(self.consts)}"
        self.consts[name] = value
        return name

    def push(self, expr: str) -> None:
        """Push a value computed by ``expr``: assigned now to its slot, or, when the very next
        instruction consumes it, handed to that instruction as an expression."""
        if self.next_op in CONSUMERS:
            self.stack.append(f"({expr})")
            return
        k = len(self.stack)
        self.stmt(f"s{k} = {expr}")
        self.stack.append(f"s{k}")

    def push_deferred(self, expr: str) -> None:
        """Push a value that stays valid as written (a constant, a local until it is set)."""
        self.stack.append(expr)

    def pop(self, n: int = 1) -> list[str]:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def materialize(self) -> None:
        """Bring every stack entry into its own slot (values crossing into a block live there)."""
        for k in range(len(self.stack)):
            if self.stack[k] != f"s{k}":
                self.stmt(f"s{k} = {self.stack[k]}")
                self.stack[k] = f"s{k}"

    def materialize_local(self, name: str) -> None:
        """Before local ``name`` changes: stack entries still reading it take its value now."""
        for k, entry in enumerate(self.stack):
            if entry == name:
                self.stmt(f"s{k} = {name}")
                self.stack[k] = f"s{k}"

    def stmt(self, line: str) -> None:
        """Emit a statement of ordinary (skippable) code, opening a guard if a branch may be pending."""
        self.guard_pending()
        self.emit(line)

    def guard_pending(self) -> None:
        if self.pending:
            frame = self.frames[-1]
            if frame.levels and frame.levels[-1][0] == "guard":
                self.close_level(frame)
            self.open_level(frame, "guard", "if not br:")
            self.pending = False

    def open_level(self, frame: Frame, kind: str, line: str) -> None:
        self.emit(line)
        self.ind += 1
        frame.levels.append((kind, len(self.lines)))

    def close_level(self, frame: Frame) -> None:
        _, first_line = frame.levels.pop()
        if len(self.lines) == first_line:
            self.emit("pass")
        self.ind -= 1

    def fill_empty_arm(self, frame: Frame) -> None:
        if len(self.lines) == frame.first_line:
            self.emit("pass")

    def close_guard(self, frame: Frame) -> None:
        while frame.levels:
            self.close_level(frame)

    # ---- branches

    def innermost_py_loop(self) -> Frame | None:
        for frame in reversed(self.frames):
            if frame.py_loop:
                return frame
        return None

    def moves(self, target: Frame) -> list[str]:
        arity = len(target.label_arity)
        if not arity:
            return []
        vals = self.stack[-arity:]
        dests = [f"s{target.height + i}" for i in range(arity)]
        pairs = [(d, v) for d, v in zip(dests, vals) if d != v]
        if not pairs:
            return []
        return [f"{', '.join(d for d, _ in pairs)} = {', '.join(v for _, v in pairs)}"]

    def branch_code(self, depth: int) -> tuple[list[str], bool]:
        """Statements that take the branch, and whether control stays here (a pending `br`)."""
        target = self.frames[-1 - depth]
        if target.kind == "func":
            vals = self.stack[-len(self.type.results):] if self.type.results else []
            return [f"return {', '.join(vals)}" if vals else "return"], False
        code = self.moves(target)
        loop = self.innermost_py_loop()
        if target.kind == "loop" and target is loop:
            return code + ["continue"], False
        self.uses_br = True
        inside = loop is not None and self.frames.index(loop) > self.frames.index(target)
        if target.kind == "loop" and not inside:
            raise TooComplex("branch to a loop that is not a Python loop")
        code.append(f"br = {target.id}")
        if inside:
            code.append("break")
            return code, False
        return code, True

    def branch(self, depth: int) -> None:
        code, _ = self.branch_code(depth)
        for line in code:
            self.stmt(line)
        self.dead = True

    def branch_if(self, cond: str, depth: int) -> None:
        cond = as_condition(cond)
        frame = self.frames[-1]
        if depth == 0 and self.can_skip_rest(frame):  # leaving the innermost frame: skip the rest of it
            self.guard_pending()
            self.open_level(frame, "skip", f"if not ({cond}):")
            frame.setters -= 1
            return
        code, stays = self.branch_code(depth)
        self.stmt(f"if {cond}:")
        self.ind += 1
        for line in code:
            self.emit(line)
        self.ind -= 1
        if stays:
            self.pending = True

    # the statement of a branch that names its target, which br_table takes from a table instead
    TARGET_SETTER = "br = "

    def can_skip_rest(self, frame: Frame) -> bool:
        """Can a br_if leaving ``frame`` be an `if not cond:` around the rest of the frame's code?"""
        return frame.kind in ("block", "if") and not frame.results and frame.chain is None \
            and self.ind < MAX_INDENT // 2

    def branch_table(self, index: str, labels: tuple[int, ...], default: int) -> None:
        """Targets whose code differs only in the target they set share one way; the target comes
        from a table indexed by the (clamped) operand, and a short if-chain picks the way."""
        targets: list[str] = []
        ways: dict[tuple[str | None, ...], list[int]] = {}
        for k, depth in enumerate((*labels, default)):
            code, _ = self.branch_code(depth)
            target = next((line for line in code if line.startswith(self.TARGET_SETTER)), "")
            targets.append(target[len(self.TARGET_SETTER):])
            way = tuple(None if line == target else line for line in code)  # None: the target's line
            ways.setdefault(way, []).append(k)
        if len(ways) > MAX_IF_CHAIN:
            raise TooComplex("br_table with too many different kinds of target")
        table = self.target_table(targets) if any(targets) else ""
        k = f"({index} if {index} < {len(labels)} else {len(labels)})"
        if len(ways) > 1:
            self.stmt(f"bt = {k}")
            k = "bt"
        for n, (way, members) in enumerate(ways.items()):
            if len(ways) > 1:
                test = f"bt in {self.const(frozenset(members), 'WAY')}"
                self.stmt(f"if {test}:" if n == 0 else f"elif {test}:" if n < len(ways) - 1 else "else:")
                self.ind += 1
            for line in way:
                self.stmt(line if line is not None else f"{self.TARGET_SETTER}{table}[{k}]")
            if len(ways) > 1:
                self.ind -= 1
        self.dead = True

    def target_table(self, targets: list[str]) -> str:
        """A constant tuple of the branch targets (frame ids), by br_table index."""
        return self.const(tuple(int(t) if t else 0 for t in targets), "BT")

    # ---- structure

    def open_frame(self, kind: str, blocktype: Any, opener: int) -> Frame:
        params, results = self.block_signature(blocktype)
        self.materialize()
        frame = Frame(kind, self.next_id, params, results, len(self.stack) - len(params),
                      self.scan.targeted[opener], self.scan.escapes[opener])
        frame.setters = self.scan.sources[opener]
        self.next_id += 1
        self.opener_ids[opener] = frame.id
        return frame

    def block_signature(self, blocktype: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if blocktype is None:
            return (), ()
        if isinstance(blocktype, str):
            return (), (blocktype,)
        ty = self.module.types[blocktype]
        return ty.params, ty.results

    def end_frame_values(self, frame: Frame) -> None:
        """On the fall-through path: results into the frame's slots."""
        n = len(frame.results)
        vals = self.stack[-n:] if n else []
        dests = [f"s{frame.height + i}" for i in range(n)]
        pairs = [(d, v) for d, v in zip(dests, vals) if d != v]
        if pairs:
            self.stmt(f"{', '.join(d for d, _ in pairs)} = {', '.join(v for _, v in pairs)}")

    def after_py_loop(self, loop: Frame) -> None:
        """Right after a Python loop: act on a `br` set inside it for a frame outside it."""
        outer_ids = {self.opener_ids[o] for o in loop.escapes if o in self.opener_ids}
        if not outer_ids:
            return
        parent_loop = self.innermost_py_loop()
        frames_by_id = {f.id: f for f in self.frames}
        beyond = set()
        continue_here = False
        for fid in outer_ids:
            frame = frames_by_id.get(fid)
            if frame is None:
                continue
            if parent_loop is not None and frame is parent_loop:
                continue_here = True
            elif parent_loop is not None and self.frames.index(frame) < self.frames.index(parent_loop):
                beyond.add(fid)
        if continue_here:
            self.stmt(f"if br == {parent_loop.id}:")
            self.emit("    br = 0")
            self.emit("    continue")
        if beyond:
            ids = ", ".join(str(i) for i in sorted(beyond))
            self.stmt(f"if br in ({ids},):")
            self.emit("    break")
        self.pending = True

    # ---- the translation

    def translate(self) -> str:
        """The Python source of the function: ``def wasm_<index>(l0, l1, ...): ...``."""
        self.scan = _prescan(self.code.body)
        self.opener_ids: dict[int, int] = {-1: 0}
        self.frames.append(Frame("func", 0, (), self.type.results, 0, False, set()))
        n_params = len(self.type.params)
        for j, t in enumerate(self.code.locals):
            self.emit(f"l{n_params + j} = {ZERO[t]}")
        if self.inst.mems and any(instr[0] in MEMORY_OPS for instr in self.code.body):
            self.emit("mem = M.data")
        self.start_body()
        self.walk(self.code.body)
        return self.assemble()

    def header(self) -> str:
        return f"def wasm_{self.index}({', '.join(f'l{i}' for i in range(len(self.type.params)))}):"

    def start_body(self) -> None:
        if self.fuel:
            self.emit_fuel(self.scan.counts[-1])

    def assemble(self) -> str:
        lines = [self.header()]
        if self.uses_br:
            lines.append("    br = 0")
        return "\n".join(lines + self.lines)

    def walk(self, body: list[tuple]) -> None:
        """Translate the instructions in order, skipping unreachable code."""
        op_handlers = HANDLERS
        for pc, instr in enumerate(body):
            op = instr[0]
            self.next_op = body[pc + 1][0] if pc + 1 < len(body) else ""
            if self.dead and skip_unreachable(self, op):
                continue
            self.live_count += 1
            if op in ("block", "loop", "if"):
                self.structured(op, instr, pc)
            elif op == "else":
                self.do_else()
            elif op == "end":
                if self.do_end():
                    break
            else:
                handler = op_handlers.get(op)
                if handler is None:
                    raise NotImplementedError(f"instruction {op} has no semantics in the interpreter yet")
                handler(self, instr)

    def emit_fuel(self, cost: int | str) -> None:
        """Charge ``cost`` (at least 1) and stop the guest once the fuel is spent."""
        self.emit(f"S.fuel -= {max(cost, 1) if isinstance(cost, int) else cost}")
        self.emit("if S.fuel < 0:")
        self.emit("    raise OutOfFuel('all fuel consumed')")

    def structured(self, op: str, instr: tuple, pc: int) -> None:
        if op == "if":
            cond = as_condition(self.pop()[0])
        frame = self.open_frame(op, instr[1], pc)
        self.guard_pending()  # a branch pending before this frame skips all of it
        if op == "loop" and frame.targeted:
            self.py_loops += 1
            if self.py_loops > 18:
                raise TooComplex("loops nested too deeply for one Python function")
            frame.py_loop = True
            self.stmt("while True:")
            self.ind += 1
            if self.fuel:
                self.emit_fuel(self.scan.counts[pc])
        elif op == "if":
            self.stmt(f"if {cond}:")
            self.ind += 1
            frame.dead_before_else = False
        elif op == "block":
            frame.chain, frame.chain_pos = self.switch_position(pc)
            if frame.chain is not None:
                frame.chain.ids[frame.chain_pos] = frame.id
        frame.first_line = len(self.lines)
        self.frames.append(frame)

    def switch_position(self, pc: int) -> tuple[SwitchChain | None, int]:
        """The switch the block opened at ``pc`` belongs to, and its position there."""
        if pc not in self.switch_blocks:
            body = self.code.body
            end = pc
            while body[end][0] == "block":
                end += 1
            if end - pc >= SWITCH_MIN:
                chain = SwitchChain.of_length(end - pc)
                for r in range(end - pc):
                    self.switch_blocks[pc + r] = (chain, end - pc - 1 - r)
        return self.switch_blocks.get(pc, (None, 0))

    def switch_wrappers(self, frame: Frame) -> None:
        """At a switch block's end: close the wrappers of the segments before, open the next ones."""
        chain, k = frame.chain, frame.chain_pos
        for _ in range(chain.closes.get(k - 1, 0)):
            if len(self.lines) == self.wrapper_starts.pop():
                self.emit("pass")
            self.ind -= 1
        for hi in chain.opens.get(k, ()):
            self.uses_br = True
            self.emit(f"if not br or br >= {chain.ids[hi]}:")
            self.ind += 1
            self.wrapper_starts.append(len(self.lines))

    def do_else(self) -> None:
        frame = self.frames[-1]
        if not self.dead:
            self.end_frame_values(frame)
        self.close_guard(frame)
        frame.dead_before_else = self.dead
        self.dead = False
        self.pending = False
        del self.stack[frame.height:]
        self.stack.extend(f"s{frame.height + i}" for i in range(len(frame.params)))
        self.fill_empty_arm(frame)
        self.ind -= 1
        self.emit("else:")
        self.ind += 1
        frame.else_seen = True
        frame.first_line = len(self.lines)

    def do_end(self) -> bool:
        """Close the innermost frame; True when it was the function's."""
        frame = self.frames[-1]
        if frame.kind == "func":
            if not self.dead:
                vals = self.stack[-len(self.type.results):] if self.type.results else []
                self.stmt(f"return {', '.join(vals)}" if vals else "return")
            return True
        fell_through = not self.dead
        if fell_through:
            self.end_frame_values(frame)
        self.close_guard(frame)
        if frame.chain is not None:
            self.switch_wrappers(frame)
        self.frames.pop()
        self.pending = False
        self.dead = False
        if frame.py_loop:
            if fell_through:
                self.emit("break")
            self.fill_empty_arm(frame)
            self.ind -= 1
            self.py_loops -= 1
        elif frame.kind == "if":
            self.fill_empty_arm(frame)
            self.ind -= 1
        del self.stack[frame.height:]
        self.stack.extend(f"s{frame.height + i}" for i in range(len(frame.results)))
        if frame.kind == "loop":
            reachable = fell_through
        elif frame.kind == "if" and frame.else_seen:
            reachable = fell_through or not frame.dead_before_else or frame.targeted
        elif frame.kind == "if":
            reachable = True
        else:
            reachable = fell_through or frame.targeted
        if frame.py_loop:
            self.after_py_loop(frame)
        if frame.kind != "loop" and frame.setters:
            self.stmt(f"if br == {frame.id}:")
            self.emit("    br = 0")
        self.pending = bool(frame.escapes)
        self.dead = not reachable
        return False

    # ---- instructions

    def op_numeric(self, instr: tuple, template: str, arity: int) -> None:
        args = self.pop(arity)
        self.push(template.format(*args))

    def op_simd(self, instr: tuple, template: str, op: Any) -> None:
        pops, pushes = op.sig
        args = self.pop(len(pops))
        fmt: dict[str, Any] = {"mem": "mem"}
        if "memarg" in op.imms:
            offset = instr[2]
            fmt["ea"] = f"{args[0]} + {offset}" if offset else args[0]
            if "lane" in op.imms:
                fmt["imm"] = repr(instr[3])
        elif op.imms:
            fmt["imm"] = repr(instr[1])
        expr = template.format(*args, **fmt)
        if pushes:
            self.push(expr)
        else:
            self.stmt(expr)

    def op_load(self, instr: tuple, template: str) -> None:
        addr = self.pop()[0]
        offset = instr[2]
        self.push(template.format(ea=f"{addr} + {offset}" if offset else addr))

    def op_store(self, instr: tuple, template: str) -> None:
        addr, value = self.pop(2)
        offset = instr[2]
        self.stmt(template.format(ea=f"{addr} + {offset}" if offset else addr, v=value))

    def op_unreachable(self, instr: tuple) -> None:
        self.stmt("raise Trap('unreachable')")
        self.dead = True

    def op_const(self, instr: tuple) -> None:
        value = instr[1]
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)
                                         or (value == 0 and math.copysign(1.0, value) < 0)):
            self.push_deferred(self.const(value, "C"))
        else:
            self.push_deferred(f"({value!r})")

    def op_local_set(self, instr: tuple) -> None:
        name = f"l{instr[1]}"
        value = self.pop()[0]
        self.materialize_local(name)
        self.stmt(f"{name} = {value}")

    def op_local_tee(self, instr: tuple) -> None:
        name = f"l{instr[1]}"
        value = self.pop()[0]
        self.materialize_local(name)
        self.stmt(f"{name} = {value}")
        self.push_deferred(name)

    def op_global_get(self, instr: tuple) -> None:
        glob = self.inst.globals[instr[1]]
        value = glob.value
        foldable = isinstance(value, int) or (isinstance(value, float) and not math.isnan(value))
        if not glob.type.mutable and foldable:  # a NaN is read from the global, keeping its bits
            self.op_const(("const", value))
        else:
            self.push(f"{self.const(glob, 'G')}.value")

    def op_global_set(self, instr: tuple) -> None:
        glob = self.inst.globals[instr[1]]
        self.stmt(f"{self.const(glob, 'G')}.value = {self.pop()[0]}")

    def op_select(self, instr: tuple) -> None:
        a, b, cond = self.pop(3)
        self.push(f"{a} if {as_condition(cond)} else {b}")

    def after_call(self, results: tuple[str, ...], call: str) -> None:
        n = len(results)
        k = len(self.stack)
        if n == 0:
            self.stmt(call)
        elif n == 1:
            self.stmt(f"s{k} = {call}")
        else:
            self.stmt(f"{', '.join(f's{k + i}' for i in range(n))} = {call}")
        self.stack.extend(f"s{k + i}" for i in range(n))

    def op_call(self, instr: tuple) -> None:
        ty = self.inst.func_types[instr[1]]
        args = self.pop(len(ty.params))
        self.after_call(ty.results, f"F[{instr[1]}]({', '.join(args)})")

    def op_call_indirect(self, instr: tuple) -> None:
        ty = self.module.types[instr[1]]
        index = self.pop()[0]
        args = self.pop(len(ty.params))
        target = f"indirect_target(T[{instr[2]}], {index}, {self.const(ty, 'TY')})"
        self.after_call(ty.results, f"{target}({', '.join(args)})")

    def op_memory_grow(self, instr: tuple) -> None:
        delta = self.pop()[0]
        k = len(self.stack)
        self.stmt(f"s{k} = M.grow({delta}) & 0xFFFFFFFF")
        self.stack.append(f"s{k}")

    def op_table_grow(self, instr: tuple) -> None:
        init, delta = self.pop(2)
        self.push(f"T[{instr[1]}].grow({delta}, {init}) & 0xFFFFFFFF")

    def op_bulk(self, template: str, arity: int = 3) -> None:
        self.stmt(template.format(*self.pop(arity)))


def _handler_table() -> dict[str, Callable[[Translator, tuple], None]]:
    """Instruction name → how the translator writes it, built once. Control instructions go
    through methods that the flat translation overrides."""
    from .opcodes import OPCODES

    h: dict[str, Callable[[Translator, tuple], None]] = {}
    for name, template in numeric.SCALAR_OPS.items():
        h[name] = partial(Translator.op_numeric, template=template, arity=len(OPCODES[name].sig[0]))
    for name, template in SIMD_OPS.items():
        h[name] = partial(Translator.op_simd, template=template, op=OPCODES[name])
    for name, template in LOADS.items():
        h[name] = partial(Translator.op_load, template=template)
    for name, template in STORES.items():
        h[name] = partial(Translator.op_store, template=template)
    for name in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const"):
        h[name] = Translator.op_const
    h.update({
        "unreachable": Translator.op_unreachable, "nop": lambda t, i: None,
        "br": lambda t, i: t.branch(i[1]),
        "br_if": lambda t, i: t.branch_if(t.pop()[0], i[1]),
        "br_table": lambda t, i: t.branch_table(t.pop()[0], i[1], i[2]),
        "return": lambda t, i: t.branch(len(t.frames) - 1),
        "call": Translator.op_call, "call_indirect": Translator.op_call_indirect,
        "drop": lambda t, i: t.pop(), "select": Translator.op_select,
        "local.get": lambda t, i: t.push_deferred(f"l{i[1]}"),
        "local.set": Translator.op_local_set, "local.tee": Translator.op_local_tee,
        "global.get": Translator.op_global_get, "global.set": Translator.op_global_set,
        "memory.size": lambda t, i: t.push("len(mem) >> 16"),
        "memory.grow": Translator.op_memory_grow,
        "memory.fill": lambda t, i: t.op_bulk("mem_fill(mem, {0}, {1}, {2})"),
        "memory.copy": lambda t, i: t.op_bulk("mem_copy(mem, {0}, {1}, {2})"),
        "memory.init": lambda t, i: t.op_bulk(f"mem_init(mem, D[{i[1]}], {{0}}, {{1}}, {{2}})"),
        "data.drop": lambda t, i: t.stmt(f"D[{i[1]}] = b''"),
        "elem.drop": lambda t, i: t.stmt(f"E[{i[1]}] = []"),
        "ref.null": lambda t, i: t.push_deferred("None"),
        "ref.is_null": lambda t, i: t.push(f"1 if {t.pop()[0]} is None else 0"),
        "ref.func": lambda t, i: t.push(f"FUNCS[{i[1]}]"),
        "table.get": lambda t, i: t.push(f"table_get(T[{i[1]}], {t.pop()[0]})"),
        "table.set": lambda t, i: t.op_bulk(f"table_set(T[{i[1]}], {{0}}, {{1}})", 2),
        "table.size": lambda t, i: t.push(f"len(T[{i[1]}].elements)"),
        "table.grow": Translator.op_table_grow,
        "table.fill": lambda t, i: t.op_bulk(f"table_fill(T[{i[1]}], {{0}}, {{1}}, {{2}})"),
        "table.copy": lambda t, i: t.op_bulk(f"table_copy(T[{i[1]}], T[{i[2]}], {{0}}, {{1}}, {{2}})"),
        "table.init": lambda t, i: t.op_bulk(f"table_init(T[{i[2]}], E[{i[1]}], {{0}}, {{1}}, {{2}})"),
    })
    return h


HANDLERS = _handler_table()


def compile_function(func: WasmFunc) -> Any:
    """Translate one wasm function to Python and return the callable. A function whose
    nesting CPython cannot express as nested Python blocks gets the general translation
    of ``flat`` instead (a state machine over basic blocks)."""
    fuel = func.instance.store.fuel is not None
    try:
        return _build(func, Translator(func, fuel))
    except TooComplex:
        from .flat import FlatTranslator

        return _build(func, FlatTranslator(func, fuel))


def _build(func: WasmFunc, translator: Translator) -> Any:
    inst = func.instance
    source = translator.translate()
    try:
        code = compile(source, CODE_FILENAME, "exec")
    except (SyntaxError, MemoryError) as exc:  # a RecursionError is the guest's deep recursion: Exhaustion
        raise TooComplex(f"function {func.name} is too complex for the interpreter: {exc}") from None
    env = dict(NAMESPACE)
    env.update(translator.consts)
    env.update(F=inst.callables, T=inst.tables, D=inst.datas, E=inst.elems, FUNCS=inst.funcs,
               S=inst.store, M=inst.mems[0] if inst.mems else None)
    exec(code, env)  # noqa: S102 -- running the translation is the interpreter's job
    compiled = env[f"wasm_{func.index}"]
    compiled.__code__ = compiled.__code__.replace(co_name=func.name)
    return compiled
