"""The embedding API, shaped like wasmtime-py: Engine, Store, Module, Linker,
Instance, Func, Memory, Global, Table and their types.

A wasmtime-py user switches by changing the import. Values cross this boundary
as wasmtime-py passes them (i32/i64 as signed Python ints, floats, v128 as an
int, funcref as a Func or None, externref as any Python object or None) and are
converted to the runtime's internal form (unsigned ints, ExternRef) here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import runtime
from .errors import ExitTrap, LinkError, Trap, WasmError
from .module import EXTERNREF, FUNCREF, ExternRef
from .module import FuncType as _FuncType
from .module import GlobalType as _GlobalType
from .module import Limits as _Limits
from .module import MemoryType as _MemoryType
from .module import Module as _Module
from .module import TableType as _TableType
from .numeric import f32r
from .wasi import Wasi, WasiConfig

__all__ = [
    "Caller",
    "Config",
    "Engine",
    "ExitTrap",
    "ExportType",
    "Func",
    "FuncType",
    "Global",
    "GlobalType",
    "ImportType",
    "Instance",
    "Limits",
    "Linker",
    "Memory",
    "MemoryType",
    "Module",
    "Store",
    "Table",
    "TableType",
    "Trap",
    "ValType",
    "WasiConfig",
    "WasmtimeError",
    "wat2wasm",
]

WasmtimeError = WasmError

# ---------------------------------------------------------------- types


class ValType:
    """A value type; ``ValType.i32()`` and friends as in wasmtime-py."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def i32(cls) -> ValType:
        return cls("i32")

    @classmethod
    def i64(cls) -> ValType:
        return cls("i64")

    @classmethod
    def f32(cls) -> ValType:
        return cls("f32")

    @classmethod
    def f64(cls) -> ValType:
        return cls("f64")

    @classmethod
    def v128(cls) -> ValType:
        return cls("v128")

    @classmethod
    def funcref(cls) -> ValType:
        return cls(FUNCREF)

    @classmethod
    def externref(cls) -> ValType:
        return cls(EXTERNREF)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


class FuncType:
    def __init__(self, params: Sequence[ValType], results: Sequence[ValType]) -> None:
        self._ty = _FuncType(tuple(p.name for p in params), tuple(r.name for r in results))

    @classmethod
    def _wrap(cls, ty: _FuncType) -> FuncType:
        obj = cls.__new__(cls)
        obj._ty = ty
        return obj

    @property
    def params(self) -> list[ValType]:
        return [ValType(p) for p in self._ty.params]

    @property
    def results(self) -> list[ValType]:
        return [ValType(r) for r in self._ty.results]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and other._ty == self._ty

    def __str__(self) -> str:
        return str(self._ty)


class Limits:
    def __init__(self, min: int, max: int | None) -> None:
        self.min = min
        self.max = max


class MemoryType:
    def __init__(self, limits: Limits) -> None:
        self._ty = _MemoryType(_Limits(limits.min, limits.max))

    @property
    def limits(self) -> Limits:
        return Limits(self._ty.limits.min, self._ty.limits.max)


class TableType:
    def __init__(self, valtype: ValType, limits: Limits) -> None:
        self._ty = _TableType(valtype.name, _Limits(limits.min, limits.max))

    @property
    def element(self) -> ValType:
        return ValType(self._ty.elemtype)

    @property
    def limits(self) -> Limits:
        return Limits(self._ty.limits.min, self._ty.limits.max)


class GlobalType:
    def __init__(self, valtype: ValType, mutable: bool) -> None:
        self._ty = _GlobalType(valtype.name, mutable)

    @property
    def content(self) -> ValType:
        return ValType(self._ty.valtype)

    @property
    def mutable(self) -> bool:
        return self._ty.mutable


def _wrap_type(kind: str, desc: Any, module: _Module) -> Any:
    if kind == "func":
        return FuncType._wrap(module.types[desc] if isinstance(desc, int) else desc)
    wrapper = {"memory": MemoryType, "table": TableType, "global": GlobalType}[kind]
    obj = wrapper.__new__(wrapper)
    obj._ty = desc
    return obj


# ---------------------------------------------------------------- values


