"""The compiled tier inside tier 1's runtime store: ``attach`` compiles an instance's module (or
loads it from the disk cache) and gives its functions native code, while memories, tables and
globals stay the runtime's objects, seen by compiled code through native records kept in step:

* a memory's record holds its bytearray's buffer address and length (refreshed on growth);
* a table's record points to a copy of its elements as handles (synced on every change);
* a global becomes a ``NativeGlobal``, whose value lives in a native cell;
* every function reachable from compiled code has a function record ``{code, signature, ctx}``:
  native code for compiled functions, a stub calling back into Python for host functions and
  for functions not compiled yet (interpreted while they are cold, under the "auto" strategy).

Calls from Python go through ctypes into the per-type entries; a trap comes back as a code in
the state block and is raised here as the runtime's Trap, with the wasm backtrace.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import struct
import sys
import threading
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from .. import cache as caches
from ..wasm.errors import Exhaustion, OutOfFuel, Trap
from ..wasm.module import ExternRef, FuncType, Module
from ..wasm.numeric import f32_from_bits, f32_to_bits
from ..wasm.runtime import (
    MAX_CALL_DEPTH,
    MAX_NESTED_INVOKES,
    FuncInst,
    GlobalInst,
    MemInst,
    ModuleInstance,
    TableInst,
    WasmFunc,
)
from . import llvm as backend
from .llvm import STATE
from .wasm_abi import (
    CTX_DATAS,
    CTX_FUNCS,
    CTX_GLOBALS,
    CTX_MEM,
    CTX_SIGS,
    CTX_TABLES,
    CTX_WORDS,
    RT_ELEM_DROP,
    RT_MEMORY_GROW,
    RT_TABLE_COPY,
    RT_TABLE_FILL,
    RT_TABLE_GROW,
    RT_TABLE_INIT,
    RT_TABLE_SET,
    SLOT_BYTES,
    TRAP_MESSAGES,
    is_fast,
)
from .wasm_embed import embeddable, fast_call

Words = ctypes.c_int64

# ---------------------------------------------------------------- memories


def _buffer_start_offset() -> int:
    """Where CPython keeps a bytearray's data pointer (``ob_start``) inside the object."""
    probe = bytearray(64)
    view = (ctypes.c_char * 64).from_buffer(probe)
    address = ctypes.addressof(view)
    del view
    for offset in range(16, 96, 8):
        if ctypes.c_void_p.from_address(id(probe) + offset).value == address:
            return offset
    raise RuntimeError("cannot locate a bytearray's buffer")


_OB_START = _buffer_start_offset()


class NativeMemory:
    """A memory's ``{base, size}`` record. The address is read, not pinned: the memory may grow
    (and move), and a record is refreshed each time it does."""

    def __init__(self, memory: MemInst) -> None:
        self.memory = memory
        self.record = (Words * 2)()
        self.refresh()

    def refresh(self) -> None:
        data = self.memory.data
        self.record[0] = ctypes.c_void_p.from_address(id(data) + _OB_START).value or 0
        self.record[1] = len(data)


def native_memory(memory: MemInst) -> NativeMemory:
    if memory.native is None:
        memory.native = NativeMemory(memory)
    return memory.native


# ---------------------------------------------------------------- references

# function record address → the function, weakly: a function holds its record (``native_record``: the
# block of words, its first word's index, the address), and records made together share a block (a
# big module has thousands); a block that goes takes its addresses out of here. A function with a
# record lives as long as its store (a host function: the store of the first instance importing it),
# whose code may keep its address anywhere; a host function first met elsewhere (a table, a global, an
# argument) lives as long as the process, as every one did before.
_by_record: dict[int, weakref.ref] = {}
_kept: list[FuncInst] = []
_externs: dict[int, ExternRef] = {}  # externref handle → the reference
_stubs: dict[FuncType, int] = {}  # type → address of the stub calling a host function of that type
_sig_ids: dict[FuncType, int] = {}


def signature_id(ty: FuncType) -> int:
    return _sig_ids.setdefault(ty, len(_sig_ids) + 1)


