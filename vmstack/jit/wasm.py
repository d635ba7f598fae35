"""WebAssembly → LLVM IR: the lowering of the compiled tier.

One wasm module becomes one LLVM module. Defined function j (index space, imports first) becomes
``f{j}(ptr ctx, params...) -> results`` (nothing, one value, or a literal struct); wasm locals and
the values carried by labels live in allocas, which LLVM's mem2reg turns into SSA. Per type k of
the module there is ``entry{k}(code, ctx, slots)`` (Python calls any function through it, values
in 16-byte slots), ``fast{k}(code, ctx, params...)`` for types ctypes can pass directly (scalars,
at most one result; f32 as its bits), and ``stub{k}(rec, params...)``, the native side of a host
function: it spills the arguments to slots and calls back into Python.

The instance context ``ctx`` is an array of pointers (see ``CTX_*``): the memory record
``{base, size}``, global cells, table records ``{data, size}``, function records
``{code, signature id, ctx}`` for the whole function index space, signature ids by type index and
passive data segments ``{ptr, len}``. References are 64-bit handles: a function record's address
for a funcref, a handle from ``wasm_link`` for an externref, 0 for null.

Semantics follow tier 1 bit for bit, NaNs included: where the interpreter's answer is a NaN it
is the one x86 gives (the first NaN operand's payload, quieted; the negative default NaN for
invalid operations) or the one ``numeric`` chooses (the positive canonical NaN for division by
zero and square roots of negatives), so every float result that is a NaN is rebuilt explicitly
from the operands' bits and never left to LLVM's choice or its constant folder (or is the x86
instruction's own, see ``wasm_numeric``).
"""

from __future__ import annotations

from llvmlite import ir

from ..wasm.interp import _prescan, skip_unreachable
from ..wasm.module import FuncType, Module
from . import llvm as backend
from .llvm import I8, I32, I64, PTR
from .wasm_abi import (
    CTX_DATAS,
    CTX_FUNCS,
    CTX_GLOBALS,
    CTX_MEM,
    CTX_SIGS,
    CTX_TABLES,
    PAGE_BYTES,
    RT_ELEM_DROP,
    RT_MEMORY_GROW,
    RT_TABLE_COPY,
    RT_TABLE_FILL,
    RT_TABLE_GROW,
    RT_TABLE_INIT,
    RT_TABLE_SET,
    SLOT_BYTES,
    TRAP_MEMORY,
    TRAP_SIGNATURE,
    TRAP_TABLE,
    TRAP_UNDEFINED,
    TRAP_UNINITIALIZED,
    TRAP_UNREACHABLE,
    is_fast,
)

I1 = ir.IntType(1)
I16 = ir.IntType(16)
I128 = ir.IntType(128)
F32 = ir.FloatType()
F64 = ir.DoubleType()
LLTYPE = {"i32": I32, "i64": I64, "f32": F32, "f64": F64, "v128": I128, "funcref": I64, "externref": I64}

def function_type(ty: FuncType) -> ir.FunctionType:
    return ir.FunctionType(result_type(ty), [PTR] + [LLTYPE[p] for p in ty.params])


def result_type(ty: FuncType) -> ir.Type:
    if not ty.results:
        return ir.VoidType()
    if len(ty.results) == 1:
        return LLTYPE[ty.results[0]]
    return ir.LiteralStructType([LLTYPE[r] for r in ty.results])


def abi_type(valtype: str) -> ir.Type:
    """How a value crosses the ctypes boundary of ``fast`` entries: f32 as its bits."""
    return I32 if valtype == "f32" else LLTYPE[valtype]


