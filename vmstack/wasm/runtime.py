"""The runtime store of tier 1: function, memory, table and global instances,
instantiation (import matching, segment initialisation, start function) and
`invoke`, the one door through which Python calls into wasm code.

Every function instance has a ``call`` attribute: the Python callable that runs
it (for wasm functions, compiled lazily by ``interp`` on first use).
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

from .errors import Exhaustion, LinkError, MemoryLimitExceeded, Trap, WasmError
from .module import (
    MAX_PAGES,
    PAGE_SIZE,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    Module,
    TableType,
)

MAX_TABLE = 0xFFFFFFFF
# Implementation limit on a table's length: past it, table.grow fails (returns -1) as the spec allows
# and a module asking for more at instantiation is refused.
MAX_TABLE_ELEMENTS = 10_000_000


MAX_CALL_DEPTH = 100_000
"""A store's default depth of wasm calls (Python frames)."""


class Store:
    """Owns instances and their limits: fuel (None = unlimited; decremented by about one per
    instruction run, OutOfFuel below zero; read when a function is first called, so set it before),
    a cap on any one linear memory, and the depth of wasm calls (Python frames, in fact: CPython
    3.11 calls between translated functions without using the C stack)."""

    def __init__(self) -> None:
        self.fuel: int | None = None
        self.max_memory_bytes: int | None = None
        self.max_call_depth: int = MAX_CALL_DEPTH
        # which tier runs wasm code: "interp", "jit" (everything compiled at instantiation) or "auto"
        # (interpreted at first, compiled in the background); opt_level is the compiler's (0-3)
        self.engine: str = "interp"
        self.opt_level: int = 2
        # the functions the compiled tier made native records of: its code may hold their addresses
        # anywhere in the store (tables, globals), so they live as long as the store
        self.native_functions: list[FuncInst] = []


class FuncInst:
    """A function: ``call`` is the Python callable that runs it, on internal values. The compiled tier
    keeps its native record (``native_record``) and, for a compiled function, its native code and
    context (``native_code``) on the function itself, so that they go when it goes."""

    __slots__ = ("__weakref__", "call", "name", "native_code", "native_record", "type")


class HostFunc(FuncInst):
    """A Python callable taking and returning internal values."""

    __slots__ = ()

    def __init__(self, type: FuncType, fn: Callable, name: str = "") -> None:
        self.type = type
        self.call = fn
        self.name = name or getattr(fn, "__name__", "host")
        self.native_record = self.native_code = None


class WasmFunc(FuncInst):
    """A function defined in a module instance; translated to Python on its first call."""

    __slots__ = ("call_sites", "embedder_call", "embedder_class", "index", "instance")

    def __init__(self, instance: ModuleInstance, index: int) -> None:
        self.type = instance.func_types[index]
        # set by the compiled tier: given the API's usual call, makes the API's direct call of the native code
        self.embedder_call: Callable | None = None
        self.embedder_class: type | None = None  # the API's Func class made of it (see api._direct_class)
        self.instance = instance
        self.index = index
        self.name = instance.module.func_name(index)
        self.native_record = self.native_code = None
        self.call = self._first_call
        # the function lists (with positions) of every instance calling this by index; None once translated
        self.call_sites: list[tuple[list[Callable], int]] | None = []

    def _first_call(self, *args: Any) -> Any:
        if self.call_sites is not None:
            from .interp import compile_function

            self.call = compile_function(self)
            for callables, position in self.call_sites:
                callables[position] = self.call
            self.call_sites = None
        return self.call(*args)


class MemInst:
    """A linear memory: ``data`` is its bytearray, grown in place; ``max`` in pages."""

    __slots__ = ("data", "max", "native", "store")

    def __init__(self, type: MemoryType, store: Store | None = None) -> None:
        self.store = store
        self.native: Any = None  # the compiled tier's record of the buffer's address and size
        self.max = type.limits.max
        limit = store.max_memory_bytes if store is not None else None
        if limit is not None and type.limits.min * PAGE_SIZE > limit:
            raise MemoryLimitExceeded(f"memory of {type.limits.min} pages exceeds the limit of {limit} bytes")
        try:
            self.data = bytearray(type.limits.min * PAGE_SIZE)
        except MemoryError:
            raise MemoryLimitExceeded(f"cannot allocate a memory of {type.limits.min} pages") from None

    @property
    def type(self) -> MemoryType:
        return MemoryType(Limits(self.size(), self.max))

    def size(self) -> int:
        return len(self.data) // PAGE_SIZE

    def grow(self, delta: int) -> int:
        old = len(self.data) // PAGE_SIZE
        new = old + delta
        if new > (self.max if self.max is not None else MAX_PAGES):
            return -1
        limit = self.store.max_memory_bytes if self.store is not None else None
        if limit is not None and new * PAGE_SIZE > limit:
            raise MemoryLimitExceeded(f"memory limit of {limit} bytes exceeded (growing to {new} pages)")
        if delta:
            try:  # in place: compiled code keeps the same bytearray for the memory's whole life
                extend_zeroed(self.data, delta * PAGE_SIZE)
            except (BufferError, MemoryError):  # a view of it is held, or the host is out of memory:
                return -1  # growing fails, as the spec allows
            if self.native is not None:
                self.native.refresh()
        return old