def function_records(funcs: list[FuncInst], importer: Any = None) -> list[int]:
    """The addresses of functions' native records, those not made yet made now, together
    (``importer``: the store of the instance whose index space ``funcs`` is)."""
    missing = list({id(func): func for func in funcs if func.native_record is None}.values())
    if missing:
        block = (Words * (3 * len(missing)))()
        base = ctypes.addressof(block)
        words: list[int] = []
        for i, func in enumerate(missing):
            address = base + 24 * i
            func.native_record = (block, 3 * i, address)
            _by_record[address] = weakref.ref(func)
            store = func.instance.store if isinstance(func, WasmFunc) else importer
            (store.native_functions if store is not None else _kept).append(func)
            code, ctx = func.native_code or (stub_for(func.type), address)
            words += (code, signature_id(func.type), ctx)
        block[:] = words
        weakref.finalize(block, _forget_records, base, len(missing))
    return [func.native_record[2] for func in funcs]


def _forget_records(base: int, count: int) -> None:
    for address in range(base, base + 24 * count, 24):
        ref = _by_record.get(address)
        if ref is not None and ref() is None:  # not a newer record made at the same address
            del _by_record[address]


def function_record(func: FuncInst) -> int:
    """The address of a function's native record, made on first use."""
    rec = func.native_record
    return rec[2] if rec is not None else function_records([func])[0]


def point_record(func: FuncInst) -> None:
    """Point a function's record at its native code, or at the stub that calls it in Python."""
    rec = func.native_record
    if rec is None:
        return
    block, at, address = rec
    block[at], block[at + 2] = func.native_code or (stub_for(func.type), address)


def stub_for(ty: FuncType) -> int:
    if ty not in _stubs:  # a type no compiled module declares: compile its crossings alone
        ensure_stubs([ty])
    return _stubs[ty]


def ensure_stubs(types: list[FuncType]) -> None:
    """Give every type of ``types`` its host-call stub (all those missing in one object)."""
    missing = [ty for ty in dict.fromkeys(types) if ty not in _stubs]
    if missing:
        stubs = Module(types=missing)
        stubs._jit_material = hashlib.sha256(_COMPILER + b"stubs" + repr(missing).encode()).digest()
        load_code(stubs, fuel=False, opt_level=1)


def to_handle(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, FuncInst):
        return function_record(value)
    _externs[id(value)] = value
    return id(value)


def from_handle(handle: int, reftype: str) -> Any:
    if not handle:
        return None
    if reftype == "funcref":
        return _by_record[handle]()
    return _externs[handle]


# ---------------------------------------------------------------- tables and globals


class NativeTable:
    """A table's ``{data, size}`` record and the array of element handles it points to."""

    def __init__(self, table: TableInst) -> None:
        self.table = table
        self.record = (Words * 2)()
        self.data = (Words * 0)()
        self.sync()

    def sync(self) -> None:
        elements = self.table.elements
        if len(elements) > len(self.data):
            self.data = (Words * max(len(elements), 2 * len(self.data)))()
            self.record[0] = ctypes.addressof(self.data)
        function_records([e for e in elements if isinstance(e, FuncInst)])  # all at once
        self.data[:len(elements)] = [to_handle(e) for e in elements]
        self.record[1] = len(elements)


def native_table(table: TableInst) -> NativeTable:
    if table.native is None:
        table.native = NativeTable(table)
    return table.native


_VALUE_SLOT = GlobalInst.__dict__["value"]  # GlobalInst's own storage, holding the cell here


def read_value(address: int, valtype: str) -> Any:
    """A value of ``valtype`` stored natively at ``address``, in the runtime's representation."""
    if valtype == "i32":
        return ctypes.c_uint32.from_address(address).value
    if valtype == "i64":
        return ctypes.c_uint64.from_address(address).value
    if valtype == "f32":
        return f32_from_bits(ctypes.c_uint32.from_address(address).value)
    if valtype == "f64":
        return ctypes.c_double.from_address(address).value
    if valtype == "v128":
        return int.from_bytes(ctypes.string_at(address, 16), "little")
    return from_handle(ctypes.c_uint64.from_address(address).value, valtype)


def write_value(address: int, valtype: str, value: Any) -> None:
    if valtype == "i32":
        ctypes.c_uint32.from_address(address).value = value
    elif valtype in ("i64",):
        ctypes.c_uint64.from_address(address).value = value
    elif valtype == "f32":
        ctypes.c_uint32.from_address(address).value = f32_to_bits(value)
    elif valtype == "f64":
        ctypes.c_double.from_address(address).value = value
    elif valtype == "v128":
        ctypes.memmove(address, value.to_bytes(16, "little"), 16)
    else:
        ctypes.c_uint64.from_address(address).value = to_handle(value)