def _to_internal(valtype: str, value: Any) -> Any:
    """A value as the embedder passes it → the runtime's representation."""
    if valtype == "i32":
        return int(value) & 0xFFFFFFFF
    if valtype == "i64":
        return int(value) & 0xFFFFFFFFFFFFFFFF
    if valtype == "f32":
        return f32r(float(value))
    if valtype == "f64":
        return float(value)
    if valtype == "v128":
        return int(value) & ((1 << 128) - 1)
    if valtype == FUNCREF:
        if value is None:
            return None
        if isinstance(value, Func):
            return value._inst
        raise TypeError("a funcref must be a Func or None")
    if value is None:
        return None
    return value if isinstance(value, ExternRef) else ExternRef(value)


def _from_internal(valtype: str, value: Any) -> Any:
    """A runtime value → what the embedder sees (signed integers, like wasmtime-py)."""
    if valtype == "i32":
        return value - 0x100000000 if value & 0x80000000 else value
    if valtype == "i64":
        return value - 0x10000000000000000 if value & 0x8000000000000000 else value
    if valtype == FUNCREF:
        return None if value is None else Func._wrap(value)
    if valtype == EXTERNREF:
        return None if value is None else value.value
    return value


# ---------------------------------------------------------------- engine and store


class Config:
    """Engine settings: ``consume_fuel`` enables Store.set_fuel; ``strategy`` picks the tier that
    runs wasm code ("interp", "jit" or "auto", see runtime.Store) and ``opt_level`` (0-3) the
    compiled tier's optimisation level."""

    STRATEGIES = ("interp", "jit", "auto")

    def __init__(self) -> None:
        self.consume_fuel = False
        self.max_wasm_stack: int | None = None
        self._strategy = "interp"
        self.opt_level = 2

    @property
    def strategy(self) -> str:
        return self._strategy

    @strategy.setter
    def strategy(self, value: str) -> None:
        if value not in self.STRATEGIES:
            raise WasmError(f"unknown strategy {value!r} (expected one of {', '.join(self.STRATEGIES)})")
        self._strategy = value


class Engine:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()


class Store:
    """Owns every instance, memory, table and global created in it, and their limits."""

    def __init__(self, engine: Engine | None = None, data: Any = None) -> None:
        self.engine = engine or Engine()
        self.data = data
        self._rt = runtime.Store()
        self._rt.engine = self.engine.config.strategy
        self._rt.opt_level = self.engine.config.opt_level
        self._wasi_config: WasiConfig | None = None
        self._wasi: Wasi | None = None

    def set_fuel(self, fuel: int) -> None:
        if not self.engine.config.consume_fuel:
            raise WasmError("fuel is not enabled in this store's engine (Config.consume_fuel)")
        self._rt.fuel = int(fuel)

    def get_fuel(self) -> int:
        if self._rt.fuel is None:
            raise WasmError("fuel is not enabled in this store's engine (Config.consume_fuel)")
        return max(self._rt.fuel, 0)

    def set_limits(self, memory_size: int | None = None, **_ignored: Any) -> None:
        """Limit any one linear memory to ``memory_size`` bytes."""
        self._rt.max_memory_bytes = memory_size

    def set_wasi(self, config: WasiConfig) -> None:
        self._wasi_config = config
        self._wasi = None

    def _wasi_context(self) -> Wasi:
        if self._wasi is None:
            self._wasi = Wasi(self._wasi_config or WasiConfig())
        return self._wasi

    def close(self) -> None:
        if self._wasi is not None:
            self._wasi.close()
            self._wasi = None


# ---------------------------------------------------------------- modules


class ImportType:
    def __init__(self, module: str, name: str, type: Any) -> None:
        self.module = module
        self.name = name
        self.type = type


class ExportType:
    def __init__(self, name: str, type: Any) -> None:
        self.name = name
        self.type = type


def _parse_wasm(wasm: bytes | str) -> _Module:
    """The module a binary or text encodes, not validated (the decoder and the validator are imported
    when first needed: a run whose module comes from the cache needs neither)."""
    if isinstance(wasm, (bytes, bytearray, memoryview)) and bytes(wasm[:4]) == b"\0asm":
        from .binary import decode_module

        return decode_module(bytes(wasm))
    from .text import parse_wat

    text = wasm if isinstance(wasm, str) else bytes(wasm).decode("utf-8")
    return parse_wat(text)


