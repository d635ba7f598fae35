"""Benchmark vmstack's compiled tier (vmstack.jit) side by side with native code, wasmtime and
vmstack's interpreter, in one run.

The kernels (guests/{fib,sieve,nbody,sha256}.c) and the sqlite3 shell running its query workload
are built natively with gcc -O2 and clang -O2 and for wasm32-wasi (clang -O2). Kernel sizes are
chosen so a gcc -O2 run takes about --native-seconds. Every runner's output is checked against the
gcc build's. The interpreter is far too slow for those sizes: it runs each kernel at a size for
about --interp-seconds, and its time at the full size is extrapolated from the work ratio (marked
"~" in the table). Also measured: the compile time of each module (cold cache, whole module, O2)
and the cost of one call of a trivial export from Python. Writes bench/jit_results.md and .png.

    python3 bench/jit.py [--runs N] [--native-seconds S] [--kernels fib,sieve,...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import BENCH_DIR, KERNELS, PYTHON, ROOT, _load_guest_builder, _machine, call_cost, log_bar_chart

RUNNERS = ["gcc -O2", "clang -O2", "wasmtime", "wasm3", "vmstack jit", "vmstack interp"]
# The Python runners (vmstack, wasmtime-py) start as an installed Python does, from cached bytecode:
# with PYTHONDONTWRITEBYTECODE set, every run would compile vmstack's modules from source again
# (0.2 s of each run here, against a few hundredths for wasmtime-py's smaller Python part).
RUN_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "PYTHONPYCACHEPREFIX": str(Path.home() / ".cache" / "vmstack" / "pycache")}


def _clang_build(builder, name: str) -> Path:
    """The guest built natively with clang -O2 (cached beside the gcc build)."""
    gcc_build = builder.build(name, "host")
    target = gcc_build.with_name(gcc_build.stem + "-clang.elf")
    if not target.exists():
        recipe = builder.RECIPES[name]
        sources, flags = recipe.sources(), [*recipe.flags, *recipe.native_flags]
        subprocess.run(["clang", "-O2", "-ffp-contract=off", "-w", *flags, *map(str, sources), "-o", str(target),
                        "-lm"], check=True, capture_output=True)
    return target


def _command(runner: str, native: Path, clang: Path, wasm: Path, args: list[str]) -> list[str] | None:
    return {
        "gcc -O2": [str(native), *args],
        "clang -O2": [str(clang), *args],
        "wasmtime": [PYTHON, str(BENCH_DIR / "wasmtime_runner.py"), str(wasm), *args],
        "vmstack jit": [PYTHON, "-m", "vmstack", "run", "--engine", "jit", str(wasm), *args],
        "vmstack interp": [PYTHON, "-m", "vmstack", "run", str(wasm), *args],
    }.get(runner)


def _timed(command: list[str], stdin: Path | None, expected: str | None) -> tuple[float, str, float]:
    """(wall seconds, output, CPU seconds: user and system) of one run."""
    with open(stdin or "/dev/null", "rb") as source:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=RUN_ENV, stdin=source, capture_output=True,
                                timeout=1800, check=False)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = result.stdout.decode(errors="replace")
    if result.returncode != 0 or (expected is not None and output != expected):
        raise RuntimeError(f"{command[0]}: status {result.returncode}, output {output[:120]!r}")
    return elapsed, output, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def _median(command: list[str], runs: int, stdin: Path | None, expected: str) -> float:
    return statistics.median(_timed(command, stdin, expected)[0] for _ in range(runs))


def _interleaved(commands: dict[str, list[str]], runs: int, stdin: Path | None, expected: str,
                 cpu: dict[str, float]) -> dict[str, tuple[float | None, str]]:
    """(median wall time, "") of each command, or (None, the error), and in ``cpu`` its median CPU
    time: the runs are taken in rounds of one run of each, so that a change of load on a shared
    machine falls on all of them alike."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    failed: dict[str, str] = {}
    for _ in range(runs):
        for name, command in commands.items():
            if name not in failed:
                try:
                    wall, _, cpu_seconds = _timed(command, stdin, expected)
                    times[name].append((wall, cpu_seconds))
                except RuntimeError as error:
                    failed[name] = str(error)
    cpu.update({name: statistics.median(c for _, c in taken) for name, taken in times.items()
                if name not in failed})
    return {name: (None, failed[name]) if name in failed else (statistics.median(w for w, _ in taken), "")
            for name, taken in times.items()}


def _size_for(builder, kernel: str, seconds: float, runner_cmd, startup: float = 0.0) -> int:
    """The kernel size for which ``runner_cmd(size)`` computes for about ``seconds`` (beyond the
    ``startup`` seconds of a process that does next to nothing)."""
    spec = KERNELS[kernel]
    size = spec.probe
    while True:
        elapsed = _timed(runner_cmd(size), None, None)[0] - startup
        if elapsed > min(0.5, seconds / 4):
            break
        size = spec.size_for(spec.work(size) * 4)
    return max(spec.minimum, spec.size_for(spec.work(size) * seconds / elapsed))


