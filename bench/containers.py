"""Benchmark OCI runtimes on the smallest container there is: a busybox bundle that runs /bin/true.

Side by side in one run, vmstack-runc (this checkout, through the launcher that scripts/setup.sh
installs: the fastest Python of this version run `-IS`, nothing but vmstack on sys.path), Debian's runc and Debian's crun each do, `--runs` times (default 20):

- `run`: `RUNTIME run --bundle B ID`, the whole life of a container in one command;
- `create`, `start`, `wait` and `delete` as separate steps: `create --bundle B --pid-file P ID`, `start ID`,
  the wait for the container's process to exit (through a pidfd), then `delete ID`; `lifecycle` is their sum.

The runs are made in rounds in which the runtimes take turns, so that a change in the machine's load
does not fall on one runtime only. Every runtime gets the same bundle (a busybox rootfs from
`vmstack container rootfs busybox` and runc's default spec with args [/bin/true] and no terminal) and
a private --root. A bare `-IS -c pass` of the launcher's interpreter is
timed too, as the floor of any Python program started as the launcher starts it. The report gives medians in ms and the ratios of
vmstack-runc over runc and over crun: a Markdown table printed and written to bench/results-containers.md,
and a bar chart in bench/results-containers.png.

    python3 bench/containers.py [--runs N] [--runtimes vmstack-runc,runc,crun]

Run it as root. crun 1.8 refuses this host's hybrid cgroup layout, so its runs happen in a private
mount namespace with /sys/fs/cgroup/unified unmounted (`unshare --mount`); the others run as they are.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from run import _machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vmstack.containers.launcher import fastest_interpreter, write_launcher

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PYTHON = sys.executable
RUNTIMES = ["vmstack-runc", "runc", "crun"]
PHASES = ["run", "create", "start", "wait", "delete", "lifecycle"]
NEEDS_PRIVATE_CGROUP_MOUNTS = {"crun"}  # crun 1.8: "cgroups in hybrid mode not supported"
TIMEOUT = 60
ROUNDS = 4
"""The runs are made in this many rounds, each runtime in turn within a round."""


class RuntimeFailed(Exception):
    """A runtime command failed: the message is its last line of stderr."""


@dataclass
class Samples:
    """One runtime's wall times per phase (seconds), or why it could not be measured."""

    times: dict[str, list[float]] = field(default_factory=lambda: {phase: [] for phase in PHASES})
    failure: str = ""

    def add(self, more: Samples) -> None:
        for phase, values in more.times.items():
            self.times[phase] += values
        self.failure = self.failure or more.failure

    def median_ms(self, phase: str) -> float | None:
        values = self.times.get(phase) or []
        return statistics.median(values) * 1000 if values and not self.failure else None