class NativeGlobal(GlobalInst):
    """A global whose value lives in a native cell that compiled code reads and writes."""

    __slots__ = ()

    @property
    def value(self) -> Any:
        return read_value(ctypes.addressof(_VALUE_SLOT.__get__(self)), self.type.valtype)

    @value.setter
    def value(self, value: Any) -> None:
        write_value(ctypes.addressof(_VALUE_SLOT.__get__(self)), self.type.valtype, value)

    def cell(self) -> int:
        return ctypes.addressof(_VALUE_SLOT.__get__(self))


def native_global(glob: GlobalInst) -> NativeGlobal:
    """Move a global's value into a native cell (the object stays the same, for every holder)."""
    if not isinstance(glob, NativeGlobal):
        value = glob.value
        _VALUE_SLOT.__set__(glob, (Words * 2)())
        glob.__class__ = NativeGlobal
        glob.value = value
    return glob


# ---------------------------------------------------------------- compiled code


class CompiledModule:
    """Object code loaded into the process: a whole module's, or one function's (``only``)."""

    def __init__(self, module: Module, code: backend.LoadedCode | backend.SharedCode, compiled: list[int],
                 only: tuple[int, ...] | None) -> None:
        self.module = module
        self.code = code
        self.compiled = set(compiled)
        # the entries of a type are named after its first index (those of the types of the functions
        # compiled, at least, are in the code)
        self.type_index = first_type_indices(module)
        if only is None:
            for ty, k in self.type_index.items():
                _stubs.setdefault(ty, code.address(f"stub{k}"))


