"""What compiled wasm code and the Python side of the compiled tier agree on, apart from the lowering
(which imports LLVM's IR builder): the words of an instance context, value slots, trap codes and
their messages, the runtime services compiled code asks for, and which types ctypes passes directly."""

from __future__ import annotations

from ..wasm.module import FuncType
from . import llvm as backend

SCALARS = ("i32", "i64", "f32", "f64")

# instance context words
CTX_MEM, CTX_GLOBALS, CTX_TABLES, CTX_FUNCS, CTX_SIGS, CTX_DATAS = range(6)
CTX_WORDS = 6
SLOT_BYTES = 16
PAGE_BYTES = 1 << 16

# trap codes of wasm guests, with the interpreter's messages
TRAP_MESSAGES = {
    backend.GUEST_TRAPS + 0: "unreachable",
    backend.GUEST_TRAPS + 1: "integer divide by zero",
    backend.GUEST_TRAPS + 2: "integer overflow",
    backend.GUEST_TRAPS + 3: "invalid conversion to integer",
    backend.GUEST_TRAPS + 4: "out of bounds memory access",
    backend.GUEST_TRAPS + 5: "out of bounds table access",
    backend.GUEST_TRAPS + 6: "undefined element",
    backend.GUEST_TRAPS + 7: "uninitialized element",
    backend.GUEST_TRAPS + 8: "indirect call type mismatch",
}
(TRAP_UNREACHABLE, TRAP_DIV_ZERO, TRAP_OVERFLOW, TRAP_INVALID_CONVERSION, TRAP_MEMORY, TRAP_TABLE,
 TRAP_UNDEFINED, TRAP_UNINITIALIZED, TRAP_SIGNATURE) = sorted(TRAP_MESSAGES)

# services the compiled code asks of Python (the first argument of the runtime callback)
RT_MEMORY_GROW, RT_TABLE_GROW, RT_TABLE_SET, RT_TABLE_FILL, RT_TABLE_COPY, RT_TABLE_INIT, RT_ELEM_DROP = \
    range(1, 8)


def is_fast(ty: FuncType) -> bool:
    """ctypes can pass the type's values directly (no v128, no references, at most one result)."""
    return len(ty.results) <= 1 and all(t in SCALARS for t in ty.params + ty.results)
