"""The WebAssembly 2.0 validator: the typing rules of the spec, checked over a
decoded module. Function bodies are checked with the spec appendix's algorithm
(an operand stack of types plus a control stack of frames, the stack turning
polymorphic after an unconditional branch). Errors name the function and the
byte offset of the offending instruction.
"""

from __future__ import annotations

import re

from .errors import ValidationError
from .module import (
    FUNCREF,
    MAX_PAGES,
    NUM_TYPES,
    REF_TYPES,
    Func,
    FuncType,
    Limits,
    Module,
)
from .opcodes import NATURAL_ALIGN, OPCODES

UNKNOWN = None  # the type of a value popped from a polymorphic stack
LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}


class _Frame:
    __slots__ = ("opcode", "params", "results", "height", "unreachable")

    def __init__(self, opcode: str, params: tuple, results: tuple, height: int) -> None:
        self.opcode = opcode
        self.params = params
        self.results = results
        self.height = height
        self.unreachable = False

    @property
    def labels(self) -> tuple:
        return self.params if self.opcode == "loop" else self.results


class _Context:
    """Index spaces of the module, as validation of code sees them."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.types = module.types
        self.funcs = module.func_types()
        self.tables = [i.desc for i in module.imports_of("table")] + module.tables
        self.mems = [i.desc for i in module.imports_of("memory")] + module.memories
        self.globals = [i.desc for i in module.imports_of("global")] + [g.type for g in module.globals]
        self.n_imported_globals = len(module.imports_of("global"))
        self.elems = [e.elemtype for e in module.elems]
        self.datas = module.data_count if module.data_count is not None else len(module.datas)
        self.refs = _declared_refs(module)


def _declared_refs(module: Module) -> set[int]:
    refs: set[int] = set()
    for exp in module.exports:
        if exp.kind == "func":
            refs.add(exp.index)
    exprs = [g.init for g in module.globals] + [e for seg in module.elems for e in seg.init]
    for expr in exprs:
        for instr in expr:
            if instr[0] == "ref.func":
                refs.add(instr[1])
    return refs


class _CodeValidator:
    def __init__(self, ctx: _Context, func_index: int, func: Func) -> None:
        self.ctx = ctx
        self.func_index = func_index
        self.type = ctx.funcs[func_index]
        self.locals = list(self.type.params) + list(func.locals)
        self.func = func
        self.vals: list = []
        self.ctrls: list[_Frame] = []
        self.offset: int | None = None

    def error(self, message: str) -> ValidationError:
        return ValidationError(message, func=self.func_index, offset=self.offset)

    # ---- the stacks

    def push(self, t) -> None:
        self.vals.append(t)

    def pop(self, expect=UNKNOWN):
        frame = self.ctrls[-1]
        if len(self.vals) == frame.height:
            if frame.unreachable:
                return UNKNOWN
            raise self.error("type mismatch: operand stack underflow")
        actual = self.vals.pop()
        if actual is not UNKNOWN and expect is not UNKNOWN and actual != expect:
            raise self.error(f"type mismatch: expected {expect}, got {actual}")
        return actual

    def pops(self, types) -> list:
        return [self.pop(t) for t in reversed(types)][::-1]

    def push_frame(self, opcode: str, params: tuple, results: tuple) -> None:
        self.ctrls.append(_Frame(opcode, params, results, len(self.vals)))
        for t in params:
            self.push(t)

    def pop_frame(self) -> _Frame:
        if not self.ctrls:
            raise self.error("unexpected end")
        frame = self.ctrls[-1]
        self.pops(frame.results)
        if len(self.vals) != frame.height:
            raise self.error("type mismatch: values remaining on the stack at end of block")
        self.ctrls.pop()
        return frame

    def unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.vals[frame.height:]
        frame.unreachable = True

    # ---- lookups

    def label(self, depth: int) -> _Frame:
        if depth >= len(self.ctrls):
            raise self.error(f"unknown label {depth}")
        return self.ctrls[-1 - depth]

    def blocktype(self, bt) -> tuple[tuple, tuple]:
        if bt is None:
            return (), ()
        if isinstance(bt, str):
            return (), (bt,)
        if bt >= len(self.ctx.types):
            raise self.error(f"unknown type {bt}")
        ty = self.ctx.types[bt]
        return ty.params, ty.results

    def index(self, space: list | int, idx: int, what: str):
        size = space if isinstance(space, int) else len(space)
        if idx >= size:
            raise self.error(f"unknown {what} {idx}")
        return None if isinstance(space, int) else space[idx]

    def memory(self) -> None:
        if not self.ctx.mems:
            raise self.error("unknown memory 0")

    def memarg(self, name: str, align: int) -> None:
        self.memory()
        if align > NATURAL_ALIGN[name]:
            raise self.error("alignment must not be larger than natural")

    # ---- the body

    def run(self) -> None:
        body = self.func.body
        offsets = self.func.offsets
        self.ctrls.append(_Frame("func", (), self.type.results, 0))
        for pc, instr in enumerate(body):
            self.offset = offsets[pc] if pc < len(offsets) else None
            if not self.ctrls:
                raise self.error("operators remaining after end of function")
            self.step(instr)
        if self.ctrls:
            raise self.error("function body must end with end")

    def step(self, instr: tuple) -> None:
        op = instr[0]
        sig = OPCODES[op].sig if op in OPCODES else None
        imms = OPCODES[op].imms
        if op in NATURAL_ALIGN:
            self.memarg(op, instr[1])
            if "lane" in imms:
                self.lane(op, instr[3])
        elif "lane" in imms:
            self.lane(op, instr[1])
        if sig is not None and op not in SPECIAL:
            if op in ("memory.size", "memory.grow", "memory.fill", "memory.copy"):
                self.memory()
            if op == "i8x16.shuffle" and any(lane >= 32 for lane in instr[1]):
                raise self.error("invalid lane index")
            self.pops(sig[0])
            for t in sig[1]:
                self.push(t)
            return
        handler = getattr(self, "op_" + op.replace(".", "_"), None)
        if handler is None:
            raise self.error(f"unsupported instruction {op}")
        handler(instr)

    def lane(self, op: str, lane: int) -> None:
        shape = op.split(".")[0]
        if shape == "v128":
            count = 128 // int(re.search(r"\d+", op.split(".")[1]).group())
        else:
            count = LANES[shape]
        if lane >= count:
            raise self.error("invalid lane index")

    # control

    def op_unreachable(self, instr: tuple) -> None:
        self.unreachable()

    def op_block(self, instr: tuple) -> None:
        params, results = self.blocktype(instr[1])
        self.pops(params)
        self.push_frame(instr[0], params, results)

    op_loop = op_block

    def op_if(self, instr: tuple) -> None:
        self.pop("i32")
        self.op_block(instr)

    def op_else(self, instr: tuple) -> None:
        frame = self.pop_frame()
        if frame.opcode != "if":
            raise self.error("else without matching if")
        self.push_frame("else", frame.params, frame.results)

    def op_end(self, instr: tuple) -> None:
        frame = self.pop_frame()
        if frame.opcode == "if" and frame.params != frame.results:
            raise self.error("type mismatch: if without else must leave its parameters unchanged")
        for t in frame.results:
            self.push(t)

    def op_br(self, instr: tuple) -> None:
        self.pops(self.label(instr[1]).labels)
        self.unreachable()

    def op_br_if(self, instr: tuple) -> None:
        self.pop("i32")
        labels = self.label(instr[1]).labels
        self.pops(labels)
        for t in labels:
            self.push(t)

    def op_br_table(self, instr: tuple) -> None:
        self.pop("i32")
        default = self.label(instr[2]).labels
        arity = len(default)
        for depth in instr[1]:
            labels = self.label(depth).labels
            if len(labels) != arity:
                raise self.error("type mismatch: br_table targets differ in arity")
            popped = self.pops(labels)
            for t in popped:
                self.push(t)
        self.pops(default)
        self.unreachable()

    def op_return(self, instr: tuple) -> None:
        self.pops(self.type.results)
        self.unreachable()

    def op_call(self, instr: tuple) -> None:
        ty: FuncType = self.index(self.ctx.funcs, instr[1], "function")
        self.pops(ty.params)
        for t in ty.results:
            self.push(t)

    def op_call_indirect(self, instr: tuple) -> None:
        table = self.index(self.ctx.tables, instr[2], "table")
        if table.elemtype != FUNCREF:
            raise self.error("type mismatch: call_indirect needs a funcref table")
        ty = self.index(self.ctx.types, instr[1], "type")
        self.pop("i32")
        self.pops(ty.params)
        for t in ty.results:
            self.push(t)

    # parametric

    def op_drop(self, instr: tuple) -> None:
        self.pop()

    def op_select(self, instr: tuple) -> None:
        types = instr[1]
        self.pop("i32")
        if types is not None:
            if len(types) != 1:
                raise self.error("invalid result arity")
            self.pop(types[0])
            self.pop(types[0])
            self.push(types[0])
            return
        t1 = self.pop()
        t2 = self.pop()
        if (t1 is not UNKNOWN and t1 not in NUM_TYPES + ("v128",)) or (
                t2 is not UNKNOWN and t2 not in NUM_TYPES + ("v128",)):
            raise self.error("type mismatch: select without types needs numeric operands")
        if t1 is not UNKNOWN and t2 is not UNKNOWN and t1 != t2:
            raise self.error("type mismatch: select operands differ")
        self.push(t1 if t1 is not UNKNOWN else t2)

    # variables

    def local(self, idx: int) -> str:
        return self.index(self.locals, idx, "local")

    def op_local_get(self, instr: tuple) -> None:
        self.push(self.local(instr[1]))

    def op_local_set(self, instr: tuple) -> None:
        self.pop(self.local(instr[1]))

    def op_local_tee(self, instr: tuple) -> None:
        t = self.local(instr[1])
        self.pop(t)
        self.push(t)

    def op_global_get(self, instr: tuple) -> None:
        self.push(self.index(self.ctx.globals, instr[1], "global").valtype)

    def op_global_set(self, instr: tuple) -> None:
        g = self.index(self.ctx.globals, instr[1], "global")
        if not g.mutable:
            raise self.error("global is immutable")
        self.pop(g.valtype)

    # references and tables

    def op_ref_null(self, instr: tuple) -> None:
        self.push(instr[1])

    def op_ref_is_null(self, instr: tuple) -> None:
        t = self.pop()
        if t is not UNKNOWN and t not in REF_TYPES:
            raise self.error("type mismatch: ref.is_null needs a reference")
        self.push("i32")

    def op_ref_func(self, instr: tuple) -> None:
        self.index(self.ctx.funcs, instr[1], "function")
        if instr[1] not in self.ctx.refs:
            raise self.error("undeclared function reference")
        self.push(FUNCREF)

    def table(self, idx: int) -> str:
        return self.index(self.ctx.tables, idx, "table").elemtype

    def op_table_get(self, instr: tuple) -> None:
        t = self.table(instr[1])
        self.pop("i32")
        self.push(t)

    def op_table_set(self, instr: tuple) -> None:
        t = self.table(instr[1])
        self.pop(t)
        self.pop("i32")

    def op_table_grow(self, instr: tuple) -> None:
        t = self.table(instr[1])
        self.pop("i32")
        self.pop(t)
        self.push("i32")

    def op_table_fill(self, instr: tuple) -> None:
        t = self.table(instr[1])
        self.pop("i32")
        self.pop(t)
        self.pop("i32")

    def op_table_copy(self, instr: tuple) -> None:
        if self.table(instr[1]) != self.table(instr[2]):
            raise self.error("type mismatch: table.copy between tables of different types")
        self.pops(("i32", "i32", "i32"))

    def op_table_init(self, instr: tuple) -> None:
        elemtype = self.index(self.ctx.elems, instr[1], "elem segment")
        if self.table(instr[2]) != elemtype:
            raise self.error("type mismatch: table.init of a segment of another type")
        self.pops(("i32", "i32", "i32"))

    def op_table_size(self, instr: tuple) -> None:
        self.table(instr[1])
        self.push("i32")

    def op_memory_init(self, instr: tuple) -> None:
        self.memory()
        self.index(self.ctx.datas, instr[1], "data segment")
        self.pops(("i32", "i32", "i32"))

    def op_data_drop(self, instr: tuple) -> None:
        self.index(self.ctx.datas, instr[1], "data segment")

    def op_elem_drop(self, instr: tuple) -> None:
        self.index(self.ctx.elems, instr[1], "elem segment")


SPECIAL = frozenset({"table.size", "memory.init", "data.drop", "elem.drop"})


# ---------------------------------------------------------------- module level


def _check_limits(limits: Limits, bound: int, what: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise ValidationError(f"{what} size must be at most {bound} {'pages' if what == 'memory' else ''}".strip())
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum")


def _check_const(expr: list[tuple], expected: str, ctx: _Context, n_globals: int, where: str) -> None:
    stack: list[str] = []
    for instr in expr:
        op = instr[0]
        if op == "end":
            break
        if op in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const"):
            stack.append(op.split(".")[0])
        elif op == "ref.null":
            stack.append(instr[1])
        elif op == "ref.func":
            if instr[1] >= len(ctx.funcs):
                raise ValidationError(f"unknown function {instr[1]} in {where}")
            stack.append(FUNCREF)
        elif op == "global.get":
            if instr[1] >= n_globals:
                raise ValidationError(f"unknown global {instr[1]} in {where}")
            g = ctx.globals[instr[1]]
            if instr[1] >= ctx.n_imported_globals or g.mutable:
                raise ValidationError(f"constant expression required in {where}")
            stack.append(g.valtype)
        else:
            raise ValidationError(f"constant expression required in {where}")
    if stack != [expected]:
        raise ValidationError(f"type mismatch in {where}")


def validate_module(module: Module) -> None:
    """Raise ValidationError unless the module is valid under the 2.0 rules."""
    for imp in module.imports:
        if imp.kind == "func" and imp.desc >= len(module.types):
            raise ValidationError(f"unknown type {imp.desc}")
    for func in module.funcs:
        if func.type_index >= len(module.types):
            raise ValidationError(f"unknown type {func.type_index}")
    ctx = _Context(module)
    for table in ctx.tables:
        _check_limits(table.limits, 0xFFFFFFFF, "table")
    if len(ctx.mems) > 1:
        raise ValidationError("multiple memories")
    for mem in ctx.mems:
        _check_limits(mem.limits, MAX_PAGES, "memory")
    for i, glob in enumerate(module.globals):
        _check_const(glob.init, glob.type.valtype, ctx, ctx.n_imported_globals, f"global {i}")
    for i, seg in enumerate(module.elems):
        for expr in seg.init:
            _check_const(expr, seg.elemtype, ctx, len(ctx.globals), f"elem segment {i}")
        if seg.mode == "active":
            if seg.table >= len(ctx.tables):
                raise ValidationError(f"unknown table {seg.table}")
            if ctx.tables[seg.table].elemtype != seg.elemtype:
                raise ValidationError("type mismatch: elem segment and table types differ")
            _check_const(seg.offset, "i32", ctx, len(ctx.globals), f"elem segment {i} offset")
    for i, seg in enumerate(module.datas):
        if seg.mode == "active":
            if seg.memory >= len(ctx.mems):
                raise ValidationError(f"unknown memory {seg.memory}")
            _check_const(seg.offset, "i32", ctx, len(ctx.globals), f"data segment {i} offset")
    if module.start is not None:
        if module.start >= len(ctx.funcs):
            raise ValidationError(f"unknown function {module.start}")
        if ctx.funcs[module.start] != FuncType((), ()):
            raise ValidationError("start function must have type [] -> []")
    names = set()
    spaces = {"func": ctx.funcs, "table": ctx.tables, "memory": ctx.mems, "global": ctx.globals}
    for exp in module.exports:
        if exp.name in names:
            raise ValidationError(f"duplicate export name {exp.name!r}")
        names.add(exp.name)
        if exp.index >= len(spaces[exp.kind]):
            raise ValidationError(f"unknown {exp.kind} {exp.index}")
    n_imported = len(module.imports_of("func"))
    for i, func in enumerate(module.funcs):
        _CodeValidator(ctx, n_imported + i, func).run()