def _timed(command: list[str]) -> float:
    """Wall seconds of one command. Its stderr goes to a file, not a pipe: a created container inherits
    the runtime's stdio and would hold a pipe open until it runs."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        start = time.perf_counter()
        done = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        # a blocking wait on a pidfd: subprocess's wait(timeout) polls, in steps of up to 50 ms
        descriptor = os.pidfd_open(done.pid)
        try:
            exited = select.select([descriptor], [], [], TIMEOUT)[0]
        finally:
            os.close(descriptor)
        if not exited:
            done.kill()
        done.wait()
        elapsed = time.perf_counter() - start
        if not exited:
            raise subprocess.TimeoutExpired(command, TIMEOUT)
        if done.returncode != 0:
            stderr.seek(0)
            last = (stderr.read().strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise RuntimeFailed(f"`{' '.join(command[-3:])}`: {last}")
    return elapsed


def _wait_for_exit(pid: int) -> float:
    """Seconds until process `pid` (not our child) exits, through a pidfd."""
    start = time.perf_counter()
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return time.perf_counter() - start
    try:
        if not select.select([descriptor], [], [], TIMEOUT)[0]:
            raise RuntimeFailed(f"the container's process {pid} did not exit within {TIMEOUT} s")
    finally:
        os.close(descriptor)
    return time.perf_counter() - start


def measure_runtime(binary: str, bundle: Path, runs: int) -> Samples:
    """Time `runs` runs and `runs` create/start/wait/delete cycles of the bundle under `binary`."""
    samples = Samples()
    with tempfile.TemporaryDirectory(prefix="bench-state-") as state:
        runtime = [binary, "--root", state]
        name = f"bench-{Path(binary).name}-{os.getpid()}"
        try:
            for index in range(runs):
                run = [*runtime, "run", "--bundle", str(bundle), f"{name}-r{index}"]
                samples.times["run"].append(_timed(run))
            for index in range(runs):
                container, pid_file = f"{name}-c{index}", Path(state) / "pid"
                steps = {"create": _timed([*runtime, "create", "--bundle", str(bundle), "--pid-file",
                                           str(pid_file), container])}
                pid = int(pid_file.read_text())
                steps["start"] = _timed([*runtime, "start", container])
                steps["wait"] = _wait_for_exit(pid)
                steps["delete"] = _timed([*runtime, "delete", container])
                steps["lifecycle"] = sum(steps.values())
                for phase, seconds in steps.items():
                    samples.times[phase].append(seconds)
        except (RuntimeFailed, subprocess.TimeoutExpired, OSError, ValueError) as error:
            samples.failure = str(error)
            listed = subprocess.run([*runtime, "list", "-q"], capture_output=True, text=True, check=False)
            for leftover in listed.stdout.split():
                subprocess.run([*runtime, "delete", "--force", leftover], capture_output=True, check=False)
    return samples


def measure_in_child(runtime: str, bundle: Path, runs: int) -> Samples:
    """Measure one runtime in a child process of this script (inside a private mount namespace without
    /sys/fs/cgroup/unified for crun); the child prints its samples as JSON."""
    binary = str(bundle.parent / "vmstack-runc") if runtime == "vmstack-runc" else shutil.which(runtime)
    if binary is None:
        return Samples(failure=f"{runtime} is not on PATH")
    child = [PYTHON, __file__, "--child", binary, "--bundle", str(bundle), "--runs", str(runs)]
    if runtime in NEEDS_PRIVATE_CGROUP_MOUNTS:
        child = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 'umount /sys/fs/cgroup/unified && exec "$@"', "sh", *child]
    done = subprocess.run(child, capture_output=True, text=True, check=False, timeout=TIMEOUT * runs * 6)
    if done.returncode != 0:
        return Samples(failure=(done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1])
    result = json.loads(done.stdout)
    return Samples(result["times"], result["failure"])


def make_bundle(directory: Path) -> Path:
    """A busybox bundle running /bin/true: vmstack's rootfs and runc's default spec."""
    directory.mkdir()
    made = subprocess.run([PYTHON, "-m", "vmstack", "container", "rootfs", "busybox",
                           str(directory / "rootfs")], cwd=ROOT, capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise SystemExit(f"containers.py: error: {made.stderr.strip()}")
    subprocess.run(["runc", "spec", "--bundle", str(directory)], check=True)
    spec = json.loads((directory / "config.json").read_text())
    spec["process"].update(args=["/bin/true"], terminal=False)
    (directory / "config.json").write_text(json.dumps(spec, indent=2))
    return directory


def _cell(value: float | None) -> str:
    return "failed" if value is None else f"{value:.1f} ms"


def _ratio(top: float | None, bottom: float | None) -> str:
    return "n/a" if top is None or not bottom else f"{top / bottom:.2f}x"


def markdown_table(table: dict[str, Samples], runtimes: list[str]) -> str:
    peers = [peer for peer in ("runc", "crun") if peer in runtimes and "vmstack-runc" in runtimes]
    header = ["phase", *runtimes, *(f"vmstack-runc / {peer}" for peer in peers)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for phase in PHASES:
        medians = {runtime: table[runtime].median_ms(phase) for runtime in runtimes}
        cells = [phase, *(_cell(medians[runtime]) for runtime in runtimes),
                 *(_ratio(medians["vmstack-runc"], medians[peer]) for peer in peers)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _versions(runtimes: list[str], launcher: Path) -> str:
    found = []
    for runtime in runtimes:
        binary = str(launcher) if runtime == "vmstack-runc" else shutil.which(runtime)
        if binary:
            output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
            found.append(f"{runtime} {(output.split() or ['?'])[2 if output.startswith(runtime) else 0]}")
    return ", ".join(found)


def write_report(table: dict[str, Samples], runtimes: list[str], runs: int, floor: float, versions: str,
                 interpreter: str) -> str:
    failures = [f"- {runtime}: {samples.failure}" for runtime, samples in table.items() if samples.failure]
    report = "\n".join([
        "# OCI runtimes: the life of a /bin/true container",
        "",
        (f"Measured {datetime.date.today().isoformat()} by `python3 bench/containers.py --runs {runs}` on "
         f"{_machine()}; {versions}."),
        f"Each cell is the median wall time of {runs} runs, made in {ROUNDS} rounds in which the runtimes",
        "take turns. `run` is one `RUNTIME run` of a busybox bundle whose process is /bin/true;",
        "`create`, `start` and `delete` are the separate commands, `wait` the time from `start` returning",
        "to the container's process exiting, `lifecycle` their sum. Ratios are vmstack-runc's time over",
        "its peer's (below 1 is faster). crun ran in a private mount namespace without",
        "/sys/fs/cgroup/unified (it refuses this host's hybrid cgroup layout otherwise).",
        "",
        markdown_table(table, runtimes),
        "",
        f"For scale: `{interpreter} -IS -c pass` (the launcher's interpreter, started as the launcher",
        f"starts it) takes {floor:.1f} ms here",
        f"(median of {runs}, in the same rounds).",
        *(["", "Failures:", *failures] if failures else []),
        "",
    ])
    (BENCH_DIR / "results-containers.md").write_text(report)
    return report


def plot(table: dict[str, Samples], runtimes: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / len(runtimes)
    figure, axes = plt.subplots(figsize=(9, 5), layout="constrained")
    for index, runtime in enumerate(runtimes):
        positions = [p + (index - (len(runtimes) - 1) / 2) * width for p in range(len(PHASES))]
        axes.bar(positions, [table[runtime].median_ms(phase) or 0 for phase in PHASES], width, label=runtime)
    axes.set_xticks(range(len(PHASES)), PHASES)
    axes.set_ylabel("median wall time (ms)")
    axes.set_title("OCI runtimes on a /bin/true container (failed runtimes have no bar)")
    figure.legend(loc="outside lower center", ncols=len(runtimes))
    figure.savefig(BENCH_DIR / "results-containers.png", dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per runtime and phase (default 20)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated runtimes")
    parser.add_argument("--child", metavar="BINARY", help=argparse.SUPPRESS)  # measure one, print JSON
    parser.add_argument("--bundle", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        samples = measure_runtime(opts.child, opts.bundle, opts.runs)
        print(json.dumps({"times": samples.times, "failure": samples.failure}))
        return 0
    runtimes = opts.runtimes.split(",")
    if os.geteuid() != 0 or opts.runs < 1 or not set(runtimes) <= set(RUNTIMES):
        parser.error("run as root, with --runs of at least 1 and runtimes among " + ",".join(RUNTIMES))
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as scratch:
        bundle = make_bundle(Path(scratch) / "bundle")
        interpreter = fastest_interpreter(ROOT)
        versions = _versions(runtimes, write_launcher(Path(scratch) / "vmstack-runc", ROOT, interpreter))
        table = {runtime: Samples() for runtime in runtimes}
        floor: list[float] = []
        for turn in range(ROUNDS):  # the runtimes take turns, so a change of the machine's load hits all
            share = opts.runs // ROUNDS + (turn < opts.runs % ROUNDS)
            print(f"round {turn + 1}/{ROUNDS}: {share} runs and cycles each", flush=True)
            for runtime in runtimes:
                if share and not table[runtime].failure:
                    table[runtime].add(measure_in_child(runtime, bundle, share))
            floor += [_timed([interpreter, "-IS", "-c", "pass"]) for _ in range(share)]
    print(write_report(table, runtimes, opts.runs, statistics.median(floor) * 1000, versions, interpreter))
    plot(table, runtimes)
    print(f"wrote {BENCH_DIR / 'results-containers.md'} and {BENCH_DIR / 'results-containers.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