def _compiler_fingerprint() -> bytes:
    """A digest of the source that makes object code (the lowering and the backend), so that a
    changed compiler never reuses old code."""
    digest = hashlib.sha256()
    for name in ("llvm.py", "llvm_ir.py", "wasm.py", "wasm_abi.py", "wasm_numeric.py", "wasm_simd.py",
                 "wasm_embed.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.digest()


_COMPILER = _compiler_fingerprint()


def first_type_indices(module: Module) -> dict[FuncType, int]:
    """Each type of a module and its first index in the type section (computed once per module)."""
    indices = getattr(module, "_jit_type_indices", None)
    if indices is None:
        indices = module._jit_type_indices = {}
        for k, ty in enumerate(module.types):
            indices.setdefault(ty, k)
    return indices


def module_material(module: Module) -> bytes:
    """What identifies a module's compiled code: its binary when known, else its encoding."""
    material = getattr(module, "_jit_material", None)
    if material is None:
        source = module.source
        if source is None:  # parsed from text, or built in Python (the encoding is exact, NaN payloads too)
            from ..wasm.encode import encode_module

            source = encode_module(module)
        material = module._jit_material = hashlib.sha256(_COMPILER + source).digest()
    return material


_loaded_code: dict[str, CompiledModule] = {}  # cache key → the code already in this process


def _code_key(module: Module, fuel: bool, opt_level: int, only: tuple[int, ...] | None) -> str:
    what = b"fuel" if fuel else b""
    if only is not None:
        what += b"funcs" + ",".join(map(str, only)).encode()
    return backend.cache_key(module_material(module) + what, opt_level)


def load_code(module: Module, fuel: bool, opt_level: int,
              only: tuple[int, ...] | None = None) -> CompiledModule:
    """Compile a module (or its functions ``only``), or load the object code from the disk cache
    (once per process: another instance of the same module shares it)."""
    key = _code_key(module, fuel, opt_level, only)
    loaded = _loaded_code.get(key)
    if loaded is not None:
        return CompiledModule(module, loaded.code, sorted(loaded.compiled), only)
    prefix = f"m{key[:24]}_"
    try:
        compiled = json.loads((backend.cache_dir() / f"{key}.json").read_text())
        native = backend.load_cached(key, prefix)
    except (OSError, ValueError):
        native = None
    if native is None:
        from .wasm import lower_module  # the lowering (and LLVM's IR builder) only when compiling

        lowering = lower_module(module, fuel, only, prefix)
        obj = backend.compile_ir(lowering.lower(), opt_level)
        backend.store_object(key, obj)
        compiled = lowering.compiled
        try:
            (backend.cache_dir() / f"{key}.json").write_text(json.dumps(compiled))
        except OSError:
            pass
        native = backend.LoadedCode(obj, prefix)
    code = _loaded_code[key] = CompiledModule(module, native, compiled, only)
    return code


class Profile:
    """The batches of a big module's functions that earlier runs compiled under "jit", remembered in
    the cache as ``[[batch, compiled], ...]`` (a batch: the functions asked for; compiled: those it
    holds code for). A later run loads them all at instantiation, from one shared library linked of
    their objects, instead of one library per batch at each batch's first call (0.4 s of a cached run
    of sqlite3's 200 batches)."""

    def __init__(self, module: Module, fuel: bool, opt_level: int) -> None:
        self.module, self.fuel, self.opt_level = module, fuel, opt_level
        key = backend.cache_key(module_material(module) + b"profile" + (b"fuel" if fuel else b""), opt_level)
        self.path = backend.cache_dir() / f"{key}.profile.json"
        try:
            self.batches = [(tuple(batch), compiled) for batch, compiled in json.loads(self.path.read_text())]
        except (OSError, ValueError, TypeError):
            self.batches = []

    def load(self) -> list[CompiledModule]:
        """The code of every batch remembered, or none if it cannot all be loaded."""
        keys = [_code_key(self.module, self.fuel, self.opt_level, batch) for batch, _ in self.batches]
        if not keys or all(key in _loaded_code for key in keys):
            return [_loaded_code[key] for key in keys]
        codes = backend.load_combined(keys, [f"m{key[:24]}_" for key in keys])
        if codes is None:
            return []
        for (batch, compiled), key, code in zip(self.batches, keys, codes):
            _loaded_code[key] = CompiledModule(self.module, code, compiled, batch)
        return [_loaded_code[key] for key in keys]

    def add(self, batch: tuple[int, ...], code: CompiledModule) -> None:
        self.batches.append((batch, sorted(code.compiled)))
        caches.write_atomically(self.path, json.dumps(self.batches).encode())


# a module with more instructions than this is compiled function by function, as they are first called
WHOLE_MODULE_LIMIT = 60_000
# under the "auto" strategy, a function is compiled at its HOT_CALLS-th call
HOT_CALLS = 20
BATCH_INSTRUCTIONS = 20_000


class NativeInstance:
    """An instance's native context and the arrays it points to."""

    def __init__(self, inst: ModuleInstance) -> None:
        self.inst = inst
        module = inst.module
        ensure_stubs(module.types)
        self.ctx = (Words * CTX_WORDS)()
        self.address = ctypes.addressof(self.ctx)
        inst.native = self  # which lives as long as the instance, and no longer
        _instances[self.address] = weakref.ref(self, partial(_forget_instance, self.address))
        self.globals = (Words * max(1, len(inst.globals)))(*[native_global(g).cell() for g in inst.globals])
        self.tables = (Words * max(1, len(inst.tables)))(
            *[ctypes.addressof(native_table(t).record) for t in inst.tables])
        self.sigs = (Words * max(1, len(module.types)))(*[signature_id(t) for t in module.types])
        self.segments = [ctypes.create_string_buffer(bytes(d), max(1, len(d))) for d in inst.datas]
        pairs = []
        for segment, data in zip(self.segments, inst.datas):
            pairs += [ctypes.addressof(segment), len(data)]
        self.datas = (Words * max(2, len(pairs)))(*pairs)
        self.funcs = (Words * max(1, len(inst.funcs)))(*function_records(inst.funcs, inst.store))
        self.ctx[CTX_MEM] = ctypes.addressof(native_memory(inst.mems[0]).record) if inst.mems else 0
        self.ctx[CTX_GLOBALS] = ctypes.addressof(self.globals)
        self.ctx[CTX_TABLES] = ctypes.addressof(self.tables)
        self.ctx[CTX_FUNCS] = ctypes.addressof(self.funcs)
        self.ctx[CTX_SIGS] = ctypes.addressof(self.sigs)
        self.ctx[CTX_DATAS] = ctypes.addressof(self.datas)
        self.exported = {e.index for e in module.exports if e.kind == "func"}

    def own_functions(self) -> list[tuple[int, WasmFunc]]:
        return [(position, func) for position, func in enumerate(self.inst.funcs)
                if isinstance(func, WasmFunc) and func.instance is self.inst]

    def route(self, position: int, func: WasmFunc, call: Callable) -> None:
        """Make ``call`` what every caller of ``func`` (Python, interpreted wasm) runs."""
        func.call = call
        self.inst.callables[position] = call
        if func.call_sites is not None:
            for callables, at in func.call_sites:
                callables[at] = call
            func.call_sites = None

    def install(self, code: CompiledModule) -> None:
        """Route the calls of the functions ``code`` compiled to their native code. The Python entry
        of a function is made at its first call from Python or interpreted code (most functions of
        a big module are only ever called from compiled code), but at once for an export, whose
        direct call from the embedding API is set up when it is first looked up."""
        for position in sorted(code.compiled):
            func = self.inst.funcs[position]
            func.native_code = (code.code.address(f"f{func.index}"), self.address)
            point_record(func)
            if position in self.exported:
                self.route(position, func, python_entry(self, code, func))
                continue

            def first_call(*args: Any, position: int = position, func: WasmFunc = func) -> Any:
                call = python_entry(self, code, func)
                self.route(position, func, call)
                return call(*args)
            self.route(position, func, first_call)

    def batch(self, index: int) -> tuple[int, ...]:
        """The functions compiled together when ``index`` is first called under the "jit" strategy: it
        and the not yet compiled functions it calls, directly or not, up to BATCH_INSTRUCTIONS (one
        LLVM module for a call tree, with direct calls inside); under "auto", just the hot one."""
        if self.inst.store.engine != "jit":
            return (index,)
        module = self.inst.module
        n_imported = len(module.imports_of("func"))
        funcs = self.inst.funcs
        chosen, todo, size = [], [index], 0
        while todo and size < BATCH_INSTRUCTIONS:
            current = todo.pop()
            if current in chosen or current < n_imported or funcs[current].native_code is not None:
                continue
            chosen.append(current)
            body = module.funcs[current - n_imported].body
            size += len(body)
            todo.extend(instr[1] for instr in reversed(body) if instr[0] == "call")
        return tuple(sorted(chosen))

    def defer(self, threshold: int) -> None:
        """Compile each function at its ``threshold``-th call; until then the interpreter runs it. Under
        "jit", the functions earlier runs compiled (the module's Profile) are loaded at once."""
        store = self.inst.store
        profile = Profile(self.inst.module, store.fuel is not None, store.opt_level) \
            if store.engine == "jit" else None
        if profile is not None:
            with _compile_lock:
                for code in profile.load():
                    self.install(code)
        for position, func in self.own_functions():
            if func.native_code is not None:
                continue

            def first_calls(*args: Any, func: WasmFunc = func, calls: list[int] = [0],  # noqa: B006
                            interpreted: list[Any] = []) -> Any:  # noqa: B006
                calls[0] += 1
                if calls[0] >= threshold:
                    with _compile_lock:
                        if func.native_code is None:
                            batch = self.batch(func.index)
                            code = load_code(self.inst.module, store.fuel is not None, store.opt_level, batch)
                            self.install(code)
                            if profile is not None:
                                profile.add(batch, code)
                    return func.call(*args)
                if not interpreted:
                    from ..wasm import interp  # imported when first needed (a run from the cache may not)

                    interpreted.append(interp.compile_function(func))
                return interpreted[0](*args)
            self.route(position, func, first_calls)


_instances: dict[int, weakref.ref] = {}  # context address → its NativeInstance, weakly


def _forget_instance(address: int, ref: weakref.ref) -> None:
    if _instances.get(address) is ref:
        del _instances[address]


def native_instance(ctx: int) -> NativeInstance | None:
    ref = _instances.get(ctx)
    return ref() if ref is not None else None
_counting: list[Any] = []  # stores whose fuel compiled code is counting, innermost last

_ARG_TYPES = {"i32": ctypes.c_uint32, "i64": ctypes.c_uint64, "f32": ctypes.c_uint32, "f64": ctypes.c_double}


def _counting_fuel(store: Any, native: Callable, *args: Any) -> Any:
    """``native(*args)`` with ``store``'s fuel handed to the compiled code and taken back after."""
    STATE[backend.FUEL] = store.fuel
    _counting.append(store)
    try:
        return native(*args)
    finally:
        _counting.pop()
        store.fuel = STATE[backend.FUEL]


def python_entry(native: NativeInstance, compiled: CompiledModule, func: WasmFunc) -> Callable:
    """The Python callable that runs a compiled function (internal values in and out)."""
    ty = func.type
    k = compiled.type_index[ty]
    code, ctx = func.native_code
    store = native.inst.store
    counting = store.fuel is not None
    if is_fast(ty):
        restype = _ARG_TYPES[ty.results[0]] if ty.results else None
        proto = ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p, *[_ARG_TYPES[p] for p in ty.params])
        native_call = proto(compiled.code.address(f"fast{k}"))
        f32_params = [i for i, p in enumerate(ty.params) if p == "f32"]
        f32_result = ty.results == ("f32",)
        if not f32_params and not f32_result and not counting:
            if embeddable(ty):
                func.embedder_call = lambda slow: fast_call(ty, _COMPILER, code, ctx, slow, raise_trap)

            def call(*args: Any) -> Any:
                result = native_call(code, ctx, *args)
                if STATE[0]:
                    raise_trap()
                return result
            return call

        def call(*args: Any) -> Any:
            if f32_params:
                args = list(args)
                for i in f32_params:
                    args[i] = f32_to_bits(args[i])
            result = _counting_fuel(store, native_call, code, ctx, *args) if counting else native_call(code, ctx, *args)
            if STATE[0]:
                raise_trap()
            return f32_from_bits(result) if f32_result else result
        return call

    entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
        compiled.code.address(f"entry{k}"))
    slots = ctypes.create_string_buffer(SLOT_BYTES * max(1, len(ty.params), len(ty.results)))
    base = ctypes.addressof(slots)

    def call(*args: Any, _slots: Any = slots) -> Any:  # the default keeps the buffer alive
        for i, (t, value) in enumerate(zip(ty.params, args)):
            write_value(base + SLOT_BYTES * i, t, value)
        _counting_fuel(store, entry, code, ctx, base) if counting else entry(code, ctx, base)
        if STATE[0]:
            raise_trap()
        results = [read_value(base + SLOT_BYTES * i, t) for i, t in enumerate(ty.results)]
        if len(results) == 1:
            return results[0]
        return tuple(results) if results else None
    return call


