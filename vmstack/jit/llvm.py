"""The LLVM backend shared by vmstack's compiled tiers: one host target machine, the O0-O3
pipelines, object code cached on disk (keyed by the IR's source material, vmstack's version, the
optimisation level and the host CPU), loading object code into the process, and the native state
block every piece of compiled code shares with Python.

Object code is linked into a shared library with the system's C compiler driver (``cc -shared``)
and loaded with dlopen, so that a run whose code is all in the cache never loads LLVM (importing
llvmlite's binding costs about 40 ms); without ``cc``, objects are loaded into an MCJIT engine.

The state block is an array of 64-bit words at a fixed address, known to compiled code as the
external global ``vmstack_state`` (defined by a small shared library of its own, or given to
MCJIT). Compiled code never unwinds through Python: it reports a trap by storing a code in
``TRAP`` (and its frames in the backtrace words) and returning; the Python side that called it
reads the code and raises. Fuel, the interrupt flag (set by a timer, polled
at loop headers) and the native stack limit live there too.

The IR helpers the lowerings share (types, the state block seen from IR, alias metadata) are
``llvm_ir``'s, still reached as attributes of this module.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import threading
from pathlib import Path
from typing import Any

from .. import __version__
from .. import cache as caches

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
_loaded: list[object] = []  # the engine and libraries whose code may still run: kept for life
MCJIT_SYMBOLS: dict[str, int] = {}  # addresses MCJIT is to give external symbols of the code it loads


def binding() -> Any:
    """llvmlite's binding to LLVM, imported on first use (a run from the cache may never need it)."""
    import llvmlite.binding

    return llvmlite.binding


def _initialise() -> None:
    global _ready
    llvm = binding()
    with _lock:
        if not _ready:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()  # for the inline assembly of some float arithmetic
            llvm.add_symbol(STATE_SYMBOL, ctypes.addressof(STATE))
            _ready = True
        for name, address in MCJIT_SYMBOLS.items():
            llvm.add_symbol(name, address)


