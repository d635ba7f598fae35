"""Runs WebAssembly spec scripts (.wast): every command and assertion of the
script language against vmstack's decoder, validator and runtime, counting
what passes and describing what fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import runtime, script
from .binary import decode_module
from .errors import DecodeError, Exhaustion, LinkError, Trap, ValidationError, WasmError
from .module import ExternRef, FuncType, GlobalType, Limits, MemoryType, TableType
from .numeric import f32_from_bits, f32_to_bits, f64_to_bits
from .text import SHAPES
from .validate import validate_module


@dataclass
class WastResult:
    path: str
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


def _spectest(store: runtime.Store, printer: Callable[[str], None]) -> dict[str, Any]:
    """The `spectest` module every spec script may import from."""

    def host(params: tuple[str, ...], name: str) -> runtime.HostFunc:
        def fn(*args: Any) -> None:
            printer(f"{name}: {' '.join(str(a) for a in args)}")

        return runtime.HostFunc(FuncType(params, ()), fn, name)

    store_funcs = {
        "print": host((), "print"),
        "print_i32": host(("i32",), "print_i32"),
        "print_i64": host(("i64",), "print_i64"),
        "print_f32": host(("f32",), "print_f32"),
        "print_f64": host(("f64",), "print_f64"),
        "print_i32_f32": host(("i32", "f32"), "print_i32_f32"),
        "print_f64_f64": host(("f64", "f64"), "print_f64_f64"),
    }
    return {
        **store_funcs,
        "global_i32": runtime.GlobalInst(GlobalType("i32", False), 666),
        "global_i64": runtime.GlobalInst(GlobalType("i64", False), 666),
        "global_f32": runtime.GlobalInst(GlobalType("f32", False), f32_from_bits(0x4426A666)),
        "global_f64": runtime.GlobalInst(GlobalType("f64", False), 666.6),
        "table": runtime.TableInst(TableType("funcref", Limits(10, 20)), None),
        "memory": runtime.MemInst(MemoryType(Limits(1, 2)), store),
    }




def _nan_matches(bits: int, width: int, pattern: str) -> bool:
    exp_mask, quiet = (0x7F800000, 0x00400000) if width == 32 else (0x7FF0000000000000, 0x0008000000000000)
    mant_mask = quiet * 2 - 1
    if bits & exp_mask != exp_mask or not bits & mant_mask:
        return False
    if pattern == "nan:canonical":
        return bits & mant_mask == quiet
    return bool(bits & quiet)


def _float_bits(valtype: str, value: float) -> int:
    return f32_to_bits(value) if valtype == "f32" else f64_to_bits(value)


def _lane_matches(shape: str, lane_bits: int, expected: Any) -> bool:
    width = SHAPES[shape][1]
    if isinstance(expected, str):
        return _nan_matches(lane_bits, width, expected)
    if shape.startswith("f"):
        want = f32_to_bits(expected) if width == 32 else f64_to_bits(expected)
        return lane_bits == want
    return lane_bits == expected & ((1 << width) - 1)


def value_matches(actual: Any, expected: tuple[str, Any]) -> bool:
    """Does one result equal one expectation of an assert_return (bit for bit)?"""
    valtype, want = expected
    if valtype in ("i32", "i64"):
        return isinstance(actual, int) and actual == want
    if valtype in ("f32", "f64", "float"):
        if not isinstance(actual, float):
            return False
        if isinstance(want, str):
            if valtype == "float":
                return math.isnan(actual) and (
                    _nan_matches(f64_to_bits(actual), 64, want) or _nan_matches(f32_to_bits(actual), 32, want))
            return _nan_matches(_float_bits(valtype, actual), 32 if valtype == "f32" else 64, want)
        return _float_bits(valtype, actual) == _float_bits(valtype, want)
    if valtype == "v128":
        if not isinstance(actual, int):
            return False
        if isinstance(want, tuple):
            shape, lanes = want
            count, width = SHAPES[shape]
            mask = (1 << width) - 1
            return all(_lane_matches(shape, (actual >> (i * width)) & mask, lanes[i]) for i in range(count))
        return actual == want
    if want == "any":
        return actual is not None and (valtype == "funcref" or isinstance(actual, ExternRef))
    if want is None:
        return actual is None
    return isinstance(actual, ExternRef) and actual.value == want


def _describe(value: Any) -> str:
    if isinstance(value, float):
        return f"{value!r}(bits {f64_to_bits(value):#x})"
    if isinstance(value, int):
        return hex(value)
    return repr(value)


class WastRunner:
    """Executes one script's commands in order, keeping its module registry."""

    def __init__(self, path: str, printer: Callable[[str], None] = lambda line: None,
                 engine: str = "interp") -> None:
        self.result = WastResult(path)
        self.store = runtime.Store()
        self.store.engine = engine
        self.registry: dict[str, dict[str, Any]] = {"spectest": _spectest(self.store, printer)}
        self.named: dict[str, runtime.ModuleInstance] = {}
        self.current: runtime.ModuleInstance | None = None

    # ---- helpers

    def _fail(self, line: int, what: str) -> None:
        self.result.failed += 1
        self.result.failures.append(f"{self.result.path}:{line}: {what}")

    def _ok(self) -> None:
        self.result.passed += 1

    def _instantiate(self, smod: script.ScriptModule) -> runtime.ModuleInstance:
        module = decode_module(smod.to_binary())
        validate_module(module)
        externs = []
        for imp in module.imports:
            exports = self.registry.get(imp.module)
            if exports is None or imp.name not in exports:
                raise LinkError(f"unknown import {imp.module}.{imp.name}")
            externs.append(exports[imp.name])
        return runtime.instantiate(self.store, module, externs)

    def _instance(self, name: str | None) -> runtime.ModuleInstance:
        inst = self.named.get(name) if name else self.current
        if inst is None:
            raise WasmError(f"unknown module {name}" if name else "no module instantiated yet")
        return inst

    def _args(self, args: list[tuple[str, Any]]) -> list[Any]:
        out = []
        for valtype, value in args:
            if valtype == "externref" and value is not None:
                value = ExternRef(value)
            out.append(value)
        return out

    def _perform(self, action: script.Action) -> list[Any]:
        inst = self._instance(action.module_name)
        item = inst.exports.get(action.field)
        if item is None:
            raise WasmError(f"unknown export {action.field!r}")
        if action.kind == "get":
            return [item.value]
        return runtime.invoke(self.store, item, self._args(action.args))

    # ---- commands

    def run(self, commands: list[Any]) -> WastResult:
        for cmd in commands:
            handler = getattr(self, "_cmd_" + type(cmd).__name__, None)
            if handler is None:
                self._fail(cmd.line, f"unsupported command {type(cmd).__name__}")
                continue
            try:
                handler(cmd)
            except WasmError as exc:
                self._fail(cmd.line, f"{type(cmd).__name__}: unexpected {type(exc).__name__}: {exc}")
        return self.result

    def _cmd_ModuleCommand(self, cmd: script.ModuleCommand) -> None:
        inst = self._instantiate(cmd.module)
        self.current = inst
        if cmd.module.name:
            self.named[cmd.module.name] = inst
        self._ok()

    def _cmd_Register(self, cmd: script.Register) -> None:
        self.registry[cmd.name] = dict(self._instance(cmd.module_name).exports)
        self._ok()

    def _cmd_Action(self, cmd: script.Action) -> None:
        self._perform(cmd)
        self._ok()

    def _cmd_AssertReturn(self, cmd: script.AssertReturn) -> None:
        results = self._perform(cmd.action)
        if len(results) == len(cmd.expected) and all(
                value_matches(a, e) for a, e in zip(results, cmd.expected)):
            self._ok()
        else:
            got = ", ".join(_describe(r) for r in results)
            self._fail(cmd.line, f"{cmd.action.field}: got [{got}], expected {cmd.expected}")

    def _expect_error(self, line: int, what: str, run: Callable[[], Any],
                      kinds: tuple[type[Exception], ...]) -> None:
        try:
            run()
        except kinds:
            self._ok()
            return
        except WasmError as exc:
            self._fail(line, f"{what}: expected {kinds[0].__name__}, got {type(exc).__name__}: {exc}")
            return
        self._fail(line, f"{what}: expected {kinds[0].__name__}, but it succeeded")

    def _cmd_AssertTrap(self, cmd: script.AssertTrap) -> None:
        if cmd.module is not None:
            self._expect_error(cmd.line, "assert_trap", lambda: self._instantiate(cmd.module), (Trap,))
        else:
            self._expect_error(cmd.line, f"assert_trap {cmd.message!r}", lambda: self._perform(cmd.action),
                               (Trap,))

    def _cmd_AssertExhaustion(self, cmd: script.AssertExhaustion) -> None:
        self._expect_error(cmd.line, "assert_exhaustion", lambda: self._perform(cmd.action), (Exhaustion,))

    def _cmd_AssertUninstantiable(self, cmd: script.AssertUninstantiable) -> None:
        self._expect_error(cmd.line, "assert_uninstantiable", lambda: self._instantiate(cmd.module), (Trap,))

    def _cmd_AssertUnlinkable(self, cmd: script.AssertUnlinkable) -> None:
        self._expect_error(cmd.line, f"assert_unlinkable {cmd.message!r}",
                           lambda: self._instantiate(cmd.module), (LinkError,))

    def _cmd_AssertInvalid(self, cmd: script.AssertInvalid) -> None:
        def check() -> None:
            validate_module(decode_module(cmd.module.to_binary()))

        self._expect_error(cmd.line, f"assert_invalid {cmd.message!r}", check, (ValidationError,))

    def _cmd_AssertMalformed(self, cmd: script.AssertMalformed) -> None:
        self._expect_error(cmd.line, f"assert_malformed {cmd.message!r}",
                           lambda: decode_module(cmd.module.to_binary()), (DecodeError,))


def run_wast_file(path: str | Path, printer: Callable[[str], None] = lambda line: None,
                  engine: str = "interp") -> WastResult:
    """Parse and run one .wast script (with the given engine, see runtime.Store). A script that
    cannot be parsed counts as one failure."""
    path = Path(path)
    runner = WastRunner(str(path), printer, engine)
    try:
        commands = script.parse_wast(path.read_text(encoding="utf-8"))
    except (DecodeError, UnicodeDecodeError) as exc:
        runner._fail(0, f"cannot parse script: {exc}")
        return runner.result
    return runner.run(commands)