# ---------------------------------------------------------------- traps and callbacks

_pending: list[BaseException] = []  # exceptions raised by Python called from compiled code
_interrupt_reason: list[BaseException] = []


def frame_name(ctx: int, index: int) -> str:
    native = native_instance(ctx)
    return native.inst.module.func_name(index) if native is not None else f"func[{index}]"


def raise_trap() -> None:
    code = STATE[backend.TRAP]
    frames = [frame_name(ctx, index) for ctx, index in backend.backtrace_frames()]
    backend.clear_trap()
    if code == backend.TRAP_HOST:
        exc = _pending.pop() if _pending else Trap("host function failed")
        if isinstance(exc, Trap) and not exc.backtrace:
            exc.backtrace = frames
        raise exc
    if code == backend.TRAP_EXHAUSTED:
        raise Exhaustion("call stack exhausted", frames[:20])
    if code == backend.TRAP_OUT_OF_FUEL:
        raise OutOfFuel("all fuel consumed", frames)
    if code == backend.TRAP_INTERRUPTED:
        STATE[backend.INTERRUPT] = 0
        exc = _interrupt_reason.pop() if _interrupt_reason else Trap("interrupted")
        if isinstance(exc, Trap):
            exc.backtrace = frames
        raise exc
    raise Trap(TRAP_MESSAGES.get(code, f"trap {code}"), frames)