def _default_stack_budget() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    stack = soft if soft != resource.RLIM_INFINITY else 8 << 20
    return max(256 << 10, min(stack // 2, 4 << 20))


def cache_dir() -> Path:
    return caches.cache_dir("jit")


def _link_library(objects: list[Path], target: Path) -> bool:
    """Link object files into the shared library ``target`` (atomically); False without a linker."""
    import shutil  # only when linking (a run from the cache does not link)
    import subprocess

    compiler = shutil.which("cc")
    if compiler is None:
        return False
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        subprocess.run([compiler, "-shared", "-nostdlib", "-Wl,-Bsymbolic", "-o", str(partial),
                        *map(str, objects)], check=True, capture_output=True)
        partial.replace(target)
    except (OSError, subprocess.CalledProcessError):
        partial.unlink(missing_ok=True)
        return False
    return True


def _state_library() -> ctypes.CDLL | None:
    """The shared library defining the state block (made once per cache directory by ``cc``), loaded
    with its symbols global so that the libraries of compiled code find it; None if it cannot be."""
    path = cache_dir() / f"state-{STATE_WORDS}.so"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile

            with tempfile.TemporaryDirectory() as scratch:
                source = Path(scratch) / "state.c"
                source.write_text(f"long long {STATE_SYMBOL}[{STATE_WORDS}];\n")
                if not _link_library([source], path):
                    return None
        return ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None


_STATE_LIBRARY = _state_library()
STATE = ((ctypes.c_int64 * STATE_WORDS).in_dll(_STATE_LIBRARY, STATE_SYMBOL) if _STATE_LIBRARY is not None
         else (ctypes.c_int64 * STATE_WORDS)())
STATE[STACK_BUDGET] = _default_stack_budget()


_host_cpu: list[str] = []


def host_cpu() -> str:
    """The host CPU and its features, as LLVM names them: part of every cache key. Remembered in the
    cache under a digest of /proc/cpuinfo's description of the CPU, so that finding cached code
    does not need LLVM."""
    if not _host_cpu:
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
                described = info.read().split("\n\n")[0]
            lines = [line for line in described.splitlines() if line.split(":")[0].strip() in CPU_FIELDS]
            if len(lines) < len(CPU_FIELDS):  # a CPU described otherwise: always asked of LLVM
                raise OSError("no x86 description of the CPU")
            digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
            remembered = cache_dir() / f"cpu-{digest}.txt"
        except OSError:
            remembered = None
        try:
            _host_cpu.append(remembered.read_text())
        except (OSError, AttributeError):
            llvm = binding()
            _initialise()
            _host_cpu.append(f"{llvm.get_host_cpu_name()}:{llvm.get_host_cpu_features().flatten()}")
            if remembered is not None:
                caches.write_atomically(remembered, _host_cpu[0].encode())
    return _host_cpu[0]


CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags")

_machines: dict[int, Any] = {}


def target_machine(opt_level: int) -> Any:
    """The host's target machine at an optimisation level (made once)."""
    llvm = binding()
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
    llvm = binding()
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
    caches.write_atomically(cache_dir() / f"{key}.o", obj)


def load_cached(key: str, prefix: str) -> LoadedCode | SharedCode | None:
    """The code of cache entry ``key`` (symbols starting with ``prefix``) loaded into the process:
    its shared library, linked from the object the first time the object is read back (the run
    that compiled it has LLVM loaded anyway); the object itself if it cannot be; None if neither
    is cached."""
    library, obj = cache_dir() / f"{key}.so", cache_dir() / f"{key}.o"
    if _STATE_LIBRARY is not None and (library.exists() or obj.exists() and _link_library([obj], library)):
        try:
            return SharedCode(library, prefix)
        except OSError:
            pass
    data = cached_object(key)
    return LoadedCode(data, prefix) if data is not None else None


def load_combined(keys: list[str], prefixes: list[str]) -> list[SharedCode] | None:
    """The cached objects of ``keys`` as one shared library, linked the first time and cached under a
    digest of the keys (one dlopen instead of one per object), as a SharedCode per key, with its
    symbols' prefix; None if an object is missing or the library cannot be made."""
    digest = hashlib.sha256(b"combined" + "".join(keys).encode()).hexdigest()
    library = cache_dir() / f"{digest}.so"
    objects = [cache_dir() / f"{key}.o" for key in keys]
    if _STATE_LIBRARY is None or not library.exists() and not (
            all(obj.exists() for obj in objects) and _link_library(objects, library)):
        return None
    try:
        first = SharedCode(library, prefixes[0])
    except OSError:
        return None
    return [first] + [SharedCode(library, prefix, first.library) for prefix in prefixes[1:]]


_dlsym = ctypes.CDLL(None).dlsym  # a symbol's address (a function object of ctypes per symbol is slower)
_dlsym.restype, _dlsym.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]


class SharedCode:
    """A shared library of compiled code loaded with dlopen (kept for the life of the process), or
    the part of an already loaded ``library`` whose symbols start with ``prefix``."""

    def __init__(self, path: Path, prefix: str = "", library: ctypes.CDLL | None = None) -> None:
        if library is None:
            library = ctypes.CDLL(str(path))
            _loaded.append(library)
        self.library = library
        self.prefix = prefix

    def address(self, name: str) -> int:
        address = _dlsym(self.library._handle, (self.prefix + name).encode())
        if not address:
            raise KeyError(f"compiled code has no function {name}")
        return address


class LoadedCode:
    """An object file linked into the process: ``address(name)`` of its functions, whose symbols
    all start with ``prefix``. Every object goes into one MCJIT engine (an engine per object costs
    a millisecond or more; big modules compiled function by function load hundreds)."""

    _engine: Any = None

    def __init__(self, obj: bytes, prefix: str = "") -> None:
        llvm = binding()
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


def clear_trap() -> None:
    STATE[TRAP] = 0
    STATE[BT_COUNT] = 0


def backtrace_frames() -> list[tuple[int, int]]:
    """The (context, function index) pairs recorded for the trap being reported, innermost first."""
    return [(STATE[BT + 2 * i], STATE[BT + 2 * i + 1]) for i in range(min(STATE[BT_COUNT], BT_MAX))]


def interrupt() -> None:
    """Ask running compiled code to stop at its next loop header or function entry."""
    STATE[INTERRUPT] = 1


IR_HELPERS = ("I8", "I32", "I64", "PTR", "declare_state", "state_word", "Metadata", "opaque", "frame_address",
              "record_frame", "expect_callback")


def __getattr__(name: str) -> Any:
    """The IR helpers of ``llvm_ir``, reached from here as the lowerings always have: they import
    llvmlite's IR builder (10 ms), which a run whose code is all cached never needs."""
    if name in IR_HELPERS:
        from . import llvm_ir

        return getattr(llvm_ir, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