class ModuleLowering:
    """Builds the LLVM module of one wasm module, or of some of its functions (``only``: the
    lazy way of big modules and of tiering; calls to the others then go through their function
    records). ``compiled`` lists the defined functions it lowered. A whole module also gets the
    stubs of all its types."""

    def __init__(self, module: Module, fuel: bool, only: tuple[int, ...] | None = None, prefix: str = "") -> None:
        self.module = module
        self.fuel = fuel
        self.only = only
        self.prefix = prefix  # of every symbol defined: objects sharing one address space never clash
        self.ir = ir.Module(name="wasm")
        self.state = backend.declare_state(self.ir)
        self.md = backend.Metadata(self.ir)
        self.func_types = module.func_types()
        self.n_imported = len(module.imports_of("func"))
        self.functions: dict[int, ir.Function] = {}
        self.compiled: list[int] = []
        self.host_call = ir.FunctionType(I32, [PTR, PTR])
        self.runtime_call = ir.FunctionType(I64, [I64, PTR, I64, I64, I64, I64])
        # what a memory's size can be: never below its declared minimum, at most 4 GiB; LLVM proves
        # the bounds checks of accesses below the minimum (statics, the stack) redundant from it
        memories = module.memories or [imp.desc for imp in module.imports_of("memory")]
        minimum = memories[0].limits.min * PAGE_BYTES if memories else 0
        self.memory_size_range = self.ir.add_metadata([I64(minimum), I64((1 << 32) + 1)])

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        fn = self.ir.globals.get(name)
        if fn is None:
            fn = ir.Function(self.ir, ir.FunctionType(ret, args), name)
        return fn

    def lower(self) -> str:
        indices = list(self.only) if self.only is not None else [
            self.n_imported + i for i in range(len(self.module.funcs))]
        for index in indices:
            fn = self.functions[index] = ir.Function(self.ir, function_type(self.func_types[index]),
                                                       f"{self.prefix}f{index}")
            fn.linkage = "dso_local"  # calls between them are direct, not through the PLT
        for index in indices:
            FunctionLowering(self, index, self.module.funcs[index - self.n_imported]).lower()
            self.compiled.append(index)
        wanted = {self.func_types[i] for i in indices}
        for k, ty in enumerate(self.module.types):
            if ty in wanted:
                self.lower_entry(k, ty)
                if is_fast(ty):
                    self.lower_fast(k, ty)
            if self.only is None:
                self.lower_stub(k, ty)
        return str(self.ir)

    # ---- the crossings between Python and compiled code

    def guarded_call(self, builder: ir.IRBuilder, code: ir.Value, ty: FuncType, ctx: ir.Value,
                     args: list[ir.Value]) -> ir.Value:
        """Call ``code`` from a Python entry: the outermost entry sets the native stack limit."""
        limit_ptr = backend.state_word(builder, self.state, backend.STACK_LIMIT)
        limit = builder.load(limit_ptr, typ=I64)
        outermost = builder.icmp_unsigned("==", limit, I64(0))
        with builder.if_then(outermost):
            budget = builder.load(backend.state_word(builder, self.state, backend.STACK_BUDGET), typ=I64)
            builder.store(builder.sub(backend.frame_address(self.ir, builder), budget), limit_ptr)
        result = _call_pointer(builder, code, function_type(ty), [ctx] + args)
        with builder.if_then(outermost):
            builder.store(I64(0), limit_ptr)
        return result

    def lower_entry(self, k: int, ty: FuncType) -> None:
        fn = ir.Function(self.ir, ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR]),
                         f"{self.prefix}entry{k}")
        code, ctx, slots = fn.args
        builder = ir.IRBuilder(fn.append_basic_block())
        args = [load_slot(builder, slots, i, t) for i, t in enumerate(ty.params)]
        result = self.guarded_call(builder, code, ty, ctx, args)
        for i, value in enumerate(unpack_results(builder, result, ty)):
            store_slot(builder, slots, i, ty.results[i], value)
        builder.ret_void()

    def lower_fast(self, k: int, ty: FuncType) -> None:
        ret = abi_type(ty.results[0]) if ty.results else ir.VoidType()
        fn = ir.Function(self.ir, ir.FunctionType(ret, [PTR, PTR] + [abi_type(p) for p in ty.params]),
                         f"{self.prefix}fast{k}")
        code, ctx, *params = fn.args
        builder = ir.IRBuilder(fn.append_basic_block())
        args = [builder.bitcast(p, F32) if t == "f32" else p for p, t in zip(params, ty.params)]
        result = self.guarded_call(builder, code, ty, ctx, args)
        if not ty.results:
            builder.ret_void()
        else:
            builder.ret(builder.bitcast(result, I32) if ty.results[0] == "f32" else result)

    def lower_stub(self, k: int, ty: FuncType) -> None:
        fn = ir.Function(self.ir, function_type(ty), f"{self.prefix}stub{k}")
        rec, *params = fn.args
        builder = ir.IRBuilder(fn.append_basic_block())
        size = SLOT_BYTES * max(1, len(ty.params), len(ty.results))
        slots = backend.opaque(builder, builder.alloca(ir.ArrayType(I8, size)))
        for i, (value, t) in enumerate(zip(params, ty.params)):
            store_slot(builder, slots, i, t, value)
        callback = builder.inttoptr(builder.load(backend.state_word(builder, self.state, backend.HOST_CALL), typ=I64),
                                    PTR)
        backend.expect_callback(builder, self.state)
        _call_pointer(builder, callback, self.host_call, [rec, slots])
        results = [load_slot(builder, slots, i, t) for i, t in enumerate(ty.results)]
        if ty.results:
            builder.ret(pack_results(builder, results, ty))
        else:
            builder.ret_void()


class _Callee:
    """A pointer to a function of a known type, callable by llvmlite's builder (which reads the
    callee's ``function_type``; an opaque pointer has none)."""

    def __init__(self, pointer: ir.Value, fnty: ir.FunctionType) -> None:
        self._pointer = pointer
        self.function_type = fnty

    def __getattr__(self, name: str):
        return getattr(self._pointer, name)


