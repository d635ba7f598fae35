"""Benchmark the process VM against its peers, side by side in one run.

The kernels (guests/{fib,sieve,nbody,sha256}.c) are built for riscv64 on the bare runtime of
guests/riscv/bare/ (no libc, only the write and exit system calls: tinyrv, the fastest pure-Python
RISC-V emulator on PyPI, offers a user environment no larger than that, and no pure-Python peer runs
glibc programs), and natively with gcc -O2 for reference. Each runs several times under native,
qemu-riscv64, `vmstack run` and tinyrv; every run's output is checked against the native one. The
report gives median wall times, guest MIPS and ratios: a Markdown table printed and written to
bench/riscv/results.md, and a bar chart of MIPS (log scale) in bench/riscv/results.png.

    python3 bench/riscv/run.py [--runs N] [--vmstack-seconds S] [--kernels fib,sieve] [--runners ...]

Instruction counts come from qemu-riscv64 itself: run with one instruction per translation block and
every block execution logged, the log has one line per guest instruction. Guest MIPS is the count
over the run's median CPU time (user + system: the machines are shared) less the runner's start-up
(its median CPU time on the kernel's smallest size, whose instructions are subtracted too), so it
measures the emulator, not Python's start-up.
Sizes are calibrated in the run so one vmstack run takes about --vmstack-seconds (default 3) beyond
its start-up, long enough to time; the slower peers take longer.
punxa, the other pure-Python peer, is listed but cannot run: its PyPI wheel (2025.1) ships bus,
memory, CSR and FPU models but no processor.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import resource
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

RISCV_BENCH_DIR = Path(__file__).resolve().parent
ROOT = RISCV_BENCH_DIR.parents[1]
PYTHON = sys.executable
QEMU = shutil.which("qemu-riscv64") or "qemu-riscv64"
TINYRV = "import sys; from tinyrv.user import run_elf; sys.exit(run_elf())"
PUNXA_REASON = "unsupported: punxa's PyPI wheel (2025.1) has no processor model"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wasm_bench = _load("wasm_bench", ROOT / "bench" / "run.py")
"""bench/run.py: measure(), Measurement, the kernels' size models and the machine description are shared."""


@dataclass
class Timing(wasm_bench.Measurement):
    """A Measurement (median wall time) that also has the median CPU time (user + system) of the runs."""

    cpu_seconds: float | None = None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

RUNNERS = {
    "native": lambda native, elf, args: [str(native), *args],
    "qemu": lambda native, elf, args: [QEMU, str(elf), *args],
    "vmstack": lambda native, elf, args: [PYTHON, "-m", "vmstack", "run", str(elf), *args],
    "tinyrv": lambda native, elf, args: [PYTHON, "-c", TINYRV, str(elf), *args],
    "punxa": None,
}
EMULATORS = ("qemu", "vmstack", "tinyrv", "punxa")
"""The runners that execute the riscv64 build (so have a guest MIPS)."""
# (numerator, denominator, column title): how many times faster the first is than the second, in MIPS.
RATIOS = [("vmstack", "tinyrv", "vmstack / tinyrv"), ("qemu", "vmstack", "qemu / vmstack")]


def instruction_count(elf: Path, args: list[str]) -> int:
    """Guest instructions retired by `elf ARGS`, counted by qemu-riscv64 with one instruction per
    translation block, chaining off and each block's execution logged: one log line per instruction."""
    command = [QEMU, "-singlestep", "-d", "nochain,exec", "-D", "/dev/stderr", str(elf), *args]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT) as process:
        count = sum(1 for line in process.stderr if line.startswith(b"Trace "))
    if process.returncode != 0:
        raise RuntimeError(f"counting instructions: qemu-riscv64 exited with {process.returncode}")
    return count


