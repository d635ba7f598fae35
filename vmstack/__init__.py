"""vmstack: run guest code at every level of the machine hierarchy.

Portable code (WebAssembly + WASI) lives in :mod:`vmstack.wasm`.
"""

__version__ = "0.1.0"