def interrupt(reason: BaseException) -> None:
    """Stop compiled code at its next loop header or function entry, raising ``reason``."""
    _interrupt_reason[:] = [reason]
    backend.interrupt()


def clear_interrupt() -> None:
    STATE[backend.INTERRUPT] = 0
    _interrupt_reason.clear()


def as_guest_error(exc: BaseException) -> BaseException:
    """How tier 1 reports Python-level failures of interpreted guest code (see runtime.invoke)."""
    if isinstance(exc, RecursionError):
        return Exhaustion("call stack exhausted")
    if isinstance(exc, (struct.error, IndexError)):
        return Trap("out of bounds memory access")
    if isinstance(exc, MemoryError):
        return Trap("out of host memory")
    return exc


def _fail(exc: BaseException) -> None:
    STATE[backend.TRAP] = backend.TRAP_HOST
    _pending[:] = [as_guest_error(exc)]


# Host calls from compiled code under way. A recursion wasm → host → wasm ... is capped as
# runtime.invoke caps it, and from the outermost host call on Python may go as deep as tier 1
# lets it: a callback that Python's recursion limit stopped from starting would be lost.
_host_nesting = [0]


def _host_call(rec: int, slots: int) -> int:
    STATE[backend.TRAP] = 0  # it started: see backend.expect_callback
    outer_limit = sys.getrecursionlimit()
    try:
        if _host_nesting[0] + 1 >= MAX_NESTED_INVOKES:  # the first entry from Python counts as one, as there
            raise Exhaustion("call stack exhausted")
        _host_nesting[0] += 1
        if outer_limit < MAX_CALL_DEPTH:
            sys.setrecursionlimit(MAX_CALL_DEPTH)
        func = _by_record[rec]()
        ty = func.type
        args = [read_value(slots + SLOT_BYTES * i, t) for i, t in enumerate(ty.params)]
        store = _counting[-1] if _counting else None
        if store is not None:
            store.fuel = STATE[backend.FUEL]
        try:
            result = func.call(*args)
        finally:
            _host_nesting[0] -= 1
            sys.setrecursionlimit(outer_limit)
            if store is not None:
                STATE[backend.FUEL] = store.fuel
        results = [] if not ty.results else [result] if len(ty.results) == 1 else list(result)
        for i, (t, value) in enumerate(zip(ty.results, results)):
            write_value(slots + SLOT_BYTES * i, t, value)
        return 0
    except BaseException as exc:  # noqa: BLE001 - everything is handed to the Python caller
        _fail(exc)
        return 1


