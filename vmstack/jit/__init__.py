"""vmstack.jit: the compiled tier. ``llvm`` is the guest-independent LLVM backend (target machine,
optimisation, object code cached on disk, loading into the process, the native state block that
compiled code shares with Python: trap code, fuel, interrupt flag, stack limit, backtrace);
``wasm`` lowers WebAssembly functions to LLVM IR and ``wasm_link`` ties the compiled code to
tier 1's runtime store (memories, tables, globals, imports, calls from Python)."""

import os

# llvmlite's IR layer must print opaque pointers (``ptr``), the only kind LLVM still reads; the
# switch is read when llvmlite is first imported.
os.environ.setdefault("LLVMLITE_ENABLE_IR_LAYER_TYPED_POINTERS", "0")