class Kernel:
    """One kernel at one size: its builds, reference output and instruction counts."""

    def __init__(self, name: str, builder: ModuleType) -> None:
        self.name = name
        self.native = builder.build(name, "host")
        self.elf = builder.build(f"{name}-bare", "riscv64")
        self.model = wasm_bench.KERNELS[name]

    def reference(self, size: int) -> str:
        return subprocess.run([str(self.native), str(size)], capture_output=True, text=True, check=True).stdout

    def measure(self, runner: str, size: int, runs: int, timeout: float, budget: float = float("inf")) -> Timing:
        """Up to `runs` runs (after the first, as many as fit in `budget` seconds), each checked by
        bench/run.py's measure; the medians of their wall and CPU times."""
        make_command = RUNNERS[runner]
        if make_command is None:
            return Timing(None, PUNXA_REASON)
        command, reference = make_command(self.native, self.elf, [str(size)]), self.reference(size)
        walls: list[float] = []
        cpus: list[float] = []
        while len(walls) < runs and (not walls or len(walls) < max(1, budget // walls[0])):
            before = _children_cpu()
            run = wasm_bench.measure(command, reference, 1, timeout)
            if run.seconds is None:
                return Timing(None, run.failure)
            walls.append(run.seconds)
            cpus.append(_children_cpu() - before)
        return Timing(statistics.median(walls), runs=len(walls), cpu_seconds=statistics.median(cpus))


def calibrate(kernel: Kernel, seconds: float, timeout: float) -> tuple[int, str]:
    """A size for which one vmstack run takes about `seconds` of CPU time beyond its start-up (or tinyrv ten times
    that, if vmstack fails). The cost of a unit of work is taken between the last two sizes tried, so that
    what a run spends once whatever its size (start-up, and the warm-up of the hot code: interpreting and
    translating it) is not counted as work."""
    model = kernel.model
    for runner, target in (("vmstack", seconds), ("tinyrv", seconds * 10)):
        try:
            start_up = _seconds(kernel.measure(runner, model.minimum, 1, timeout))
            previous, previous_elapsed = model.minimum, start_up
            size = model.probe // 4 or 1
            while True:
                elapsed = _seconds(kernel.measure(runner, size, 1, timeout))
                if elapsed - start_up >= min(2.0, target / 2):
                    break
                previous, previous_elapsed = size, elapsed
                size = model.size_for(model.work(size) * 4)
        except RuntimeError as error:
            failure = f"{runner} failed: {error}"
            continue
        per_work = max(elapsed - previous_elapsed, 1e-3) / max(model.work(size) - model.work(previous), 1e-9)
        fixed = max(previous_elapsed - start_up - per_work * (model.work(previous) - model.work(model.minimum)), 0)
        chosen = max(model.minimum, model.size_for(max(target - fixed, 0) / per_work + model.work(model.minimum)))
        return chosen, (f"{runner}: start-up {start_up:.2f} CPU s, size {previous} took {previous_elapsed:.2f} "
                        f"and size {size} {elapsed:.2f} CPU s, so size {chosen} for about {target:g} CPU s "
                        "beyond start-up")
    raise RuntimeError(failure)


def _seconds(measurement: Timing) -> float:
    """The CPU seconds of a run (calibration is by CPU time too: the machines are shared)."""
    if measurement.cpu_seconds is None:
        raise RuntimeError(measurement.failure)
    return measurement.cpu_seconds


MIN_TIMED = 0.1
"""CPU seconds beyond start-up below which a run is too short to time: its MIPS is a lower bound."""


def mips(full: Timing, start_up: Timing, instructions: int, start_up_instructions: int) -> str:
    """Guest millions of instructions per CPU second beyond start-up; for a run too short to time
    beyond start-up, "> N" with N from the whole run; "n/a" when a run failed."""
    if full.cpu_seconds is None or start_up.cpu_seconds is None:
        return "n/a"
    beyond = full.cpu_seconds - start_up.cpu_seconds
    if beyond < MIN_TIMED:
        return f"> {instructions / max(full.cpu_seconds, 1e-3) / 1e6:.1f}"
    return f"{(instructions - start_up_instructions) / beyond / 1e6:.3f}"


def _rate(text: str) -> float | None:
    """The number in a MIPS cell, None for n/a or a lower bound."""
    try:
        return float(text)
    except ValueError:
        return None


def _ratio(rates: dict[str, str], top: str, bottom: str) -> str:
    numerator, denominator = _rate(rates.get(top, "")), _rate(rates.get(bottom, ""))
    if rates.get(top, "").startswith(">") and denominator:
        return f"> {float(rates[top][2:]) / denominator:.1f}x"
    return f"{numerator / denominator:.1f}x" if numerator and denominator else "n/a"


def markdown_table(rows: list[dict], runners: list[str]) -> str:
    emulators = [runner for runner in EMULATORS if runner in runners]
    ratios = [(top, bottom, title) for top, bottom, title in RATIOS if top in runners and bottom in runners]
    header = ["kernel", "instructions", *(f"{runner} time" for runner in runners),
              *(f"{runner} MIPS" for runner in emulators), *(title for _, _, title in ratios)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        rates = row["mips"]
        cells = [f"{row['kernel']} {row['size']}", f"{row['instructions']:,}",
                 *(row["times"][runner].cell() for runner in runners),
                 *(rates.get(runner, "n/a") for runner in emulators),
                 *(_ratio(rates, top, bottom) for top, bottom, _ in ratios)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(rows: list[dict], runners: list[str], runs: int, budget: float, notes: list[str]) -> str:
    failures = [f"- {row['kernel']} under {runner}: {result.failure}" for row in rows
                for runner, result in row["times"].items() if result.failure]
    report = "\n".join([
        "# vmstack process-VM benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} by `python3 bench/riscv/run.py` on {wasm_bench._machine()}.",
        f"Each time is the median wall time of up to {runs} runs (the number in parentheses; slow cells get",
        f"as many as fit in {budget:g} s), process start-up included. native is the gcc -O2 x86-64 build of",
        "the kernel; the other runners run the same riscv64 build (gcc -O2 on the bare runtime: write and",
        "exit only). Every run's output was checked against the native build's. Instructions are the guest",
        "instructions retired, counted by qemu-riscv64; MIPS is per CPU second (user + system, median) beyond",
        "start-up (the runner's CPU time and instructions on the kernel's smallest size are subtracted);",
        f"'> N' is a lower bound from the whole run, for runs less than {MIN_TIMED:g} CPU s beyond start-up.",
        "Ratios are of MIPS.",
        "",
        markdown_table(rows, runners),
        "",
        "Sizes (the kernels' argument) were calibrated in this run:",
        "",
        *(f"- {note}" for note in notes),
        *(["", "Failures and runners that cannot run the kernels:", *failures] if failures else []),
        "",
    ])
    (RISCV_BENCH_DIR / "results.md").write_text(report)
    return report


def plot(rows: list[dict]) -> None:
    emulators = [runner for runner in EMULATORS if any(runner in row["mips"] for row in rows)]
    wasm_bench.log_bar_chart(
        RISCV_BENCH_DIR / "results.png", [f"{row['kernel']} {row['size']}" for row in rows],
        {runner: [_rate(row["mips"].get(runner, "").lstrip("> ")) or 0 for row in rows] for runner in emulators},
        "guest MIPS per CPU s beyond start-up (log)",
        "riscv64 kernels: guest MIPS (qemu: a lower bound; failed runs have no bar)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="most runs per cell (default 5)")
    parser.add_argument("--cell-budget", type=float, default=30,
                        help="seconds of runs per cell after the first run (default 30): slow cells get fewer")
    parser.add_argument("--vmstack-seconds", type=float, default=3,
                        help="target time of one vmstack run beyond start-up, which picks the sizes "
                             "(default 3, at most 60)")
    parser.add_argument("--kernels", default=",".join(wasm_bench.KERNELS), help="comma-separated kernels")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="comma-separated runners")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per run (default 600)")
    opts = parser.parse_args(argv)
    kernels, runners = opts.kernels.split(","), opts.runners.split(",")
    unknown = [name for name in kernels if name not in wasm_bench.KERNELS] + \
        [name for name in runners if name not in RUNNERS]
    if unknown or opts.runs < 1 or not 0 < opts.vmstack_seconds <= 60:
        parser.error(f"unknown kernels or runners: {unknown}" if unknown
                     else "--runs must be at least 1 and --vmstack-seconds in (0, 60]")
    builder = wasm_bench._load_guest_builder()
    notes, rows = [], []
    try:
        for name in kernels:
            kernel = Kernel(name, builder)
            size, note = calibrate(kernel, opts.vmstack_seconds, opts.timeout)
            notes.append(f"{name}: {note}")
            print(f"{name}: {note}", flush=True)
            smallest = kernel.model.minimum
            row = {"kernel": name, "size": size, "instructions": instruction_count(kernel.elf, [str(size)]),
                   "times": {}, "mips": {}}
            start_up_instructions = instruction_count(kernel.elf, [str(smallest)])
            for runner in runners:
                print(f"  {name} {size}: {runner} ...", end="", flush=True)
                full = kernel.measure(runner, size, opts.runs, opts.timeout, opts.cell_budget)
                row["times"][runner] = full
                if runner in EMULATORS and full.seconds is not None:
                    start_up = kernel.measure(runner, smallest, opts.runs, opts.timeout, opts.cell_budget)
                    row["mips"][runner] = mips(full, start_up, row["instructions"], start_up_instructions)
                print(f" {full.cell()}", flush=True)
            rows.append(row)
    except (builder.BuildError, RuntimeError) as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        return 1
    print(write_report(rows, runners, opts.runs, opts.cell_budget, notes))
    plot(rows)
    print(f"wrote {RISCV_BENCH_DIR / 'results.md'} and {RISCV_BENCH_DIR / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