class Module:
    """A decoded and validated module, ready to instantiate any number of times."""

    def __init__(self, engine: Engine | None, wasm: bytes | str) -> None:
        self.engine = engine
        if isinstance(wasm, (bytes, bytearray, memoryview)) and bytes(wasm[:4]) == b"\0asm":
            from .module_cache import decode_validated  # a binary seen before is not decoded again

            self._module = decode_validated(bytes(wasm))
            return
        from .validate import validate_module

        self._module = _parse_wasm(wasm)
        validate_module(self._module)

    @classmethod
    def from_file(cls, engine: Engine | None, path: str | Path) -> Module:
        data = Path(path).read_bytes()
        return cls(engine, data)

    @staticmethod
    def validate(engine: Engine | None, wasm: bytes | str) -> None:
        from .validate import validate_module

        validate_module(_parse_wasm(wasm))

    @property
    def imports(self) -> list[ImportType]:
        return [ImportType(i.module, i.name, _wrap_type(i.kind, i.desc, self._module))
                for i in self._module.imports]

    @property
    def exports(self) -> list[ExportType]:
        m = self._module
        spaces = {
            "func": m.func_types(),
            "table": [i.desc for i in m.imports_of("table")] + m.tables,
            "memory": [i.desc for i in m.imports_of("memory")] + m.memories,
            "global": [i.desc for i in m.imports_of("global")] + [g.type for g in m.globals],
        }
        return [ExportType(e.name, _wrap_type(e.kind, spaces[e.kind][e.index], m)) for e in m.exports]


# ---------------------------------------------------------------- externs


