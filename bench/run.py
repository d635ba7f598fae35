"""Benchmark vmstack against its peers, side by side in one run.

Builds the kernels (guests/{fib,sieve,nbody,sha256}.c) natively with gcc -O2 and for wasm32-wasi, runs
each several times under native, `vmstack run`, pywasm and wasmtime-py, checks every run's output
against the native one, and reports median wall times and ratios: a Markdown table printed and written
to bench/results.md, and a bar chart (log scale) in bench/results.png.

    python3 bench/run.py [--runs N] [--pywasm-seconds S] [--kernels fib,sieve] [--runners native,vmstack]

Kernel sizes are not fixed: each kernel is first run at a small probe size under pywasm (the slowest
runner), its time per unit of work measured, and the size chosen so a pywasm run takes about
--pywasm-seconds (default 12, at most 60). Slow cells get fewer runs (--cell-budget). The report also
has the cost of one call of a trivial exported function from Python, in vmstack.wasm and wasmtime-py.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PYTHON = sys.executable
GOLDEN_RATIO = (1 + math.sqrt(5)) / 2


@dataclass(frozen=True)
class Kernel:
    """A kernel's size argument: the probe size calibration starts from, and how work grows with size."""

    probe: int
    work: Callable[[float], float]  # relative amount of work at a size
    minimum: int = 1

    def size_for(self, work: float) -> int:
        """The largest size whose work is at most `work` (by bisection; work is increasing)."""
        low, high = self.minimum, self.minimum
        while self.work(high) < work:
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self.work(middle) <= work else (low, middle)
        return low


KERNELS = {
    "fib": Kernel(probe=16, work=lambda n: GOLDEN_RATIO ** n),  # recursive fib: calls grow like phi^n
    "sieve": Kernel(probe=20000, work=lambda n: n, minimum=1000),  # n log log n, close enough to n
    "nbody": Kernel(probe=200, work=lambda n: n),  # steps
    "sha256": Kernel(probe=2, work=lambda n: n),  # KiB hashed
}
KERNEL_ARGS: dict[str, list[str]] = {}
"""The sizes chosen by calibration, filled in by `main`."""


