"""The LLVM backend shared by vmstack's compiled tiers: one host target machine, the O0-O3
pipelines, object code cached on disk (keyed by the IR's source material, vmstack's version, the
optimisation level and the host CPU), loading object code into the process, and the native state
block every piece of compiled code shares with Python.

The state block is an array of 64-bit words at a fixed address, known to compiled code as the
external global ``vmstack_state``. Compiled code never unwinds through Python: it reports a trap
by storing a code in ``TRAP`` (and its frames in the backtrace words) and returning; the Python
side that called it reads the code and raises. Fuel, the interrupt flag (set by a timer, polled
at loop headers) and the native stack limit live there too.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import threading
from pathlib import Path

import llvmlite.binding as llvm
from llvmlite import ir

from .. import __version__

STATE_SYMBOL = "vmstack_state"

# words of the state block
TRAP = 0  # 0, or the code of the trap being reported
FUEL = 1  # fuel left, when compiled code counts it
INTERRUPT = 2  # set asynchronously to stop compiled code at its next loop header or call
STACK_LIMIT = 3  # lowest native stack address compiled code may use (0: not entered yet)
STACK_BUDGET = 4  # bytes of native stack compiled code may use below its first entry
HOST_CALL = 5  # address of the callback into Python for calls to host functions
RUNTIME_CALL = 6  # address of the callback into Python for runtime services (grow, tables...)
BT_COUNT = 7  # frames recorded in the backtrace so far
BT = 8  # backtrace: (context, function index) pairs, innermost first
BT_MAX = 64
STATE_WORDS = BT + 2 * BT_MAX

# trap codes common to every guest; guests number theirs from GUEST_TRAPS
TRAP_EXHAUSTED = 1
TRAP_OUT_OF_FUEL = 2
TRAP_INTERRUPTED = 3
TRAP_HOST = 4  # a Python callback raised: the exception waits on the Python side
GUEST_TRAPS = 16

_lock = threading.Lock()
_ready = False
_loaded: list[object] = []  # the engine whose code may still run: kept for the life of the process

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()


def _initialise() -> None:
    global _ready
    with _lock:
        if not _ready:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()  # for the inline assembly of some float arithmetic
            llvm.add_symbol(STATE_SYMBOL, ctypes.addressof(STATE))
            _ready = True


def _default_stack_budget() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    stack = soft if soft != resource.RLIM_INFINITY else 8 << 20
    return max(256 << 10, min(stack // 2, 4 << 20))


STATE = (ctypes.c_int64 * STATE_WORDS)()
STATE[STACK_BUDGET] = _default_stack_budget()


_host_cpu: list[str] = []


def host_cpu() -> str:
    """The host CPU and its features, as LLVM names them: part of every cache key."""
    if not _host_cpu:
        _initialise()
        _host_cpu.append(f"{llvm.get_host_cpu_name()}:{llvm.get_host_cpu_features().flatten()}")
    return _host_cpu[0]


_machines: dict[int, llvm.TargetMachine] = {}


def target_machine(opt_level: int) -> llvm.TargetMachine:
    """The host's target machine at an optimisation level (made once)."""
    _initialise()
    with _lock:
        machine = _machines.get(opt_level)
        if machine is None:
            target = llvm.Target.from_default_triple()
            machine = _machines[opt_level] = target.create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                opt=opt_level, reloc="pic", codemodel="default")
    return machine


def compile_ir(ir_text: str, opt_level: int = 2) -> bytes:
    """Verify, optimise and compile LLVM IR text to a host object file."""
    machine = target_machine(opt_level)
    module = llvm.parse_assembly(ir_text)
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    module.verify()
    if opt_level:
        tuning = llvm.create_pipeline_tuning_options(opt_level)
        builder = llvm.create_pass_builder(machine, tuning)
        builder.getModulePassManager().run(module, builder)
    return machine.emit_object(module)


def cache_dir() -> Path:
    root = os.environ.get("VMSTACK_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "vmstack") / "jit"


def cache_key(material: bytes, opt_level: int) -> str:
    digest = hashlib.sha256()
    for part in (material, __version__.encode(), host_cpu().encode(), str(opt_level).encode()):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def cached_object(key: str) -> bytes | None:
    try:
        return (cache_dir() / f"{key}.o").read_bytes()
    except OSError:
        return None


def store_object(key: str, obj: bytes) -> None:
    """Write an object file to the cache (atomically; a cache that cannot be written is skipped)."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f"{key}.{os.getpid()}.tmp"
        partial.write_bytes(obj)
        partial.replace(directory / f"{key}.o")
    except OSError:
        pass


class LoadedCode:
    """An object file linked into the process: ``address(name)`` of its functions, whose symbols
    all start with ``prefix``. Every object goes into one MCJIT engine (an engine per object costs
    a millisecond or more; big modules compiled function by function load hundreds)."""

    _engine: llvm.ExecutionEngine | None = None

    def __init__(self, obj: bytes, prefix: str = "") -> None:
        machine = target_machine(0)
        with _lock:
            if LoadedCode._engine is None:
                LoadedCode._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
                _loaded.append(LoadedCode._engine)
            LoadedCode._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
            LoadedCode._engine.finalize_object()
        self.prefix = prefix

    def address(self, name: str) -> int:
        with _lock:
            address = LoadedCode._engine.get_function_address(self.prefix + name)
        if not address:
            raise KeyError(f"compiled code has no function {name}")
        return address


# ---------------------------------------------------------------- IR helpers


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


def clear_trap() -> None:
    STATE[TRAP] = 0
    STATE[BT_COUNT] = 0


def backtrace_frames() -> list[tuple[int, int]]:
    """The (context, function index) pairs recorded for the trap being reported, innermost first."""
    return [(STATE[BT + 2 * i], STATE[BT + 2 * i + 1]) for i in range(min(STATE[BT_COUNT], BT_MAX))]


def interrupt() -> None:
    """Ask running compiled code to stop at its next loop header or function entry."""
    STATE[INTERRUPT] = 1
