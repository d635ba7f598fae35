"""vmstack.wasm: a WebAssembly 2.0 + WASI preview 1 runtime.

The embedding API has wasmtime-py's shape::

    from vmstack.wasm import Engine, Store, Module, Linker, WasiConfig

    engine = Engine()
    store = Store(engine)
    module = Module.from_file(engine, "hello.wasm")
    linker = Linker(engine)
    linker.define_wasi()
    store.set_wasi(WasiConfig())
    instance = linker.instantiate(store, module)
    instance.exports(store)["_start"](store)

Parts: ``binary`` (decoder), ``validate``, ``text``/``script`` (WAT and WAST),
``runtime`` + ``interp`` (tier 1), ``wasi``, ``api`` (this interface).
"""

from importlib import import_module
from typing import Any

__all__ = [
    "Caller", "Config", "Engine", "ExitTrap", "ExportType", "Func", "FuncType", "Global", "GlobalType",
    "ImportType", "Instance", "Limits", "Linker", "Memory", "MemoryType", "Module", "Store", "Table",
    "TableType", "Trap", "ValType", "WasiConfig", "WasmtimeError", "wat2wasm",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that importing one part (say, the decoder) stays cheap.
    if name in __all__:
        return getattr(import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