class Caller:
    """Passed first to host functions defined with ``access_caller=True``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._instance: runtime.ModuleInstance | None = None

    def get(self, name: str) -> Any:
        if self._instance is None:
            return None
        item = self._instance.exports.get(name)
        return None if item is None else _wrap_extern(item)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(name)
        return item


class Func:
    """A function: a Python callable made callable from wasm, or a wasm export."""

    def __init__(self, store: Store, ty: FuncType, func: Callable, access_caller: bool = False) -> None:
        params, results = ty._ty.params, ty._ty.results
        caller = Caller(store) if access_caller else None
        self._caller = caller

        def host(*args: Any) -> Any:
            converted = [_from_internal(t, a) for t, a in zip(params, args)]
            out = func(caller, *converted) if caller is not None else func(*converted)
            if not results:
                return None
            if len(results) == 1:
                if isinstance(out, (list, tuple)) and results[0] != EXTERNREF:
                    out = out[0]
                return _to_internal(results[0], out)
            return tuple(_to_internal(t, v) for t, v in zip(results, out))

        self._inst = runtime.HostFunc(ty._ty, host, getattr(func, "__name__", "host"))
        self._store = store

    @classmethod
    def _wrap(cls, inst: runtime.FuncInst) -> Func:
        make = getattr(inst, "embedder_call", None)
        obj = cls.__new__(cls if make is None else _direct_class(inst, make))
        obj._inst = inst
        obj._caller = None
        return obj

    def type(self, store: Store | None = None) -> FuncType:
        return FuncType._wrap(self._inst.type)

    def __call__(self, store: Store, *params: Any) -> Any:
        ty = self._inst.type
        if len(params) != len(ty.params):
            raise TypeError(f"expected {len(ty.params)} arguments, got {len(params)}")
        args = [_to_internal(t, v) for t, v in zip(ty.params, params)]
        results = runtime.invoke(store._rt, self._inst, args)
        if not ty.results:
            return None
        if len(ty.results) == 1:
            return _from_internal(ty.results[0], results[0])
        return [_from_internal(t, v) for t, v in zip(ty.results, results)]


def _direct_class(inst: runtime.WasmFunc, make: Callable) -> type[Func]:
    """A Func class whose ``__call__`` is the compiled tier's direct call of ``inst`` (under a
    microsecond: no conversion or bookkeeping in Python), ``make(slow)`` given the usual call for
    what it does not handle itself; made once, kept by the function."""
    if inst.embedder_class is None:
        usual = Func.__new__(Func)
        usual._inst = inst
        usual._caller = None
        inst.embedder_class = type("Func", (Func,), {"__call__": make(usual.__call__), "__doc__": Func.__doc__})
    return inst.embedder_class


class Memory:
    def __init__(self, store: Store, ty: MemoryType) -> None:
        self._inst = runtime.MemInst(ty._ty, store._rt)

    @classmethod
    def _wrap(cls, inst: runtime.MemInst) -> Memory:
        obj = cls.__new__(cls)
        obj._inst = inst
        return obj

    def type(self, store: Store | None = None) -> MemoryType:
        return _wrap_type("memory", _MemoryType(_Limits(self._inst.size(), self._inst.max)), _Module())

    def size(self, store: Store | None = None) -> int:
        return self._inst.size()

    def data_len(self, store: Store | None = None) -> int:
        return len(self._inst.data)

    def grow(self, store: Store | None, delta: int) -> int:
        old = self._inst.grow(delta)
        if old < 0:
            raise WasmError(f"failed to grow memory by {delta} pages")
        return old

    def read(self, store: Store | None, start: int, stop: int) -> bytearray:
        data = self._inst.data
        if not 0 <= start <= stop <= len(data):
            raise IndexError("out of bounds memory read")
        return data[start:stop]

    def write(self, store: Store | None, value: bytes | bytearray, start: int = 0) -> int:
        data = self._inst.data
        if not 0 <= start <= start + len(value) <= len(data):
            raise IndexError("out of bounds memory write")
        data[start:start + len(value)] = value
        return len(value)

    def get_buffer_ptr(self, store: Store | None = None) -> memoryview:
        """A view of the memory's bytes. While a view is held the memory cannot grow
        (memory.grow returns -1), so release it before running the guest again."""
        return memoryview(self._inst.data)


class Global:
    def __init__(self, store: Store, ty: GlobalType, val: Any) -> None:
        self._inst = runtime.GlobalInst(ty._ty, _to_internal(ty._ty.valtype, val))

    @classmethod
    def _wrap(cls, inst: runtime.GlobalInst) -> Global:
        obj = cls.__new__(cls)
        obj._inst = inst
        return obj

    def type(self, store: Store | None = None) -> GlobalType:
        return _wrap_type("global", self._inst.type, _Module())

    def value(self, store: Store | None = None) -> Any:
        return _from_internal(self._inst.type.valtype, self._inst.value)

    def set_value(self, store: Store | None, val: Any) -> None:
        if not self._inst.type.mutable:
            raise WasmError("cannot set the value of an immutable global")
        self._inst.value = _to_internal(self._inst.type.valtype, val)


class Table:
    def __init__(self, store: Store, ty: TableType, init: Any) -> None:
        self._inst = runtime.TableInst(ty._ty, _to_internal(ty._ty.elemtype, init))

    @classmethod
    def _wrap(cls, inst: runtime.TableInst) -> Table:
        obj = cls.__new__(cls)
        obj._inst = inst
        return obj

    def type(self, store: Store | None = None) -> TableType:
        ty = _TableType(self._inst.elemtype, _Limits(len(self._inst.elements), self._inst.max))
        return _wrap_type("table", ty, _Module())

    def size(self, store: Store | None = None) -> int:
        return len(self._inst.elements)

    def get(self, store: Store | None, idx: int) -> Any:
        if not 0 <= idx < len(self._inst.elements):
            return None
        return _from_internal(self._inst.elemtype, self._inst.elements[idx])

    def set(self, store: Store | None, idx: int, val: Any) -> None:
        if not 0 <= idx < len(self._inst.elements):
            raise WasmError("table index out of bounds")
        self._inst.elements[idx] = _to_internal(self._inst.elemtype, val)
        self._inst.changed()

    def grow(self, store: Store | None, delta: int, init: Any) -> int:
        old = self._inst.grow(delta, _to_internal(self._inst.elemtype, init))
        if old < 0:
            raise WasmError(f"failed to grow table by {delta}")
        return old


def _wrap_extern(item: Any) -> Any:
    if isinstance(item, runtime.FuncInst):
        return Func._wrap(item)
    if isinstance(item, runtime.MemInst):
        return Memory._wrap(item)
    if isinstance(item, runtime.GlobalInst):
        return Global._wrap(item)
    if isinstance(item, runtime.TableInst):
        return Table._wrap(item)
    raise TypeError(f"not an extern: {item!r}")


def _unwrap_extern(item: Any) -> Any:
    if isinstance(item, (Func, Memory, Global, Table)):
        return item._inst
    raise TypeError(f"not a Func, Memory, Global or Table: {item!r}")


# ---------------------------------------------------------------- instances


class InstanceExports:
    """An instance's exports, by name (``exports["run"]``) or position."""

    def __init__(self, instance: runtime.ModuleInstance) -> None:
        self._instance = instance
        self._names = [e.name for e in instance.module.exports]

    def __getitem__(self, key: str | int) -> Any:
        name = self._names[key] if isinstance(key, int) else key
        return _wrap_extern(self._instance.exports[name])

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._instance.exports else default

    def __contains__(self, name: object) -> bool:
        return name in self._instance.exports

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self) -> list[str]:
        return list(self._names)

    def items(self) -> list[tuple[str, Any]]:
        return [(n, self[n]) for n in self._names]


