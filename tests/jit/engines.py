"""An engine of one strategy (interp, jit or auto) with its store and linker, as the tests of tier 2 use them."""

from __future__ import annotations

from vmstack.wasm import Config, Engine, Linker, Store


def engine_store_linker(strategy: str) -> tuple[Engine, Store, Linker]:
    """A fresh engine configured for `strategy`, a store and a linker on it."""
    config = Config()
    config.strategy = strategy
    engine = Engine(config)
    return engine, Store(engine), Linker(engine)