def _call_pointer(builder: ir.IRBuilder, pointer: ir.Value, fnty: ir.FunctionType,
                  args: list[ir.Value]) -> ir.Value:
    """An indirect call through ``pointer`` to a function of type ``fnty``."""
    return builder.call(_Callee(pointer, fnty), args)


def slot_pointer(builder: ir.IRBuilder, slots: ir.Value, i: int) -> ir.Value:
    return builder.gep(slots, [I64(i * SLOT_BYTES)], source_etype=I8)


def load_slot(builder: ir.IRBuilder, slots: ir.Value, i: int, valtype: str) -> ir.Value:
    return builder.load(slot_pointer(builder, slots, i), typ=LLTYPE[valtype], align=1)


def store_slot(builder: ir.IRBuilder, slots: ir.Value, i: int, valtype: str, value: ir.Value) -> None:
    builder.store(value, slot_pointer(builder, slots, i), align=1)


def unpack_results(builder: ir.IRBuilder, result: ir.Value, ty: FuncType) -> list[ir.Value]:
    if len(ty.results) <= 1:
        return [result] if ty.results else []
    return [builder.extract_value(result, i) for i in range(len(ty.results))]


def pack_results(builder: ir.IRBuilder, values: list[ir.Value], ty: FuncType) -> ir.Value:
    if len(values) == 1:
        return values[0]
    agg = ir.Constant(result_type(ty), None)
    for i, value in enumerate(values):
        agg = builder.insert_value(agg, value, i)
    return agg


class Frame:
    """A control frame: its label's block and the allocas that carry the label's values."""

    def __init__(self, kind: str, params: tuple[str, ...], results: tuple[str, ...], height: int) -> None:
        self.kind = kind
        self.params = params
        self.results = results
        self.height = height
        self.label_block: ir.Block | None = None  # where a branch to the label goes
        self.end_block: ir.Block | None = None
        self.else_block: ir.Block | None = None
        self.vars: list[ir.Value] = []  # allocas for the label's values
        self.result_vars: list[ir.Value] = []
        self.entry_values: list[ir.Value] = []  # an if's parameters, for its else arm
        self.else_seen = False

    @property
    def label_types(self) -> tuple[str, ...]:
        return self.params if self.kind == "loop" else self.results


