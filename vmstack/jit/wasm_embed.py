"""Calls of compiled wasm functions from Python at native speed: per function type, a C function
``PyObject *call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)`` (CPython's METH_FASTCALL
convention) compiled by LLVM, made a builtin function object with ``PyCFunction_NewEx``. ctypes
costs microseconds a call in argument conversion; this costs the C API calls that unbox and box
the values.

``self`` is a capsule of the record ``{code, ctx, slow, raise_trap}``. The arguments are
``(store, *values)`` as the embedding API passes them. The fast path unboxes the values
(``PyLong_AsLongLong``, ``PyFloat_AsDouble``), releases the GIL (a timer thread may have to
interrupt the guest), calls the code as the entries of ``wasm`` do and boxes the result; any
other case (wrong count, a value of another kind, an integer beyond 64 bits) goes to ``slow``,
the API's Python path, with the same arguments, and a trap calls ``raise_trap`` (which raises).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from ..wasm.module import FuncType, Module
from . import llvm as backend

VALUE_TYPES = ("i32", "i64", "f64")  # what the fast path converts

_C_API = {  # name → (result, parameters)
    "PyCapsule_GetPointer": ("ptr", ["ptr", "ptr"]),
    "PyLong_AsLongLong": ("i64", ["ptr"]),
    "PyFloat_AsDouble": ("f64", ["ptr"]),
    "PyErr_Occurred": ("ptr", []),
    "PyErr_Clear": ("void", []),
    "PyLong_FromLongLong": ("ptr", ["i64"]),
    "PyFloat_FromDouble": ("ptr", ["f64"]),
    "PyObject_Vectorcall": ("ptr", ["ptr", "ptr", "i64", "ptr"]),
    "Py_IncRef": ("void", ["ptr"]),
    "PyEval_SaveThread": ("ptr", []),
    "PyEval_RestoreThread": ("void", ["ptr"]),
}
NONE_SYMBOL = "_Py_NoneStruct"  # None, as CPython's C API names it


def embeddable(ty: FuncType) -> bool:
    return len(ty.results) <= 1 and all(t in VALUE_TYPES for t in ty.params + ty.results)


def lower_embedder(ty: FuncType, prefix: str) -> str:
    """The IR of ``{prefix}call``, the fast call of functions of type ``ty``."""
    from llvmlite import ir  # the lowering is imported when first needed: a run from the cache never is

    from .llvm_ir import I32, I64, PTR
    from .wasm import F64, ModuleLowering

    types = {"ptr": PTR, "i64": I64, "f64": F64, "void": ir.VoidType()}
    owner = ModuleLowering(Module(types=[ty]), fuel=False, prefix=prefix)
    api = {name: owner.intrinsic(name, types[ret], [types[a] for a in args]) for name, (ret, args) in _C_API.items()}
    none = ir.GlobalVariable(owner.ir, I64, NONE_SYMBOL)
    none.linkage = "external"
    fn = ir.Function(owner.ir, ir.FunctionType(PTR, [PTR, PTR, I64]), f"{prefix}call")
    capsule, args, nargs = fn.args
    b = ir.IRBuilder(fn.append_basic_block())
    null = ir.Constant(PTR, None)
    record = b.call(api["PyCapsule_GetPointer"], [capsule, null])

    def word(i: int) -> ir.Value:
        return b.inttoptr(b.load(b.gep(record, [I64(i)], source_etype=I64), typ=I64), PTR)

    slow = fn.append_basic_block("slow")
    unbox = fn.append_basic_block()
    b.cbranch(b.icmp_signed("==", nargs, I64(len(ty.params) + 1)), unbox, slow)
    b.position_at_end(unbox)
    values = []
    for i, t in enumerate(ty.params):
        obj = b.load(b.gep(args, [I64(i + 1)], source_etype=PTR), typ=PTR)
        if t == "f64":
            value = b.call(api["PyFloat_AsDouble"], [obj])
            maybe_failed = b.fcmp_ordered("==", value, F64(-1.0))
        else:
            value = b.call(api["PyLong_AsLongLong"], [obj])
            maybe_failed = b.icmp_signed("==", value, I64(-1))
        check, failed, unboxed = (fn.append_basic_block() for _ in range(3))
        b.cbranch(maybe_failed, check, unboxed)
        b.position_at_end(check)
        error = b.ptrtoint(b.call(api["PyErr_Occurred"], []), I64)
        b.cbranch(b.icmp_unsigned("!=", error, I64(0)), failed, unboxed)
        b.position_at_end(failed)
        b.call(api["PyErr_Clear"], [])
        b.branch(slow)
        b.position_at_end(unboxed)
        values.append(b.trunc(value, I32) if t == "i32" else value)
    thread = b.call(api["PyEval_SaveThread"], [])
    result = owner.guarded_call(b, word(0), ty, word(1), values)
    b.call(api["PyEval_RestoreThread"], [thread])
    trapped, box = fn.append_basic_block("trap"), fn.append_basic_block()
    trap = b.load(backend.state_word(b, owner.state, backend.TRAP), typ=I64)
    b.cbranch(b.icmp_unsigned("!=", trap, I64(0)), trapped, box)
    b.position_at_end(trapped)
    b.ret(b.call(api["PyObject_Vectorcall"], [word(3), null, I64(0), null]))
    b.position_at_end(box)
    if not ty.results:
        b.call(api["Py_IncRef"], [none])
        b.ret(none)
    elif ty.results[0] == "f64":
        b.ret(b.call(api["PyFloat_FromDouble"], [result]))
    else:
        b.ret(b.call(api["PyLong_FromLongLong"], [b.sext(result, I64) if ty.results[0] == "i32" else result]))
    b.position_at_end(slow)
    b.ret(b.call(api["PyObject_Vectorcall"], [word(2), args, nargs, null]))
    return str(owner.ir)


class _MethodDef(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("meth", ctypes.c_void_p), ("flags", ctypes.c_int),
                ("doc", ctypes.c_char_p)]


METH_FASTCALL = 0x80
_new_function = ctypes.pythonapi.PyCFunction_NewEx
_new_function.restype = ctypes.py_object
_new_function.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]
_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

_registered: list[bool] = []
_calls: dict[FuncType, int] = {}  # type → address of its compiled fast call


def _register_c_api() -> None:
    """The C API's addresses, for MCJIT (a shared library finds them as any extension module does)."""
    if not _registered:
        for name in _C_API:
            backend.MCJIT_SYMBOLS[name] = ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value
        backend.MCJIT_SYMBOLS[NONE_SYMBOL] = id(None)
        _registered.append(True)


