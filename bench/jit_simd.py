"""Benchmark the compiled tier on float-lane SIMD: one kernel over 4096 f32 lanes of guest memory
(f32x4 mul/add/nearest/min/max/sqrt/trunc_sat, f64x2 promote/div/demote, i32x4 conversions), run by
vmstack jit, by wasmtime-py and by vmstack interp through the same embedding API, its checksum
checked to be the same in all three. The interpreter runs fewer passes and its time is scaled to
the others' pass count (marked "~"). Also measured: the kernel's compile time in vmstack (cold
cache, O2). Prints a Markdown table.

    python3 bench/jit_simd.py [--passes N] [--interp-passes N] [--runs N]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KERNEL = """(module
  (memory (export "memory") 1)
  (func (export "init")
    (local $i i32)
    (loop $fill
      (f32.store (local.get $i) (f32.sub (f32.mul (f32.convert_i32_u (local.get $i)) (f32.const 0.0625))
                                         (f32.const 500.3)))
      (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 16384)))))
  (func (export "run") (param $passes i32) (result i32)
    (local $i i32) (local $v v128) (local $acc v128) (local $wide v128)
    (loop $pass
      (local.set $i (i32.const 0))
      (loop $lanes
        (local.set $v (f32x4.add (f32x4.mul (v128.load (local.get $i)) (v128.const f32x4 0.999 1.001 0.998 1.002))
                                 (v128.const f32x4 0.25 -0.5 0.75 -1.25)))
        (local.set $v (f32x4.max (f32x4.min (f32x4.nearest (local.get $v)) (v128.const f32x4 1e3 1e3 1e3 1e3))
                                 (v128.const f32x4 -1e3 -1e3 -1e3 -1e3)))
        (local.set $wide (f64x2.div (f64x2.promote_low_f32x4 (local.get $v)) (v128.const f64x2 3 -7)))
        (local.set $v (f32x4.add (local.get $v)
                                 (f32x4.demote_f64x2_zero (f64x2.sqrt (f64x2.abs (local.get $wide))))))
        (v128.store (local.get $i) (local.get $v))
        (local.set $acc (i32x4.add (local.get $acc) (i32x4.trunc_sat_f32x4_s (local.get $v))))
        (br_if $lanes (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (i32.const 16384))))
      (br_if $pass (local.tee $passes (i32.sub (local.get $passes) (i32.const 1)))))
    (i32.add (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
             (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
"""


def _instance(module_name: str, strategy: str | None):
    """The kernel instantiated by ``module_name``'s embedding API (vmstack.wasm or wasmtime), its
    memory filled and one pass run; and the seconds that took."""
    api = importlib.import_module(module_name)
    if strategy is None:
        engine = api.Engine()
    else:
        config = api.Config()
        config.strategy = strategy
        engine = api.Engine(config)
    store = api.Store(engine)
    started = time.perf_counter()
    exports = api.Instance(store, api.Module(engine, KERNEL), []).exports(store)
    exports["init"](store)
    exports["run"](store, 1)  # compiled by now, whatever the strategy
    return store, exports, time.perf_counter() - started


def _timed(module_name: str, strategy: str | None, passes: int, runs: int) -> tuple[float, int, float]:
    """(median seconds of ``passes`` passes, the checksum, seconds the first run took to set up and
    compile: later runs in this process reuse its code)."""
    times, checksums, setups = [], set(), []
    for _ in range(runs):
        store, exports, setup = _instance(module_name, strategy)
        setups.append(setup)
        exports["init"](store)
        started = time.perf_counter()
        checksums.add(exports["run"](store, passes))
        times.append(time.perf_counter() - started)
    if len(checksums) != 1:
        raise RuntimeError(f"{module_name} {strategy}: checksums differ between runs: {checksums}")
    return statistics.median(times), checksums.pop(), setups[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=2000, help="passes over the 4096 lanes (default 2000)")
    parser.add_argument("--interp-passes", type=int, default=2, help="passes for the interpreter (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="runs per runner, the median is kept (default 3)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["VMSTACK_CACHE"] = cache  # a cold compile, kept out of the user's cache
        jit, jit_sum, jit_setup = _timed("vmstack.wasm", "jit", opts.passes, opts.runs)
    wasmtime, wasmtime_sum, _ = _timed("wasmtime", None, opts.passes, opts.runs)
    interp, interp_sum, _ = _timed("vmstack.wasm", "interp", opts.interp_passes, 1)
    _, jit_short_sum, _ = _timed("vmstack.wasm", "jit", opts.interp_passes, 1)
    if jit_sum != wasmtime_sum or interp_sum != jit_short_sum:
        print(f"checksums differ: jit {jit_sum}, wasmtime {wasmtime_sum}; at {opts.interp_passes} passes "
              f"jit {jit_short_sum}, interp {interp_sum}")
        return 1
    interp_scaled = interp * opts.passes / opts.interp_passes
    print(f"{opts.passes} passes over 4096 f32 lanes, checksum {jit_sum} in every runner\n")
    print("| runner | time | vs vmstack jit |\n|---|---|---|")
    print(f"| vmstack jit | {jit:.3f} s | 1.00x |")
    print(f"| wasmtime-py | {wasmtime:.3f} s | {wasmtime / jit:.2f}x |")
    print(f"| vmstack interp | ~{interp_scaled:.0f} s | ~{interp_scaled / jit:,.0f}x |")
    print(f"\nvmstack jit: instantiation with a cold compile at O2 took {jit_setup:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