def _runtime_call(op: int, ctx: int, a: int, b: int, c: int, d: int) -> int:
    STATE[backend.TRAP] = 0  # it started: see backend.expect_callback
    try:
        inst = native_instance(ctx).inst
        if op == RT_MEMORY_GROW:
            return inst.mems[0].grow(a & 0xFFFFFFFF) & 0xFFFFFFFF
        from ..wasm import interp  # the table services are the interpreter's
        if op == RT_ELEM_DROP:
            inst.elems[a] = []
            return 0
        if op == RT_TABLE_COPY:
            interp.table_copy(inst.tables[a >> 32], inst.tables[a & 0xFFFFFFFF], b, c, d)
            return 0
        if op == RT_TABLE_INIT:
            interp.table_init(inst.tables[a >> 32], inst.elems[a & 0xFFFFFFFF], b, c, d)
            return 0
        table = inst.tables[a]
        if op == RT_TABLE_GROW:
            return table.grow(c & 0xFFFFFFFF, from_handle(b, table.elemtype)) & 0xFFFFFFFF
        if op == RT_TABLE_SET:
            interp.table_set(table, b & 0xFFFFFFFF, from_handle(c, table.elemtype))
        elif op == RT_TABLE_FILL:
            interp.table_fill(table, b & 0xFFFFFFFF, from_handle(c, table.elemtype), d & 0xFFFFFFFF)
        return 0
    except BaseException as exc:  # noqa: BLE001
        _fail(exc)
        return 0


_HOST_CALL = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)(_host_call)
_RUNTIME_CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, *[ctypes.c_int64] * 4)(
    _runtime_call)
STATE[backend.HOST_CALL] = ctypes.cast(_HOST_CALL, ctypes.c_void_p).value
STATE[backend.RUNTIME_CALL] = ctypes.cast(_RUNTIME_CALL, ctypes.c_void_p).value

_compile_lock = threading.Lock()


def attach(inst: ModuleInstance) -> None:
    """Give a freshly instantiated module's functions native code (before its start function):
    under "jit", a small module is compiled whole now and a big one function by function at first
    call; under "auto", each function is interpreted until its HOT_CALLS-th call."""
    store = inst.store
    size = sum(f.instruction_count() for f in inst.module.funcs)
    if store.engine == "jit" and size <= WHOLE_MODULE_LIMIT:
        with _compile_lock:  # first, so that the module's own stubs serve its imports
            code = load_code(inst.module, store.fuel is not None, store.opt_level)
        NativeInstance(inst).install(code)
    else:
        NativeInstance(inst).defer(1 if store.engine == "jit" else HOT_CALLS)