class FunctionLowering:
    """Lowers one wasm function into the LLVM function of ``ModuleLowering.functions``."""

    def __init__(self, owner: ModuleLowering, index: int, func) -> None:
        self.owner = owner
        self.module = owner.module
        self.index = index
        self.func = func
        self.type = owner.func_types[index]
        self.fn = owner.functions[index]
        self.stack: list[ir.Value] = []
        self.frames: list[Frame] = []
        self.dead = False
        self.dead_depth = 0
        self.trap_blocks: dict[int, ir.Block] = {}

    # ---- helpers

    @property
    def b(self) -> ir.IRBuilder:
        return self.builder

    def invariant(self, pointer: ir.Value, typ: ir.Type) -> ir.Value:
        """A load of what stays put while compiled code runs (the context and its arrays)."""
        load = self.runtime_load(pointer, typ)
        load.set_metadata("invariant.load", self.owner.md.invariant)
        return load

    def runtime_load(self, pointer: ir.Value, typ: ir.Type) -> ir.Value:
        """A load from the runtime's records (memory, tables, function records, segments)."""
        return self.owner.md.mark(self.b.load(pointer, typ=typ), "runtime")

    def ctx_word(self, word: int) -> ir.Value:
        """The pointer held in word ``word`` of the instance context."""
        return self.invariant(self.b.gep(self.ctx, [I64(word)], source_etype=PTR), PTR)

    def table_of(self, word: int, i: int) -> ir.Value:
        """Element i of the pointer array held in context word ``word``."""
        return self.invariant(self.b.gep(self.ctx_word(word), [I64(i)], source_etype=PTR), PTR)

    def state_word(self, index: int) -> ir.Value:
        return backend.state_word(self.b, self.owner.state, index)

    def new_block(self, name: str = "") -> ir.Block:
        return self.fn.append_basic_block(name)

    def zero_return(self, builder: ir.IRBuilder) -> None:
        if self.type.results:
            builder.ret(ir.Constant(result_type(self.type), None))
        else:
            builder.ret_void()

    def trap_block(self, code: int) -> ir.Block:
        """A block that reports trap ``code`` (0: already reported by a callee) and returns."""
        block = self.trap_blocks.get(code)
        if block is None:
            block = self.new_block(f"trap{code}")
            builder = ir.IRBuilder(block)
            if code:
                builder.store(I64(code), backend.state_word(builder, self.owner.state, backend.TRAP))
            backend.record_frame(builder, self.owner.state, self.ctx, self.index)
            self.zero_return(builder)
            self.trap_blocks[code] = block
        return block

    def trap_if(self, cond: ir.Value, code: int) -> None:
        cont = self.new_block()
        branch = self.b.cbranch(cond, self.trap_block(code), cont)
        branch.set_weights([1, 100000])
        self.b.position_at_end(cont)

    def check_trap(self) -> None:
        """After a call out: a trap reported below is passed up."""
        self.trap_if(self.b.icmp_unsigned("!=", self.b.load(self.state_word(backend.TRAP), typ=I64), I64(0)), 0)

    def reload_memory(self) -> None:
        if self.memrec is None:
            return
        self.b.store(self.runtime_load(self.memrec, PTR), self.mem_base)
        size = self.runtime_load(self.b.gep(self.memrec, [I64(1)], source_etype=I64), I64)
        size.set_metadata("range", self.owner.memory_size_range)
        self.b.store(size, self.mem_size)

    def push(self, value: ir.Value) -> None:
        self.stack.append(value)

    def pop(self, n: int = 1) -> list[ir.Value]:
        if n == 0:
            return []
        values = self.stack[-n:]
        del self.stack[-n:]
        return values

    def bool32(self, cond: ir.Value) -> ir.Value:
        return self.b.zext(cond, I32)

    # ---- the function

    def lower(self) -> None:
        self.ctx = self.fn.args[0]
        entry = self.new_block("entry")
        self.builder = ir.IRBuilder(entry)
        self.locals = []
        for t, arg in zip(self.type.params, self.fn.args[1:]):
            slot = self.b.alloca(LLTYPE[t])
            self.b.store(arg, slot)
            self.locals.append(slot)
        for t in self.func.locals:
            slot = self.b.alloca(LLTYPE[t])
            self.b.store(ir.Constant(LLTYPE[t], None), slot)
            self.locals.append(slot)
        self.memrec = None
        if self.module.memories or self.module.imports_of("memory"):
            self.mem_base = self.b.alloca(PTR)
            self.mem_size = self.b.alloca(I64)
            self.memrec = self.ctx_word(CTX_MEM)
            self.reload_memory()
        self.scan = _prescan(self.func.body)
        limit = self.b.load(self.state_word(backend.STACK_LIMIT), typ=I64)
        self.trap_if(self.b.icmp_unsigned("<", backend.frame_address(self.owner.ir, self.b), limit),
                     backend.TRAP_EXHAUSTED)
        self.poll(self.scan.counts[-1], interruptible=False)
        frame = Frame("func", (), self.type.results, 0)
        frame.vars = [self.alloca(t) for t in self.type.results]
        frame.label_block = frame.end_block = self.new_block("return")
        self.frames.append(frame)
        self.walk()

    def poll(self, cost: int, interruptible: bool = True) -> None:
        """At function entry and loop headers: charge fuel; at loop headers, honour an interrupt
        request too (a recursion without loops ends by exhausting the stack)."""
        if self.owner.fuel:
            fuel_ptr = self.state_word(backend.FUEL)
            fuel = self.b.sub(self.b.load(fuel_ptr, typ=I64), I64(max(cost, 1)))
            self.b.store(fuel, fuel_ptr)
            self.trap_if(self.b.icmp_signed("<", fuel, I64(0)), backend.TRAP_OUT_OF_FUEL)
        if not interruptible:
            return
        # atomic, so that LLVM reads it afresh on every iteration rather than once before the loop
        flag = self.b.load_atomic(self.state_word(backend.INTERRUPT), "monotonic", 8, typ=I64)
        self.trap_if(self.b.icmp_unsigned("!=", flag, I64(0)), backend.TRAP_INTERRUPTED)

    def walk(self) -> None:
        body = self.func.body
        for pc, instr in enumerate(body):
            op = instr[0]
            if self.dead and skip_unreachable(self, op):
                continue
            if op in ("block", "loop", "if"):
                self.structured(op, instr, pc)
            elif op == "else":
                self.do_else()
            elif op == "end":
                if self.do_end():
                    return
            else:
                HANDLERS[op](self, instr)

    def block_type(self, bt) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if bt is None:
            return (), ()
        if isinstance(bt, str):
            return (), (bt,)
        ty = self.module.types[bt]
        return ty.params, ty.results

    def structured(self, op: str, instr: tuple, pc: int) -> None:
        params, results = self.block_type(instr[1])
        if op == "if":
            cond = self.pop()[0]
        frame = Frame(op, params, results, len(self.stack) - len(params))
        frame.vars = [self.alloca(t) for t in frame.label_types]
        frame.end_block = self.new_block(f"{op}_end")
        if op == "loop":
            header = self.new_block("loop")
            frame.label_block = header
            for var, value in zip(frame.vars, self.pop(len(params))):
                self.b.store(value, var)
            self.b.branch(header)
            self.b.position_at_end(header)
            self.stack.extend(self.b.load(v) for v in frame.vars)
            if pc in self.scan.counts:  # a loop that loops (as tier 1 counts: its body's cost)
                self.poll(self.scan.counts[pc])
        else:
            frame.label_block = frame.end_block
            if op == "if":
                frame.entry_values = self.stack[len(self.stack) - len(params):]
                then = self.new_block("then")
                frame.else_block = self.new_block("else")
                self.b.cbranch(self.b.icmp_unsigned("!=", cond, I32(0)), then, frame.else_block)
                self.b.position_at_end(then)
        self.frames.append(frame)

    def alloca(self, valtype: str) -> ir.Value:
        """An alloca in the entry block (where mem2reg finds it)."""
        builder = ir.IRBuilder(self.fn.entry_basic_block)
        builder.position_at_start(self.fn.entry_basic_block)
        return builder.alloca(LLTYPE[valtype])

    def fall_to_end(self, frame: Frame) -> None:
        """The frame's code reaches its end: its results go to the end block."""
        values = self.pop(len(frame.results))
        if frame.kind == "loop":
            frame.result_vars = frame.result_vars or [self.alloca(t) for t in frame.results]
            targets = frame.result_vars
        else:
            targets = frame.vars
        for var, value in zip(targets, values):
            self.b.store(value, var)
        self.b.branch(frame.end_block)

    def do_else(self) -> None:
        frame = self.frames[-1]
        if not self.dead:
            self.fall_to_end(frame)
        frame.else_seen = True
        self.dead = False
        del self.stack[frame.height:]
        self.stack.extend(frame.entry_values)
        self.b.position_at_end(frame.else_block)

    def do_end(self) -> bool:
        frame = self.frames[-1]
        if not self.dead:
            self.fall_to_end(frame)
        self.dead = False
        if frame.kind == "if" and not frame.else_seen:
            self.b.position_at_end(frame.else_block)
            for var, value in zip(frame.vars, frame.entry_values):
                self.b.store(value, var)
            self.b.branch(frame.end_block)
        self.frames.pop()
        del self.stack[frame.height:]
        self.b.position_at_end(frame.end_block)
        targets = frame.result_vars if frame.kind == "loop" else frame.vars
        if frame.kind == "loop" and not targets:
            targets = [self.alloca(t) for t in frame.results]
        values = [self.b.load(v) for v in targets]
        if frame.kind == "func":
            self.b.ret(pack_results(self.b, values, self.type)) if values else self.b.ret_void()
            return True
        self.stack.extend(values)
        return False

    # ---- branches

    def store_label(self, depth: int) -> Frame:
        frame = self.frames[-1 - depth]
        values = self.stack[len(self.stack) - len(frame.label_types):]
        for var, value in zip(frame.vars, values):
            self.b.store(value, var)
        return frame

    def op_br(self, instr: tuple) -> None:
        frame = self.store_label(instr[1])
        self.b.branch(frame.label_block)
        self.dead = True

    def op_br_if(self, instr: tuple) -> None:
        cond = self.pop()[0]
        frame = self.store_label(instr[1])
        cont = self.new_block()
        self.b.cbranch(self.b.icmp_unsigned("!=", cond, I32(0)), frame.label_block, cont)
        self.b.position_at_end(cont)

    def op_br_table(self, instr: tuple) -> None:
        index = self.pop()[0]
        labels, default = instr[1], instr[2]
        for depth in sorted(set(labels) | {default}):
            self.store_label(depth)
        switch = self.b.switch(index, self.frames[-1 - default].label_block)
        for k, depth in enumerate(labels):
            switch.add_case(I32(k), self.frames[-1 - depth].label_block)
        self.dead = True

    def op_return(self, instr: tuple) -> None:
        self.op_br(("br", len(self.frames) - 1))

    def op_unreachable(self, instr: tuple) -> None:
        self.b.branch(self.trap_block(TRAP_UNREACHABLE))
        self.dead = True

    # ---- calls

    def finish_call(self, result: ir.Value, ty: FuncType) -> None:
        self.check_trap()
        self.reload_memory()
        self.stack.extend(unpack_results(self.b, result, ty))

    def call_record(self, rec: ir.Value, ty: FuncType, args: list[ir.Value]) -> None:
        code = self.runtime_load(rec, PTR)
        callee_ctx = self.runtime_load(self.b.gep(rec, [I64(2)], source_etype=I64), PTR)
        result = _call_pointer(self.b, code, function_type(ty), [callee_ctx] + args)
        self.finish_call(result, ty)

    def op_call(self, instr: tuple) -> None:
        index = instr[1]
        ty = self.owner.func_types[index]
        args = self.pop(len(ty.params))
        if index in self.owner.functions:
            result = self.b.call(self.owner.functions[index], [self.ctx] + args)
            self.finish_call(result, ty)
        else:
            self.call_record(self.table_of(CTX_FUNCS, index), ty, args)

    def op_call_indirect(self, instr: tuple) -> None:
        ty = self.module.types[instr[1]]
        index = self.pop()[0]
        args = self.pop(len(ty.params))
        data, size = self.table_record(instr[2])
        idx = self.b.zext(index, I64)
        self.trap_if(self.b.icmp_unsigned(">=", idx, size), TRAP_UNDEFINED)
        handle = self.runtime_load(self.b.gep(data, [idx], source_etype=I64), I64)
        self.trap_if(self.b.icmp_unsigned("==", handle, I64(0)), TRAP_UNINITIALIZED)
        rec = self.b.inttoptr(handle, PTR)
        sig = self.runtime_load(self.b.gep(rec, [I64(1)], source_etype=I64), I64)
        expected = self.invariant(self.b.gep(self.ctx_word(CTX_SIGS), [I64(instr[1])], source_etype=I64), I64)
        self.trap_if(self.b.icmp_unsigned("!=", sig, expected), TRAP_SIGNATURE)
        self.call_record(rec, ty, args)

    def runtime(self, op: int, *args: ir.Value) -> ir.Value:
        """Ask Python for a runtime service (memory.grow, table updates); traps pass up."""
        callback = self.b.inttoptr(self.b.load(self.state_word(backend.RUNTIME_CALL), typ=I64), PTR)
        words = [self.b.zext(a, I64) if a.type != I64 else a for a in args]
        words += [I64(0)] * (4 - len(words))
        backend.expect_callback(self.b, self.owner.state)
        result = _call_pointer(self.b, callback, self.owner.runtime_call, [I64(op), self.ctx] + words)
        self.check_trap()
        return result

    # ---- variables

    def op_local_get(self, instr: tuple) -> None:
        self.push(self.b.load(self.locals[instr[1]]))

    def op_local_set(self, instr: tuple) -> None:
        self.b.store(self.pop()[0], self.locals[instr[1]])

    def op_local_tee(self, instr: tuple) -> None:
        self.b.store(self.stack[-1], self.locals[instr[1]])

    def global_cell(self, index: int) -> ir.Value:
        return self.table_of(CTX_GLOBALS, index)

    def global_type(self, index: int) -> str:
        imported = self.module.imports_of("global")
        if index < len(imported):
            return imported[index].desc.valtype
        return self.module.globals[index - len(imported)].type.valtype

    def op_global_get(self, instr: tuple) -> None:
        load = self.b.load(self.global_cell(instr[1]), typ=LLTYPE[self.global_type(instr[1])])
        self.push(self.owner.md.mark(load, "global"))

    def op_global_set(self, instr: tuple) -> None:
        self.owner.md.mark(self.b.store(self.pop()[0], self.global_cell(instr[1])), "global")

    def op_drop(self, instr: tuple) -> None:
        self.pop()

    def op_select(self, instr: tuple) -> None:
        a, b, cond = self.pop(3)
        self.push(self.b.select(self.b.icmp_unsigned("!=", cond, I32(0)), a, b))

    def op_const(self, instr: tuple) -> None:
        self.push(constant(instr[0].split(".")[0], instr[1]))

    # ---- memory

    def address(self, addr: ir.Value, offset: int, size: int) -> ir.Value:
        """The host pointer of a bounds-checked access of ``size`` bytes."""
        ea = self.b.add(self.b.zext(addr, I64), I64(offset))
        end = self.b.add(ea, I64(size))
        self.trap_if(self.b.icmp_unsigned(">", end, self.b.load(self.mem_size)), TRAP_MEMORY)
        return self.b.gep(self.b.load(self.mem_base, typ=PTR), [ea], source_etype=I8)

    def op_load(self, instr: tuple, valtype: str, bits: int, signed: bool) -> None:
        ptr = self.address(self.pop()[0], instr[2], bits // 8)
        if valtype in ("f32", "f64") or bits == LLTYPE[valtype].width:
            self.push(self.memory_load(ptr, LLTYPE[valtype]))
            return
        raw = self.memory_load(ptr, ir.IntType(bits))
        self.push(self.b.sext(raw, LLTYPE[valtype]) if signed else self.b.zext(raw, LLTYPE[valtype]))

    def op_store(self, instr: tuple, valtype: str, bits: int) -> None:
        addr, value = self.pop(2)
        ptr = self.address(addr, instr[2], bits // 8)
        if valtype not in ("f32", "f64") and bits != LLTYPE[valtype].width:
            value = self.b.trunc(value, ir.IntType(bits))
        self.memory_store(value, ptr)

    def memory_load(self, pointer: ir.Value, typ: ir.Type) -> ir.Value:
        return self.owner.md.mark(self.b.load(pointer, typ=typ, align=1), "memory")

    def memory_store(self, value: ir.Value, pointer: ir.Value) -> None:
        self.owner.md.mark(self.b.store(value, pointer, align=1), "memory")

    def op_memory_size(self, instr: tuple) -> None:
        self.push(self.b.trunc(self.b.lshr(self.b.load(self.mem_size), I64(16)), I32))

    def op_memory_grow(self, instr: tuple) -> None:
        result = self.runtime(RT_MEMORY_GROW, self.pop()[0])
        self.reload_memory()
        self.push(self.b.trunc(result, I32))

    def check_range(self, start: ir.Value, n: ir.Value, size: ir.Value, code: int) -> ir.Value:
        start = self.b.zext(start, I64)
        self.trap_if(self.b.icmp_unsigned(">", self.b.add(start, self.b.zext(n, I64)), size), code)
        return start

    def op_memory_fill(self, instr: tuple) -> None:
        dst, value, n = self.pop(3)
        dst = self.check_range(dst, n, self.b.load(self.mem_size), TRAP_MEMORY)
        memset = self.owner.intrinsic("llvm.memset.p0.i64", ir.VoidType(), [PTR, I8, I64, I1])
        base = self.b.load(self.mem_base, typ=PTR)
        self.b.call(memset, [self.b.gep(base, [dst], source_etype=I8), self.b.trunc(value, I8),
                             self.b.zext(n, I64), I1(0)])

    def op_memory_copy(self, instr: tuple) -> None:
        dst, src, n = self.pop(3)
        size = self.b.load(self.mem_size)
        dst = self.check_range(dst, n, size, TRAP_MEMORY)
        src = self.check_range(src, n, size, TRAP_MEMORY)
        memmove = self.owner.intrinsic("llvm.memmove.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, I1])
        base = self.b.load(self.mem_base, typ=PTR)
        self.b.call(memmove, [self.b.gep(base, [dst], source_etype=I8), self.b.gep(base, [src], source_etype=I8),
                              self.b.zext(n, I64), I1(0)])

    def data_record(self, index: int) -> ir.Value:
        return self.b.gep(self.ctx_word(CTX_DATAS), [I64(2 * index)], source_etype=I64)

    def op_memory_init(self, instr: tuple) -> None:
        dst, src, n = self.pop(3)
        rec = self.data_record(instr[1])
        length = self.runtime_load(self.b.gep(rec, [I64(1)], source_etype=I64), I64)
        src = self.check_range(src, n, length, TRAP_MEMORY)
        dst = self.check_range(dst, n, self.b.load(self.mem_size), TRAP_MEMORY)
        memcpy = self.owner.intrinsic("llvm.memcpy.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, I1])
        base = self.b.load(self.mem_base, typ=PTR)
        segment = self.runtime_load(rec, PTR)
        self.b.call(memcpy, [self.b.gep(base, [dst], source_etype=I8), self.b.gep(segment, [src], source_etype=I8),
                             self.b.zext(n, I64), I1(0)])

    def op_data_drop(self, instr: tuple) -> None:
        self.owner.md.mark(self.b.store(I64(0), self.b.gep(self.data_record(instr[1]), [I64(1)], source_etype=I64)),
                           "runtime")

    # ---- references and tables

    def table_record(self, index: int) -> tuple[ir.Value, ir.Value]:
        rec = self.table_of(CTX_TABLES, index)
        return self.runtime_load(rec, PTR), self.runtime_load(self.b.gep(rec, [I64(1)], source_etype=I64), I64)

    def op_ref_null(self, instr: tuple) -> None:
        self.push(I64(0))

    def op_ref_is_null(self, instr: tuple) -> None:
        self.push(self.bool32(self.b.icmp_unsigned("==", self.pop()[0], I64(0))))

    def op_ref_func(self, instr: tuple) -> None:
        self.push(self.b.ptrtoint(self.table_of(CTX_FUNCS, instr[1]), I64))

    def op_table_get(self, instr: tuple) -> None:
        data, size = self.table_record(instr[1])
        idx = self.b.zext(self.pop()[0], I64)
        self.trap_if(self.b.icmp_unsigned(">=", idx, size), TRAP_TABLE)
        self.push(self.b.load(self.b.gep(data, [idx], source_etype=I64), typ=I64))

    def op_table_size(self, instr: tuple) -> None:
        self.push(self.b.trunc(self.table_record(instr[1])[1], I32))

    def op_table_set(self, instr: tuple) -> None:
        idx, value = self.pop(2)
        self.runtime(RT_TABLE_SET, I64(instr[1]), idx, value)

    def op_table_grow(self, instr: tuple) -> None:
        init, delta = self.pop(2)
        self.push(self.b.trunc(self.runtime(RT_TABLE_GROW, I64(instr[1]), init, delta), I32))

    def op_table_fill(self, instr: tuple) -> None:
        start, value, n = self.pop(3)
        self.runtime(RT_TABLE_FILL, I64(instr[1]), start, value, n)

    def op_table_copy(self, instr: tuple) -> None:
        dst, src, n = self.pop(3)
        self.runtime(RT_TABLE_COPY, I64((instr[1] << 32) | instr[2]), dst, src, n)

    def op_table_init(self, instr: tuple) -> None:
        dst, src, n = self.pop(3)
        self.runtime(RT_TABLE_INIT, I64((instr[2] << 32) | instr[1]), dst, src, n)

    def op_elem_drop(self, instr: tuple) -> None:
        self.runtime(RT_ELEM_DROP, I64(instr[1]))


def constant(valtype: str, value) -> ir.Constant:
    from ..wasm.numeric import f32_to_bits, f64_to_bits

    if valtype == "f32":
        return ir.Constant(I32, f32_to_bits(value)).bitcast(F32)
    if valtype == "f64":
        return ir.Constant(I64, f64_to_bits(value)).bitcast(F64)
    return ir.Constant(LLTYPE[valtype], value)


def _handler_table() -> dict:
    from .wasm_numeric import numeric_handlers
    from .wasm_simd import simd_handlers

    h = {
        "unreachable": FunctionLowering.op_unreachable, "nop": lambda t, i: None,
        "br": FunctionLowering.op_br, "br_if": FunctionLowering.op_br_if,
        "br_table": FunctionLowering.op_br_table, "return": FunctionLowering.op_return,
        "call": FunctionLowering.op_call, "call_indirect": FunctionLowering.op_call_indirect,
        "drop": FunctionLowering.op_drop, "select": FunctionLowering.op_select,
        "local.get": FunctionLowering.op_local_get, "local.set": FunctionLowering.op_local_set,
        "local.tee": FunctionLowering.op_local_tee, "global.get": FunctionLowering.op_global_get,
        "global.set": FunctionLowering.op_global_set,
        "memory.size": FunctionLowering.op_memory_size, "memory.grow": FunctionLowering.op_memory_grow,
        "memory.fill": FunctionLowering.op_memory_fill, "memory.copy": FunctionLowering.op_memory_copy,
        "memory.init": FunctionLowering.op_memory_init, "data.drop": FunctionLowering.op_data_drop,
        "ref.null": FunctionLowering.op_ref_null, "ref.is_null": FunctionLowering.op_ref_is_null,
        "ref.func": FunctionLowering.op_ref_func, "table.get": FunctionLowering.op_table_get,
        "table.set": FunctionLowering.op_table_set, "table.size": FunctionLowering.op_table_size,
        "table.grow": FunctionLowering.op_table_grow, "table.fill": FunctionLowering.op_table_fill,
        "table.copy": FunctionLowering.op_table_copy, "table.init": FunctionLowering.op_table_init,
        "elem.drop": FunctionLowering.op_elem_drop,
    }
    for name in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const"):
        h[name] = FunctionLowering.op_const
    loads = {"i32.load": ("i32", 32, False), "i64.load": ("i64", 64, False), "f32.load": ("f32", 32, False),
             "f64.load": ("f64", 64, False)}
    for t in ("i32", "i64"):
        for bits in (8, 16, 32):
            if bits < int(t[1:]):
                loads[f"{t}.load{bits}_s"] = (t, bits, True)
                loads[f"{t}.load{bits}_u"] = (t, bits, False)
    for name, (t, bits, signed) in loads.items():
        h[name] = lambda s, i, t=t, bits=bits, signed=signed: s.op_load(i, t, bits, signed)
    stores = {"i32.store": ("i32", 32), "i64.store": ("i64", 64), "f32.store": ("f32", 32),
              "f64.store": ("f64", 64), "i32.store8": ("i32", 8), "i32.store16": ("i32", 16),
              "i64.store8": ("i64", 8), "i64.store16": ("i64", 16), "i64.store32": ("i64", 32)}
    for name, (t, bits) in stores.items():
        h[name] = lambda s, i, t=t, bits=bits: s.op_store(i, t, bits)
    h.update(numeric_handlers())
    h.update(simd_handlers())
    return h


HANDLERS: dict = {}


def lower_module(module: Module, fuel: bool, only: tuple[int, ...] | None = None,
                 prefix: str = "") -> ModuleLowering:
    """The lowering of a validated module, or of its functions ``only`` (``.lower()`` gives the IR;
    its symbols start with ``prefix``)."""
    if not HANDLERS:
        HANDLERS.update(_handler_table())
    return ModuleLowering(module, fuel, only, prefix)