class Instance:
    def __init__(self, store: Store, module: Module, imports: Sequence[Any]) -> None:
        self._store = store
        self._rt_instance = runtime.instantiate(store._rt, module._module, [_unwrap_extern(i) for i in imports])

    @classmethod
    def _wrap(cls, store: Store, inst: runtime.ModuleInstance) -> Instance:
        obj = cls.__new__(cls)
        obj._store = store
        obj._rt_instance = inst
        return obj

    def exports(self, store: Store | None = None) -> InstanceExports:
        return InstanceExports(self._rt_instance)


WASI_MODULE = "wasi_snapshot_preview1"


class Linker:
    """Resolves imports by (module, name) from definitions and WASI."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.allow_shadowing = False
        self._defs: dict[tuple[str, str], Any] = {}
        self._funcs: dict[tuple[str, str], tuple[_FuncType, Callable, bool]] = {}
        self._wasi = False

    def _check_new(self, key: tuple[str, str]) -> None:
        if not self.allow_shadowing and (key in self._defs or key in self._funcs):
            raise WasmError(f"import of `{key[0]}::{key[1]}` defined twice")

    def define(self, store: Store | None, module: str, name: str, item: Any) -> None:
        self._check_new((module, name))
        self._defs[(module, name)] = _unwrap_extern(item)

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable,
                    access_caller: bool = False) -> None:
        self._check_new((module, name))
        self._funcs[(module, name)] = (ty, func, access_caller)

    def define_instance(self, store: Store, name: str, instance: Instance) -> None:
        for export, item in instance._rt_instance.exports.items():
            self._check_new((name, export))
            self._defs[(name, export)] = item

    def define_wasi(self) -> None:
        self._wasi = True

    def get(self, store: Store, module: str, name: str) -> Any:
        item = self._resolve(store, module, name, [])
        if item is None:
            raise WasmError(f"no item named `{module}::{name}` in linker")
        return _wrap_extern(item)

    def _resolve(self, store: Store, module: str, name: str, callers: list[Caller]) -> Any:
        key = (module, name)
        if key in self._defs:
            return self._defs[key]
        if key in self._funcs:
            ty, func, access_caller = self._funcs[key]
            wrapped = Func(store, ty, func, access_caller)
            if wrapped._caller is not None:
                callers.append(wrapped._caller)
            return wrapped._inst
        if self._wasi and module == WASI_MODULE:
            return store._wasi_context().host_functions().get(name)
        return None

    def instantiate(self, store: Store, module: Module) -> Instance:
        callers: list[Caller] = []
        externs = []
        for imp in module._module.imports:
            item = self._resolve(store, imp.module, imp.name, callers)
            if item is None:
                raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been defined")
            externs.append(item)
        inst = runtime.instantiate(store._rt, module._module, externs)
        for caller in callers:
            caller._instance = inst
        if self._wasi and any(i.module == WASI_MODULE for i in module._module.imports):
            memory = inst.exports.get("memory")
            if isinstance(memory, runtime.MemInst):
                store._wasi_context().bind_memory(memory)
        return Instance._wrap(store, inst)


def wat2wasm(wat: str | bytes) -> bytes:
    """Assemble WebAssembly text to binary, with vmstack's own text parser."""
    from .text import wat_to_wasm

    return wat_to_wasm(wat if isinstance(wat, str) else wat.decode("utf-8"))

