"""Errors raised by the WebAssembly runtime: one class per way a module or a
guest can fail, so the CLI can map each to a one-line message and an exit code.
"""

from __future__ import annotations


class WasmError(Exception):
    """Base of every error vmstack.wasm raises on purpose."""


class DecodeError(WasmError):
    """The binary (or text) is malformed. ``offset`` is the byte offset, when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte offset {offset:#x})")


class ValidationError(WasmError):
    """The module is well formed but invalid (a typing or index rule is broken)."""

    def __init__(self, message: str, func: int | None = None, offset: int | None = None) -> None:
        self.message = message
        self.func = func
        self.offset = offset
        where = []
        if func is not None:
            where.append(f"in func[{func}]")
        if offset is not None:
            where.append(f"at byte offset {offset:#x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class LinkError(WasmError):
    """Instantiation failed: an import is missing or has the wrong type."""


class Trap(WasmError):
    """The guest trapped. ``backtrace`` lists the wasm frames, innermost first."""

    def __init__(self, message: str, backtrace: list[str] | None = None) -> None:
        self.message = message
        self.backtrace = list(backtrace or [])
        super().__init__(message)

    def __str__(self) -> str:
        if not self.backtrace:
            return self.message
        frames = "\n".join(f"  {i}: {frame}" for i, frame in enumerate(self.backtrace))
        return f"{self.message}\nwasm backtrace:\n{frames}"


class Exhaustion(Trap):
    """The guest exhausted the call stack."""


class OutOfFuel(Trap):
    """The guest used all the fuel it was given."""


class Timeout(Trap):
    """The guest ran past its time limit."""


class MemoryLimitExceeded(Trap):
    """The guest asked for more linear memory than its limit allows."""


class ExitTrap(Trap):
    """The guest called WASI ``proc_exit``; ``code`` is its exit status."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"guest exited with status {code}")
