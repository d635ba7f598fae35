"""Benchmark vmstack against its peers, side by side in one run.

Builds the kernels (guests/{fib,sieve,nbody,sha256}.c) natively with gcc -O2 and for wasm32-wasi, runs
each several times under native, `vmstack run`, pywasm and wasmtime-py, checks every run's output
against the native one, and reports median wall times and ratios: a Markdown table printed and written
to bench/results.md, and a bar chart (log scale) in bench/results.png.

    python3 bench/run.py [--runs N] [--kernels fib,sieve] [--runners native,vmstack] [--timeout S]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# Sizes picked so that pywasm, the slowest peer, takes at most about 15 s per run.
KERNEL_ARGS = {"fib": ["24"], "sieve": ["100000"], "nbody": ["4000"], "sha256": ["32"]}
PYTHON = sys.executable


def _load_guest_builder():
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
RATIOS = [("vmstack", "native", "vmstack / native"), ("pywasm", "vmstack", "pywasm / vmstack"),
          ("vmstack", "wasmtime", "vmstack / wasmtime")]


@dataclass
class Measurement:
    """The median wall time of one runner on one kernel, or why it failed."""

    seconds: float | None
    failure: str = ""

    def cell(self) -> str:
        return f"{self.seconds:.3f} s" if self.seconds is not None else "failed"


def measure(command: list[str], expected_output: str, runs: int, timeout: float) -> Measurement:
    """Run `command` `runs` times, each run's output checked; return the median wall time."""
    times = []
    for _ in range(runs):
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
    return Measurement(statistics.median(times))


def run_kernel(kernel: str, runners: list[str], runs: int, timeout: float, builder) -> dict[str, Measurement]:
    native, wasm = builder.build(kernel, "host"), builder.build(kernel, "wasm32-wasi")
    args = KERNEL_ARGS[kernel]
    reference = subprocess.run([str(native), *args], capture_output=True, text=True, check=True).stdout
    results = {}
    for runner in runners:
        print(f"  {kernel} {' '.join(args)}: {runner} ...", end="", flush=True)
        results[runner] = measure(RUNNERS[runner](native, wasm, args), reference, runs, timeout)
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
    return f"{cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_report(table: dict[str, dict[str, Measurement]], runners: list[str], runs: int) -> str:
    failures = [f"- {kernel} under {runner}: {result.failure}" for kernel, results in table.items()
                for runner, result in results.items() if result.failure]
    report = "\n".join([
        "# vmstack benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} by `python3 bench/run.py` on {_machine()}.",
        f"Median wall time of {runs} runs per cell, process start-up included (the three wasm runners",
        "are all Python processes); ratios say how many times slower the first is than the second.",
        "Every run's output was checked against the native build's.",
        "",
        markdown_table(table, runners),
        *(["", "Failures:", *failures] if failures else []),
        "",
    ])
    (BENCH_DIR / "results.md").write_text(report)
    return report


def plot(table: dict[str, dict[str, Measurement]], runners: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kernels = list(table)
    width = 0.8 / len(runners)
    figure, axes = plt.subplots(figsize=(9, 5))
    for index, runner in enumerate(runners):
        positions = [k + (index - (len(runners) - 1) / 2) * width for k in range(len(kernels))]
        seconds = [table[kernel][runner].seconds or 0 for kernel in kernels]
        axes.bar(positions, seconds, width, label=runner)
    axes.set_yscale("log")
    axes.set_xticks(range(len(kernels)), [f"{k} {' '.join(KERNEL_ARGS[k])}" for k in kernels])
    axes.set_ylabel("median wall time (s, log scale)")
    axes.set_title("vmstack and its peers on the guest kernels (failed runs have no bar)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(BENCH_DIR / "results.png", dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (default 3)")
    parser.add_argument("--kernels", default=",".join(KERNEL_ARGS), help="comma-separated kernels")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="comma-separated runners")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per run (default 300)")
    opts = parser.parse_args(argv)
    kernels, runners = opts.kernels.split(","), opts.runners.split(",")
    unknown = [name for name in kernels if name not in KERNEL_ARGS] + [name for name in runners if name not in RUNNERS]
    if unknown or opts.runs < 1:
        parser.error(f"unknown kernels or runners: {unknown}" if unknown else "--runs must be at least 1")
    builder = _load_guest_builder()
    try:
        table = {kernel: run_kernel(kernel, runners, opts.runs, opts.timeout, builder) for kernel in kernels}
    except builder.BuildError as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        return 1
    print(write_report(table, runners, opts.runs))
    plot(table, runners)
    print(f"wrote {BENCH_DIR / 'results.md'} and {BENCH_DIR / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