def extend_zeroed(data: bytearray, n: int) -> None:
    """Append ``n`` zero bytes to ``data`` in place, writing them once (``extend(bytes(n))`` would
    also read a zero buffer as large: 0.09 s against 0.04 s for sieve's 92 MB here)."""
    import ctypes  # at the first growth: a run that never grows a memory does without it

    resize = ctypes.pythonapi.PyByteArray_Resize
    resize.argtypes, resize.restype = [ctypes.py_object, ctypes.c_ssize_t], ctypes.c_int
    old = len(data)
    resize(data, old + n)  # raises BufferError if a view is held, MemoryError
    ctypes.memset(ctypes.addressof(ctypes.c_char.from_buffer(data)) + old, 0, n)


class TableInst:
    """A table of references (None for null)."""

    __slots__ = ("elements", "elemtype", "max", "native")

    def __init__(self, type: TableType, init: Any = None) -> None:
        if type.limits.min > MAX_TABLE_ELEMENTS:
            raise LinkError(f"table of {type.limits.min} elements exceeds the limit of {MAX_TABLE_ELEMENTS}")
        self.elemtype = type.elemtype
        self.max = type.limits.max
        self.elements: list[Any] = [init] * type.limits.min
        self.native: Any = None  # the compiled tier's copy of the elements

    def changed(self) -> None:
        """Called after ``elements`` changes, so that the compiled tier's copy follows."""
        if self.native is not None:
            self.native.sync()

    @property
    def type(self) -> TableType:
        return TableType(self.elemtype, Limits(len(self.elements), self.max))

    def grow(self, delta: int, init: Any) -> int:
        old = len(self.elements)
        if old + delta > min(self.max if self.max is not None else MAX_TABLE, MAX_TABLE_ELEMENTS):
            return -1
        self.elements.extend([init] * delta)
        self.changed()
        return old


class GlobalInst:
    """A global variable: its type and current value."""

    __slots__ = ("type", "value")

    def __init__(self, type: GlobalType, value: Any) -> None:
        self.type = type
        self.value = value


class ModuleInstance:
    """An instantiated module: its function, table, memory and global index spaces (imports first),
    exports, and the element and data segments still available to table.init / memory.init."""

    def __init__(self, store: Store, module: Module) -> None:
        self.store = store
        self.module = module
        self.func_types = module.func_types()
        self.funcs: list[FuncInst] = []
        self.callables: list[Callable] = []
        self.tables: list[TableInst] = []
        self.mems: list[MemInst] = []
        self.globals: list[GlobalInst] = []
        self.exports: dict[str, Any] = {}
        self.elems: list[list[Any]] = []
        self.datas: list[bytes] = []


# ---------------------------------------------------------------- instantiation


def _limits_match(actual, expected) -> bool:
    if actual.min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual.max is not None and actual.max <= expected.max


def _check_import(imp, item: Any, module: Module) -> None:
    where = f"{imp.module}.{imp.name}"
    if item is None:
        raise LinkError(f"unknown import {where}")
    if imp.kind == "func":
        if not isinstance(item, FuncInst):
            raise LinkError(f"incompatible import type for {where}: expected a function")
        if item.type != module.types[imp.desc]:
            raise LinkError(f"incompatible import type for {where}: expected {module.types[imp.desc]}, "
                            f"got {item.type}")
    elif imp.kind == "table":
        if not isinstance(item, TableInst) or item.elemtype != imp.desc.elemtype or not _limits_match(
                item.type.limits, imp.desc.limits):
            raise LinkError(f"incompatible import type for {where}: table type mismatch")
    elif imp.kind == "memory":
        if not isinstance(item, MemInst) or not _limits_match(item.type.limits, imp.desc.limits):
            raise LinkError(f"incompatible import type for {where}: memory type mismatch")
    elif imp.kind == "global" and (not isinstance(item, GlobalInst) or item.type != imp.desc):
        raise LinkError(f"incompatible import type for {where}: global type mismatch")


def eval_const(expr: list[tuple], inst: ModuleInstance) -> Any:
    """Evaluate a constant expression (offsets, global and element initialisers)."""
    stack: list[Any] = []
    for instr in expr:
        op = instr[0]
        if op == "end":
            break
        if op in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const"):
            stack.append(instr[1])
        elif op == "ref.null":
            stack.append(None)
        elif op == "ref.func":
            stack.append(inst.funcs[instr[1]])
        elif op == "global.get":
            stack.append(inst.globals[instr[1]].value)
        else:
            raise Trap(f"unsupported constant instruction {op}")
    return stack[-1]


