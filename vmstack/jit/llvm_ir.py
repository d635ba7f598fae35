"""The IR helpers shared by vmstack's lowerings to LLVM: the common integer and pointer types, the
state block seen from IR (see ``llvm``), alias metadata, the backtrace and the callback protocol."""

from __future__ import annotations

from llvmlite import ir

from .llvm import BT, BT_COUNT, BT_MAX, STATE_SYMBOL, STATE_WORDS, TRAP, TRAP_EXHAUSTED

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()


def declare_state(module: ir.Module) -> ir.Value:
    """The state block, as an opaque pointer."""
    state = ir.GlobalVariable(module, ir.ArrayType(I64, STATE_WORDS), STATE_SYMBOL)
    state.linkage = "external"
    state.type = PTR  # llvmlite types a global's address by its contents; the code uses it untyped
    return state


def state_word(builder: ir.IRBuilder, state: ir.Value, index: int) -> ir.Value:
    """A pointer to word ``index`` of the state block."""
    return builder.gep(state, [I64(index)], inbounds=True, source_etype=I64)


class Metadata:
    """The metadata a module's loads and stores carry: ``invariant`` for loads of what never changes
    while code runs (context words), and one type-based alias class per kind of storage, so that
    LLVM knows a store to guest memory leaves a global or the state block as it was."""

    def __init__(self, module: ir.Module) -> None:
        self.invariant = module.add_metadata([])
        root = module.add_metadata(["vmstack"])
        self.classes = {name: module.add_metadata([module.add_metadata([name, root, I64(0)])] * 2 + [I64(0)])
                        for name in ("memory", "global", "state", "runtime")}

    def mark(self, instr: ir.Instruction, storage: str) -> ir.Instruction:
        instr.set_metadata("tbaa", self.classes[storage])
        return instr


def opaque(builder: ir.IRBuilder, pointer: ir.Value) -> ir.Value:
    """The same pointer typed as ``ptr`` (llvmlite's builder would fold a cast to an equal type)."""
    cast = ir.instructions.CastInstr(builder.block, "bitcast", pointer, PTR)
    builder._insert(cast)
    return cast


def frame_address(module: ir.Module, builder: ir.IRBuilder) -> ir.Value:
    """The current native frame's address, as an integer (for the stack limit check)."""
    name = "llvm.frameaddress.p0"
    fn = module.globals.get(name) or ir.Function(module, ir.FunctionType(PTR, [I32]), name)
    return builder.ptrtoint(builder.call(fn, [I32(0)]), I64)


def record_frame(builder: ir.IRBuilder, state: ir.Value, context: ir.Value, index: int) -> None:
    """Append (context, function index) to the backtrace, while it has room."""
    count_ptr = state_word(builder, state, BT_COUNT)
    count = builder.load(count_ptr, typ=I64)
    with builder.if_then(builder.icmp_unsigned("<", count, I64(BT_MAX))):
        slot = builder.add(builder.shl(count, I64(1)), I64(BT))
        base = builder.gep(state, [slot], inbounds=True, source_etype=I64)
        builder.store(builder.ptrtoint(context, I64), base)
        builder.store(I64(index), builder.gep(base, [I32(1)], source_etype=I64))
        builder.store(builder.add(count, I64(1)), count_ptr)


def expect_callback(builder: ir.IRBuilder, state: ir.Value) -> None:
    """Before a call into Python: the trap word says "stack exhausted" until the callback clears it on
    entry, so that a callback Python could not even start (its own recursion limit reached: ctypes
    then prints the error and returns 0) is a trap, not a call that seemed to return."""
    builder.store(I64(TRAP_EXHAUSTED), state_word(builder, state, TRAP))
