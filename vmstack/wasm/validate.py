"""The WebAssembly 2.0 validator: the typing rules of the spec, checked over a
decoded module. Function bodies are checked with the spec appendix's algorithm
(an operand stack of types plus a control stack of frames, the stack turning
polymorphic after an unconditional branch). Errors name the function and the
byte offset of the offending instruction.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
    __slots__ = ("height", "opcode", "params", "results", "unreachable")

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

    # ---- the body

    def run(self) -> None:
        body = self.func.body
        offsets = self.func.offsets
        dispatch = DISPATCH
        self.ctrls.append(_Frame("func", (), self.type.results, 0))
        for pc, instr in enumerate(body):
            self.offset = offsets[pc] if pc < len(offsets) else None
            if not self.ctrls:
                raise self.error("operators remaining after end of function")
            handler = dispatch.get(instr[0])
            if handler is None:
                raise self.error(f"unknown instruction {instr[0]}")
            handler(self, instr)
        if self.ctrls:
            raise self.error("function body must end with end")

    def fixed(self, instr: tuple) -> None:
        """An instruction with a fixed signature in the opcode table."""
        pops, pushes = OPCODES[instr[0]].sig
        for t in reversed(pops):
            self.pop(t)
        self.vals.extend(pushes)

    def memory_fixed(self, instr: tuple) -> None:
        self.memory()
        self.fixed(instr)

    def memory_access(self, instr: tuple) -> None:
        op = instr[0]
        self.memory()
        if instr[1] > NATURAL_ALIGN[op]:
            raise self.error("alignment must not be larger than natural")
        if len(instr) > 3:
            self.lane(op, instr[3])
        self.fixed(instr)

    def lane_access(self, instr: tuple) -> None:
        self.lane(instr[0], instr[1])
        self.fixed(instr)

    def lane(self, op: str, lane: int) -> None:
        shape, _, rest = op.partition(".")
        count = LANES[shape] if shape in LANES else 128 // int(re.search(r"\d+", rest).group())
        if lane >= count:
            raise self.error("invalid lane index")

    def op_i8x16_shuffle(self, instr: tuple) -> None:
        if any(lane >= 32 for lane in instr[1]):
            raise self.error("invalid lane index")
        self.fixed(instr)

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
        if types is not None and len(types) != 1:
            raise self.error("invalid result arity")
        self.pop("i32")
        if types is not None:
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
        tabletype = self.table(instr[2])
        if tabletype != self.index(self.ctx.elems, instr[1], "elem segment"):
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


MEMORY_USERS = frozenset({"memory.size", "memory.grow", "memory.fill", "memory.copy"})


def _handler(name: str) -> Callable[[_CodeValidator, tuple], None]:
    special = getattr(_CodeValidator, "op_" + name.replace(".", "_"), None)
    if special is not None:
        return special
    if name in NATURAL_ALIGN:
        return _CodeValidator.memory_access
    if "lane" in OPCODES[name].imms:
        return _CodeValidator.lane_access
    if name in MEMORY_USERS:
        return _CodeValidator.memory_fixed
    if OPCODES[name].sig is None:
        raise AssertionError(f"{name} has neither a signature nor a typing rule")
    return _CodeValidator.fixed


DISPATCH = {name: _handler(name) for name in OPCODES}


# ---------------------------------------------------------------- module level


def _check_limits(limits: Limits, bound: int, what: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise ValidationError(f"{what} size must be at most {bound}{' pages (4GiB)' if what == 'memory' else ''}")
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum")


CONST_OPS = {"i32.const": "i32", "i64.const": "i64", "f32.const": "f32", "f64.const": "f64", "v128.const": "v128"}


def _check_const(expr: list[tuple], expected: str, ctx: _Context, where: str) -> None:
    """A constant expression of the given type; in 2.0 ``global.get`` sees imported globals only."""
    stack: list[str] = []
    for instr in expr[:-1]:
        op = instr[0]
        if op in CONST_OPS:
            stack.append(CONST_OPS[op])
        elif op == "ref.null":
            stack.append(instr[1])
        elif op == "ref.func":
            if instr[1] >= len(ctx.funcs):
                raise ValidationError(f"unknown function {instr[1]} in {where}")
            stack.append(FUNCREF)
        elif op == "global.get":
            if instr[1] >= ctx.n_imported_globals:
                raise ValidationError(f"unknown global {instr[1]} in {where}")
            glob = ctx.globals[instr[1]]
            if glob.mutable:
                raise ValidationError(f"constant expression required in {where}")
            stack.append(glob.valtype)
        else:
            raise ValidationError(f"constant expression required in {where}")
    if stack != [expected]:
        raise ValidationError(f"type mismatch in {where}")


def _check_types_of_funcs(module: Module) -> None:
    type_indices = [imp.desc for imp in module.imports_of("func")] + [f.type_index for f in module.funcs]
    for type_index in type_indices:
        if type_index >= len(module.types):
            raise ValidationError(f"unknown type {type_index}")


def _check_tables_and_memories(ctx: _Context) -> None:
    for table in ctx.tables:
        _check_limits(table.limits, 0xFFFFFFFF, "table")
    if len(ctx.mems) > 1:
        raise ValidationError("multiple memories")
    for mem in ctx.mems:
        _check_limits(mem.limits, MAX_PAGES, "memory")


def _check_segments(module: Module, ctx: _Context) -> None:
    for i, glob in enumerate(module.globals):
        _check_const(glob.init, glob.type.valtype, ctx, f"global {i}")
    for i, elem in enumerate(module.elems):
        for expr in elem.init:
            _check_const(expr, elem.elemtype, ctx, f"elem segment {i}")
        if elem.mode == "active":
            if elem.table >= len(ctx.tables):
                raise ValidationError(f"unknown table {elem.table}")
            if ctx.tables[elem.table].elemtype != elem.elemtype:
                raise ValidationError("type mismatch: elem segment and table types differ")
            _check_const(elem.offset, "i32", ctx, f"elem segment {i} offset")
    for i, data in enumerate(module.datas):
        if data.mode == "active":
            if data.memory >= len(ctx.mems):
                raise ValidationError(f"unknown memory {data.memory}")
            _check_const(data.offset, "i32", ctx, f"data segment {i} offset")


def _check_start_and_exports(module: Module, ctx: _Context) -> None:
    if module.start is not None:
        if module.start >= len(ctx.funcs):
            raise ValidationError(f"unknown function {module.start}")
        if ctx.funcs[module.start] != FuncType((), ()):
            raise ValidationError("start function must have type [] -> []")
    spaces = {"func": ("function", ctx.funcs), "table": ("table", ctx.tables),
              "memory": ("memory", ctx.mems), "global": ("global", ctx.globals)}
    names: set[str] = set()
    for exp in module.exports:
        if exp.name in names:
            raise ValidationError(f"duplicate export name {exp.name!r}")
        names.add(exp.name)
        what, space = spaces[exp.kind]
        if exp.index >= len(space):
            raise ValidationError(f"unknown {what} {exp.index}")


def validate_module(module: Module) -> None:
    """Raise ValidationError unless the module is valid under the 2.0 rules."""
    _check_types_of_funcs(module)
    ctx = _Context(module)
    _check_tables_and_memories(ctx)
    _check_segments(module, ctx)
    _check_start_and_exports(module, ctx)
    n_imported = len(module.imports_of("func"))
    for i, func in enumerate(module.funcs):
        _CodeValidator(ctx, n_imported + i, func).run()