def instantiate(store: Store, module: Module, imports: list[Any]) -> ModuleInstance:
    """Instantiate a validated module with its imports (in the module's import order)."""
    if len(imports) != len(module.imports):
        raise LinkError(f"expected {len(module.imports)} imports, got {len(imports)}")
    inst = ModuleInstance(store, module)
    for imp, item in zip(module.imports, imports):
        _check_import(imp, item, module)
        {"func": inst.funcs, "table": inst.tables, "memory": inst.mems, "global": inst.globals}[
            imp.kind].append(item)
    n_imported = len(inst.funcs)
    for i in range(len(module.funcs)):
        inst.funcs.append(WasmFunc(inst, n_imported + i))
    inst.callables = [f.call for f in inst.funcs]
    for position, func in enumerate(inst.funcs):
        if isinstance(func, WasmFunc) and func.call_sites is not None:  # not translated yet
            func.call_sites.append((inst.callables, position))
    for ttype in module.tables:
        inst.tables.append(TableInst(ttype, None))
    for mtype in module.memories:
        inst.mems.append(MemInst(mtype, store))
    for glob in module.globals:
        inst.globals.append(GlobalInst(glob.type, eval_const(glob.init, inst)))
    spaces = {"func": inst.funcs, "table": inst.tables, "memory": inst.mems, "global": inst.globals}
    inst.exports = {e.name: spaces[e.kind][e.index] for e in module.exports}
    inst.elems = [[eval_const(e, inst) for e in seg.init] for seg in module.elems]
    inst.datas = [seg.init for seg in module.datas]
    for i, seg in enumerate(module.elems):
        if seg.mode == "active":
            offset = eval_const(seg.offset, inst)
            table = inst.tables[seg.table]
            items = inst.elems[i]
            if offset + len(items) > len(table.elements):
                raise Trap("out of bounds table access")
            table.elements[offset:offset + len(items)] = items
            table.changed()
        if seg.mode != "passive":
            inst.elems[i] = []
    for i, seg in enumerate(module.datas):
        if seg.mode == "active":
            offset = eval_const(seg.offset, inst)
            mem = inst.mems[seg.memory].data
            if offset + len(seg.init) > len(mem):
                raise Trap("out of bounds memory access")
            mem[offset:offset + len(seg.init)] = seg.init
            inst.datas[i] = b""
    if store.engine != "interp":
        from ..jit.wasm_link import attach

        attach(inst)
    if module.start is not None:
        invoke(store, inst.funcs[module.start], [])
    return inst


# ---------------------------------------------------------------- calling in


# Compiled wasm functions live in code objects with this file name, named after their wasm function.
CODE_FILENAME = "<wasm>"

# Invocations nested through host functions (wasm → host → wasm ...): each level does use the
# C stack, so these are counted separately and kept well inside it.
MAX_NESTED_INVOKES = 1000
_nested_invokes = 0


def backtrace(tb: Any) -> list[str]:
    """The wasm frames of a Python traceback, innermost first."""
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == CODE_FILENAME:
            frames.append(code.co_name)
        tb = tb.tb_next
    return frames[::-1]


def invoke(store: Store, func: FuncInst, args: list[Any]) -> list[Any]:
    """Call a function with internal values; returns the results as a list. What the guest does
    wrong raises a Trap kind; a wrong number of arguments is the caller's error (WasmError)."""
    global _nested_invokes
    if len(args) != len(func.type.params):
        raise WasmError(f"{func.name} takes {len(func.type.params)} arguments, {len(args)} given")
    if _nested_invokes >= MAX_NESTED_INVOKES:
        raise Exhaustion("call stack exhausted")
    outer_limit = sys.getrecursionlimit()
    if outer_limit < store.max_call_depth:  # raised only while wasm runs: the rest of Python keeps its own
        sys.setrecursionlimit(store.max_call_depth)
    _nested_invokes += 1
    try:
        result = func.call(*args)
    except Trap as exc:
        if not exc.backtrace:
            exc.backtrace = backtrace(exc.__traceback__)
        raise
    except RecursionError as exc:
        raise Exhaustion("call stack exhausted", backtrace(exc.__traceback__)[:20]) from None
    except (struct.error, IndexError) as exc:
        raise Trap("out of bounds memory access", backtrace(exc.__traceback__)) from None
    except MemoryError as exc:
        raise Trap("out of host memory", backtrace(exc.__traceback__)) from None
    finally:
        _nested_invokes -= 1
        sys.setrecursionlimit(outer_limit)
    n = len(func.type.results)
    if n == 0:
        return []
    if n == 1:
        return [result]
    return list(result)