def _load_guest_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("guest_build", ROOT / "guests" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _pywasm_command(wasm: Path, args: list[str]) -> list[str]:
    return [PYTHON, "-m", "pywasm", "--wasi", "preview1", *(f"--wasi-args={arg}" for arg in args), str(wasm)]


RUNNERS = {
    "native": lambda native, wasm, args: [str(native), *args],
    "vmstack": lambda native, wasm, args: [PYTHON, "-m", "vmstack", "run", str(wasm), *args],
    "pywasm": lambda native, wasm, args: _pywasm_command(wasm, args),
    "wasmtime": lambda native, wasm, args: [PYTHON, str(BENCH_DIR / "wasmtime_runner.py"), str(wasm), *args],
}
# (numerator, denominator, column title): how many times slower the first is than the second.
RATIOS = [("pywasm", "vmstack", "pywasm / vmstack"), ("vmstack", "wasmtime", "vmstack / wasmtime"),
          ("vmstack", "native", "vmstack / native")]


@dataclass
class Measurement:
    """The median wall time of one runner on one kernel, or why it failed."""

    seconds: float | None
    failure: str = ""
    runs: int = 0

    def cell(self) -> str:
        if self.seconds is None:
            return f"n/a ({self.failure})" if self.failure.startswith("unsupported") else "failed"
        return f"{self.seconds:.3f} s ({self.runs})"


def measure(command: list[str], expected_output: str, runs: int, timeout: float,
            budget: float = float("inf")) -> Measurement:
    """Run `command` up to `runs` times, each run's output checked, and return the median wall time;
    after the first run, only as many runs as fit in `budget` seconds (at least one)."""
    times: list[float] = []
    while len(times) < runs and (not times or len(times) < max(1, budget // times[0])):
        start = time.perf_counter()
        try:
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                                    check=False)
        except subprocess.TimeoutExpired:
            return Measurement(None, f"timed out after {timeout:g} s")
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            last_line = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
            return Measurement(None, f"exit status {result.returncode}: {last_line}")
        if result.stdout != expected_output:
            return Measurement(None, f"wrong output: {result.stdout[:200]!r}")
        times.append(elapsed)
    return Measurement(statistics.median(times), runs=len(times))


def calibrate(kernel: str, runner: str, seconds: float, timeout: float, builder: ModuleType) -> tuple[int, str]:
    """Choose `kernel`'s size so one run under `runner` takes about `seconds`.

    Runs the probe size (doubled in work until the run lasts long enough to time), and a trivial size
    for the runner's start-up cost; returns (size, note) or raises RuntimeError if the runner fails."""
    spec = KERNELS[kernel]
    native, wasm = builder.build(kernel, "host"), builder.build(kernel, "wasm32-wasi")

    def timed(size: int) -> float:
        args = [str(size)]
        reference = subprocess.run([str(native), *args], capture_output=True, text=True, check=True).stdout
        result = measure(RUNNERS[runner](native, wasm, args), reference, 1, timeout)
        if result.seconds is None:
            raise RuntimeError(result.failure)
        return result.seconds

    start_up = timed(spec.minimum)
    size = spec.probe
    while True:
        elapsed = timed(size)
        if elapsed - start_up >= min(2.0, seconds / 4) or elapsed > seconds / 2:
            break
        size = spec.size_for(spec.work(size) * 4)
    per_work = max(elapsed - start_up, 1e-3) / spec.work(size)
    chosen = max(spec.minimum, spec.size_for(max(seconds - start_up, 0) / per_work))
    note = (f"{runner}: start-up {start_up:.2f} s, size {size} took {elapsed:.2f} s, "
            f"so size {chosen} for about {seconds:g} s")
    return chosen, note


def run_kernel(kernel: str, runners: list[str], runs: int, timeout: float,
               builder: ModuleType, budget: float = float("inf")) -> dict[str, Measurement]:
    native, wasm = builder.build(kernel, "host"), builder.build(kernel, "wasm32-wasi")
    args = KERNEL_ARGS[kernel]
    reference = subprocess.run([str(native), *args], capture_output=True, text=True, check=True).stdout
    results = {}
    for runner in runners:
        print(f"  {kernel} {' '.join(args)}: {runner} ...", end="", flush=True)
        results[runner] = measure(RUNNERS[runner](native, wasm, args), reference, runs, timeout, budget)
        print(f" {results[runner].cell()} {results[runner].failure}", flush=True)
    return results


def _ratio(results: dict[str, Measurement], numerator: str, denominator: str) -> str:
    top, bottom = results.get(numerator), results.get(denominator)
    if not top or not bottom or top.seconds is None or bottom.seconds is None or bottom.seconds == 0:
        return "n/a"
    return f"{top.seconds / bottom.seconds:.1f}x"


def markdown_table(table: dict[str, dict[str, Measurement]], runners: list[str]) -> str:
    ratios = [(top, bottom, title) for top, bottom, title in RATIOS if top in runners and bottom in runners]
    header = ["kernel", "args", *runners, *(title for _, _, title in ratios)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for kernel, results in table.items():
        cells = [kernel, " ".join(KERNEL_ARGS[kernel]), *(results[runner].cell() for runner in runners),
                 *(_ratio(results, top, bottom) for top, bottom, _ in ratios)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    load = ", ".join(f"{average:.1f}" for average in os.getloadavg())
    return (f"{cpu} ({os.cpu_count()} CPUs, load average {load} at the end), {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


CALL_MODULE = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def call_cost(module_name: str, calls: int = 20000, batches: int = 7) -> float:
    """Microseconds per call, from Python, of a trivial exported wasm function (i32 add) in `module_name`
    (vmstack.wasm or wasmtime, the same API shape): the median over `batches` batches of `calls` calls."""
    api = importlib.import_module(module_name)
    engine = api.Engine()
    store = api.Store(engine)
    instance = api.Instance(store, api.Module(engine, CALL_MODULE), [])
    add = instance.exports(store)["add"]
    if add(store, 2, 3) != 5:
        raise RuntimeError(f"{module_name}: add(2, 3) != 5")
    per_call = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            add(store, 1, 2)
        per_call.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(per_call)


def write_report(table: dict[str, dict[str, Measurement]], runners: list[str], runs: int, budget: float,
                 notes: list[str], calls: dict[str, str]) -> str:
    failures = [f"- {kernel} under {runner}: {result.failure}" for kernel, results in table.items()
                for runner, result in results.items() if result.failure]
    report = "\n".join([
        "# vmstack benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} by `python3 bench/run.py` on {_machine()}.",
        f"Each cell is the median wall time of up to {runs} runs (the number in parentheses; slow cells",
        f"get as many as fit in {budget:g} s), process start-up included: native is the gcc -O2 build,",
        "the three wasm runners are Python processes running the clang wasm32-wasi -O2 build.",
        "Every run's output was checked against the native build's. Ratios are time over time:",
        "`pywasm / vmstack` is vmstack's speedup over pywasm; the others say how many times slower",
        "vmstack is than wasmtime-py and than native code.",
        "",
        markdown_table(table, runners),
        "",
        "Sizes (the kernels' argument) were calibrated in this run:",
        "",
        *(f"- {note}" for note in notes),
        *(["", "Failures:", *failures] if failures else []),
        "",
        "## Calling a wasm function from Python",
        "",
        "One call of a trivial exported function (`i32.add` of two arguments) from Python, through the",
        "same API shape (`instance.exports(store)[\"add\"](store, 1, 2)`), median of 7 batches of 20000 calls:",
        "",
        "| runtime | µs per call |",
        "|---|---|",
        *(f"| {name} | {cost} |" for name, cost in calls.items()),
        "",
    ])
    (BENCH_DIR / "results.md").write_text(report)
    return report


def log_bar_chart(path: Path, groups: list[str], bars: dict[str, list[float]], ylabel: str, title: str,
                  size: tuple[float, float] = (9, 5)) -> None:
    """Write to ``path`` a PNG of bars on a log scale: one group of bars per label of ``groups``, one bar in
    each group per series of ``bars`` (its values in the order of ``groups``; 0 for no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(len(bars), 1)
    figure, axes = plt.subplots(figsize=size, layout="constrained")
    for index, (label, heights) in enumerate(bars.items()):
        positions = [k + (index - (len(bars) - 1) / 2) * width for k in range(len(groups))]
        axes.bar(positions, heights, width, label=label)
    axes.set_yscale("log")
    axes.set_xticks(range(len(groups)), groups)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    figure.legend(loc="outside lower center", ncols=len(bars))
    figure.savefig(path, dpi=120)


def plot(table: dict[str, dict[str, Measurement]], runners: list[str]) -> None:
    kernels = list(table)
    log_bar_chart(BENCH_DIR / "results.png", [f"{k} {' '.join(KERNEL_ARGS[k])}" for k in kernels],
                  {runner: [table[kernel][runner].seconds or 0 for kernel in kernels] for runner in runners},
                  "median wall time (s, log scale)",
                  "vmstack and its peers on the guest kernels (failed runs have no bar)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="most runs per cell (default 5)")
    parser.add_argument("--cell-budget", type=float, default=30,
                        help="seconds of runs per cell after the first run (default 30): slow cells get fewer")
    parser.add_argument("--pywasm-seconds", type=float, default=12,
                        help="target time of one pywasm run, which picks the sizes (default 12, at most 60)")
    parser.add_argument("--kernels", default=",".join(KERNELS), help="comma-separated kernels")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="comma-separated runners")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per run (default 300)")
    opts = parser.parse_args(argv)
    kernels, runners = opts.kernels.split(","), opts.runners.split(",")
    unknown = [name for name in kernels if name not in KERNELS] + [name for name in runners if name not in RUNNERS]
    if unknown or opts.runs < 1 or not 0 < opts.pywasm_seconds <= 60:
        parser.error(f"unknown kernels or runners: {unknown}" if unknown
                     else "--runs must be at least 1 and --pywasm-seconds in (0, 60]")
    builder = _load_guest_builder()
    notes, table = [], {}
    try:
        for kernel in kernels:
            try:
                size, note = calibrate(kernel, "pywasm", opts.pywasm_seconds, opts.timeout, builder)
            except RuntimeError as error:
                # pywasm cannot run it: size it for vmstack instead, a tenth of the time.
                size, note = calibrate(kernel, "vmstack", opts.pywasm_seconds / 10, opts.timeout, builder)
                note += f" (pywasm failed: {error})"
            KERNEL_ARGS[kernel] = [str(size)]
            notes.append(f"{kernel}: {note}")
            print(f"{kernel}: {note}", flush=True)
            table[kernel] = run_kernel(kernel, runners, opts.runs, opts.timeout, builder, opts.cell_budget)
    except builder.BuildError as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        return 1
    calls = {}
    for label, module_name in (("vmstack (vmstack.wasm)", "vmstack.wasm"), ("wasmtime-py", "wasmtime")):
        try:
            calls[label] = f"{call_cost(module_name):.2f}"
        except Exception as error:  # noqa: BLE001 - a runtime without this API: report why, measure the rest
            calls[label] = f"n/a ({type(error).__name__}: {error})"
    print(write_report(table, runners, opts.runs, opts.cell_budget, notes, calls))
    plot(table, runners)
    print(f"wrote {BENCH_DIR / 'results.md'} and {BENCH_DIR / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
