"""The two tiers agree: random modules and every guest program of the test suite give the same
results (floats compared by their bits), the same traps, the same memory and globals, and the
same fuel left, run by the interpreter and by the compiled tier."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vmstack.wasm import Config, Engine, ExitTrap, Linker, Store, WasiConfig, runtime, wasi
from vmstack.wasm.errors import Trap
from vmstack.wasm.numeric import f32_to_bits, f32r, f64_to_bits
from vmstack.wasm.text import parse_wat
from vmstack.wasm.validate import validate_module

from ..guests.builders import load_guest_builder
from .random_modules import random_args, random_module

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("interp", "jit")


def _bits(valtype: str, value):
    if valtype == "f32":
        return f32_to_bits(value)
    if valtype == "f64":
        return f64_to_bits(value)
    return value


def _run_random(seed: int, engine: str, fuel: int | None = None, nan_bits: bool = False) -> dict:
    text, params = random_module(seed, nan_bits)
    module = parse_wat(text)
    validate_module(module)
    store = runtime.Store()
    store.engine = engine
    store.fuel = fuel
    inst = runtime.instantiate(store, module, [])
    run = inst.exports["run"]
    args = [f32r(a) if t == "f32" else a for t, a in zip(params, random_args(seed, params, nan_bits))]
    try:
        results = runtime.invoke(store, run, args)
        outcome = ("ok", [_bits(t, v) for t, v in zip(run.type.results, results)])
    except Trap as exc:
        outcome = ("trap", type(exc).__name__, exc.message)
    globals_ = {name: _bits(g.type.valtype, g.value) for name, g in inst.exports.items()
                if isinstance(g, runtime.GlobalInst)}
    return {"outcome": outcome, "memory": hashlib.sha256(inst.exports["memory"].data).hexdigest(),
            "pages": inst.exports["memory"].size(), "globals": globals_, "fuel": store.fuel}


@pytest.mark.parametrize("seed", range(120))
def test_random_module_runs_alike(seed: int) -> None:
    interp, jit = (_run_random(seed, engine) for engine in ENGINES)
    assert jit == interp, random_module(seed)[0]


def test_random_modules_cover_traps_and_results() -> None:
    """The generator is worth its salt: both outcomes occur, and several kinds of trap."""
    outcomes = [_run_random(seed, "interp")["outcome"] for seed in range(120)]
    assert sum(o[0] == "ok" for o in outcomes) >= 10
    assert len({o[2] for o in outcomes if o[0] == "trap"}) >= 4


@pytest.mark.parametrize("seed", range(100))
def test_random_module_keeps_nan_bits_alike(seed: int) -> None:
    """Floats made from the arguments' bits, which LLVM cannot fold at compile time (NaNs with
    payloads, signalling ones, zeros, infinities, negatives), give the interpreter's bits in every
    result, store and global, NaNs included."""
    interp, jit = (_run_random(seed, engine, nan_bits=True) for engine in ENGINES)
    assert jit == interp, random_module(seed, nan_bits=True)[0]


def test_nan_bits_modules_make_nans_of_many_kinds() -> None:
    """Those modules are worth their salt: their f64 results and globals hold NaNs of several bit
    patterns, not only the default one."""
    nans = set()
    for seed in range(60):
        run = _run_random(seed, "interp", nan_bits=True)
        text, _ = random_module(seed, nan_bits=True)
        values = [run["globals"]["g_f64"]]
        if run["outcome"][0] == "ok" and "(result f64)" in text.split('(export "run")')[1].split("\n")[0]:
            values += run["outcome"][1]
        nans.update(bits for bits in values if bits & 0x7FF0000000000000 == 0x7FF0000000000000
                    and bits & 0xFFFFFFFFFFFFF)
    assert len(nans) >= 4, [hex(bits) for bits in nans]


@pytest.mark.parametrize("seed", range(0, 120, 7))
def test_random_module_spends_fuel_alike(seed: int) -> None:
    """Fuel is charged at the same points, by the same amounts: the same fuel is left, and a
    guest stops for lack of it at the same place."""
    for fuel in (40, 100_000):
        interp, jit = (_run_random(seed, engine, fuel) for engine in ENGINES)
        assert jit == interp


# ---------------------------------------------------------------- guest programs


guest_build = load_guest_builder()

GUEST_CASES = [("hello", ["a", "b c"], None), ("fib", ["18"], None), ("sieve", ["30000"], None),
               ("nbody", ["300"], None), ("sha256", ["4"], None),
               *[(name, args, script) for name, (args, script) in guest_build.WORKLOADS.items()]]


# the big Debian guests are compiled without optimisation here (LLVM's O2 on all their code would
# take minutes); the kernels, the random modules and the spec suite cover the optimised code
OPT_LEVELS = {"sqlite3": 0, "lua": 0}


def _run_guest(name: str, args: list[str], stdin: Path | None, engine: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> dict:
    # the guest's clocks and random bytes are made the same for both runs, so its memory can be compared
    ticks = iter(range(1_700_000_000_000_000_000, 1 << 63, 1_000_000))
    monkeypatch.setattr(wasi.time, "clock_gettime_ns", lambda clock: next(ticks))
    monkeypatch.setattr(wasi.os, "urandom", lambda n: bytes(i % 251 for i in range(n)))
    config = Config()
    config.strategy = engine
    config.opt_level = OPT_LEVELS.get(name, 2)
    engine_ = Engine(config)
    store = Store(engine_)
    wasi_config = WasiConfig()
    wasi_config.argv = [name, *args]
    out = tmp_path / f"{engine}.out"
    wasi_config.stdout_file = str(out)
    wasi_config.stdin_file = str(stdin) if stdin else "/dev/null"
    store.set_wasi(wasi_config)
    linker = Linker(engine_)
    linker.define_wasi()
    from vmstack.wasm import Module

    module = Module.from_file(engine_, guest_build.build(name, "wasm32-wasi"))
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
        status = 0
    except ExitTrap as exc:
        status = exc.code
    finally:
        store.close()
    memory = instance.exports(store)["memory"]
    return {"status": status, "stdout": out.read_bytes(),
            "memory": hashlib.sha256(memory.read(store, 0, memory.data_len(store))).hexdigest()}


@pytest.mark.parametrize(("name", "args", "stdin"), GUEST_CASES, ids=[c[0] for c in GUEST_CASES])
def test_guest_program_runs_alike(name: str, args: list[str], stdin: Path | None, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    interp, jit = (_run_guest(name, args, stdin, engine, tmp_path, monkeypatch) for engine in ENGINES)
    assert interp["stdout"]  # the guest did run
    assert jit == interp