def _call_address(ty: FuncType, material: bytes) -> int:
    address = _calls.get(ty)
    if address is None:
        _register_c_api()
        key = backend.cache_key(material + b"embedder" + repr(ty).encode(), 1)
        prefix = f"e{key[:24]}_"
        code = backend.load_cached(key, prefix)
        if code is None:
            obj = backend.compile_ir(lower_embedder(ty, prefix), 1)
            backend.store_object(key, obj)
            code = backend.LoadedCode(obj, prefix)
        address = _calls[ty] = code.address("call")
    return address


def fast_call(ty: FuncType, material: bytes, code: int, ctx: int, slow: Callable,
              raise_trap: Callable) -> Callable:
    """A builtin calling ``code`` (a compiled function of type ``ty``, with context ``ctx``) with the
    embedding API's ``(store, *values)``; ``material`` identifies the compiler (for the disk cache)."""
    record = (ctypes.c_int64 * 4)(code, ctx, id(slow), id(raise_trap))
    method = _MethodDef(b"call", _call_address(ty, material), METH_FASTCALL, None)
    capsule = _new_capsule(ctypes.addressof(record), None, None)
    # what the builtin points to is its m_module: it owns them (for as long as it lives, and no longer)
    # and the cycle collector sees them (the slow call leads back to the function the builtin calls)
    return _new_function(ctypes.addressof(method), capsule, (record, method, slow, raise_trap))