def compile_seconds(wasm: Path, workload: tuple[list[str], Path] | None = None) -> float:
    """Seconds to lower and compile a whole module at O2 with an empty cache; for a module too big to
    be compiled whole (sqlite3), the seconds of a first run of its workload with an empty cache, in
    which each function is compiled at its first call."""
    with tempfile.TemporaryDirectory() as cache:
        if workload is not None:
            args, stdin = workload
            command = [PYTHON, "-m", "vmstack", "run", "--engine", "jit", str(wasm), *args]
            with open(stdin, "rb") as source:
                start = time.perf_counter()
                subprocess.run(command, cwd=ROOT, env={**RUN_ENV, "VMSTACK_CACHE": cache}, stdin=source,
                               capture_output=True, check=True)
                return time.perf_counter() - start
        code = ("import sys, time; from vmstack.wasm.binary import decode_module;"
                "from vmstack.jit.wasm_link import load_code;"
                "m = decode_module(open(sys.argv[1], 'rb').read()); t = time.perf_counter();"
                "load_code(m, False, 2); print(time.perf_counter() - t)")
        env = {**os.environ, "VMSTACK_CACHE": cache, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([PYTHON, "-c", code, str(wasm)], env=env, capture_output=True, text=True,
                                check=True)
        return float(result.stdout)


def jit_call_cost() -> float:
    """µs per call from Python of a trivial export compiled by vmstack.jit."""
    import vmstack.wasm as api

    original = api.Engine.__init__

    def jit_engine(self, config=None):
        config = config or api.Config()
        config.strategy = "jit"
        original(self, config)
    api.Engine.__init__ = jit_engine
    try:
        return call_cost("vmstack.wasm")
    finally:
        api.Engine.__init__ = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--native-seconds", type=float, default=1.0)
    parser.add_argument("--interp-seconds", type=float, default=8.0)
    parser.add_argument("--kernels", default="fib,sieve,nbody,sha256,sqlite3")
    opts = parser.parse_args(argv)
    builder = _load_guest_builder()
    rows, cpu_rows, compile_times, scaling = {}, {}, {}, {}
    for kernel in opts.kernels.split(","):
        native, wasm, clang = builder.build(kernel, "host"), builder.build(kernel, "wasm32-wasi"), \
            _clang_build(builder, kernel)
        workload = builder.WORKLOADS.get(kernel)
        compile_times[kernel] = compile_seconds(wasm, workload)
        args, stdin = workload or (["1"], None)
        for _ in range(2):  # warm the caches: vmstack jit's first run compiles, its second links the shared
            for runner in ("vmstack jit", "wasmtime"):  # libraries; wasmtime's first run fills its cache
                _timed(_command(runner, native, clang, wasm, args), stdin, None)
        if workload:
            expected = _timed([str(native), *args], stdin, None)[1]
            commands = {runner: _command(runner, native, clang, wasm, args) for runner in RUNNERS}
            timed = {runner: command for runner, command in commands.items()
                     if command and "interp" not in runner}
            row = {runner: (None, "pywasm3 has no WASI") for runner in RUNNERS if not commands[runner]}
            row.update(_interleaved(timed, opts.runs, stdin, expected,
                                    cpu_rows.setdefault(f"{kernel} workload", {})))
            row.update(_interleaved({"vmstack interp": commands["vmstack interp"]}, 1, stdin, expected, {}))
            rows[f"{kernel} workload"] = {runner: row[runner] for runner in RUNNERS}
            print(kernel, {r: v[0] for r, v in row.items()}, flush=True)
            continue
        size = _size_for(builder, kernel, opts.native_seconds, lambda n, native=native: [str(native), str(n)])
        spec = KERNELS[kernel]
        expected = _timed([str(native), str(size)], None, None)[1]
        commands = {runner: _command(runner, native, clang, wasm, [str(size)]) for runner in RUNNERS}
        row = {runner: (None, "pywasm3 has no WASI") for runner in RUNNERS if not commands[runner]}
        row.update(_interleaved({runner: command for runner, command in commands.items()
                                 if command and "interp" not in runner}, opts.runs, None, expected,
                                cpu_rows.setdefault(f"{kernel} {size}", {})))
        interp = commands["vmstack interp"]
        # start-up is not scaled with the work: only the computing is (at the probe size a
        # kernel does next to nothing; fib's work grows exponentially with its size)
        startup = statistics.median(_timed(interp[:-1] + [str(spec.probe)], None, None)[0]
                                    for _ in range(opts.runs))
        small = _size_for(builder, kernel, opts.interp_seconds,
                          lambda n, interp=interp: interp[:-1] + [str(n)], startup)
        small_expected = _timed([str(native), str(small)], None, None)[1]
        seconds = _median(interp[:-1] + [str(small)], 1, None, small_expected)
        extrapolated = startup + (seconds - startup) * spec.work(size) / spec.work(small)
        row["vmstack interp"] = (extrapolated, f"~ from size {small}")
        gcc_small = _median([str(native), str(small)], opts.runs, None, small_expected)
        scaling[kernel] = (small, seconds / gcc_small, extrapolated / row["gcc -O2"][0])
        rows[f"{kernel} {size}"] = {runner: row[runner] for runner in RUNNERS}
        print(kernel, size, {r: v[0] for r, v in row.items()}, flush=True)
    calls = {"vmstack jit": jit_call_cost(), "vmstack interp": call_cost("vmstack.wasm"),
             "wasmtime-py": call_cost("wasmtime")}
    report = _report(rows, cpu_rows, compile_times, calls, scaling, opts)
    (BENCH_DIR / "jit_results.md").write_text(report)
    _plot(rows)
    print(report)
    return 0


def _cell(value: tuple[float | None, str]) -> str:
    seconds, note = value
    if seconds is None:
        return f"n/a ({note})"
    return f"~{seconds:.1f} s" if note.startswith("~") else f"{seconds:.3f} s"


def _ratio(row: dict, top: str, bottom: str) -> str:
    a, b = row[top][0], row[bottom][0]
    return f"{a / b:.2f}x" if a and b else "n/a"


def _report(rows: dict, cpu_rows: dict, compile_times: dict, calls: dict, scaling: dict,
            opts: argparse.Namespace) -> str:
    header = ["kernel", *RUNNERS, "jit / wasmtime", "jit / gcc", "interp / jit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in rows.items():
        lines.append("| " + " | ".join([name, *(_cell(row[r]) for r in RUNNERS),
                                        _ratio(row, "vmstack jit", "wasmtime"), _ratio(row, "vmstack jit", "gcc -O2"),
                                        _ratio(row, "vmstack interp", "vmstack jit")]) + " |")
    return "\n".join([
        "# vmstack compiled tier: benchmark results", "",
        f"Measured by `python3 bench/jit.py` on {_machine()}.",
        f"Median wall time of {opts.runs} runs (process start-up included; vmstack jit with its compiled",
        "code already in the disk cache, as on a second run). `~` marks the interpreter's time",
        "extrapolated from a smaller size (its start-up, measured at a size of next to no work, is not",
        "scaled). wasm3: pywasm3 (PyPI) installs but has no WASI, so it cannot",
        "run these programs.", "",
        *lines, "",
        "## CPU time", "",
        "Median CPU seconds (user and system, all threads) of the same runs: on a machine shared with",
        "other jobs, the time each runner was actually given.", "",
        "| kernel | gcc -O2 | wasmtime | vmstack jit | jit / wasmtime |", "|---|---|---|---|---|",
        *(f"| {k} | {c.get('gcc -O2', 0):.3f} s | {c.get('wasmtime', 0):.3f} s | "
          f"{c.get('vmstack jit', 0):.3f} s | {c['vmstack jit'] / c['wasmtime']:.2f}x |"
          for k, c in cpu_rows.items() if c.get("wasmtime") and c.get("vmstack jit")), "",
        "## Compile time (whole module, O2, cold cache; sqlite3: its first run, compiling each function",
        "at its first call)", "",
        "| module | seconds |", "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in compile_times.items()), "",
        "## The interpreter's size", "",
        "The interpreter's time at full size is extrapolated linearly from the size it ran. Native code",
        "need not scale so: interp / gcc at the interpreter's size (both measured) against the same ratio",
        "at full size (extrapolated) shows where the full-size native run is bound by memory, not by",
        "computation (its time per unit of work grows with the size).", "",
        "| kernel | interpreter's size | interp / gcc there | interp / gcc at full size |",
        "|---|---|---|---|",
        *(f"| {k} | {n} | {a:.0f}x | {b:.0f}x |" for k, (n, a, b) in scaling.items()), "",
        "## Calling a wasm function from Python", "",
        "| runtime | µs per call |", "|---|---|",
        *(f"| {k} | {v:.2f} |" for k, v in calls.items()), "",
    ])


def _plot(rows: dict) -> None:
    log_bar_chart(BENCH_DIR / "jit_results.png", list(rows),
                  {runner: [row[runner][0] or 0 for row in rows.values()] for runner in RUNNERS},
                  "median wall time (s, log scale)",
                  "vmstack jit beside native code, wasmtime and vmstack's interpreter", size=(10, 5))


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    sys.exit(main())
