"""runc's own integration suite (tests/integration/*.bats from Debian's runc source package) set up
to run offline against any runc-compatible binary: the busybox tarball it expects made from
busybox-static, a recvtty stand-in, and `go env GOARCH` answered without Go. Results are parsed
from bats' TAP output into {test name: (outcome, note)} with outcome "ok", "skip" or "fail"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.containers.busybox import make_busybox_tarball
from vmstack.containers.launcher import write_launcher

CACHE = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack"))
TAP_LINE = re.compile(r"^(ok|not ok) \d+ (.*?)(?: # skip ?(.*))?$")


def runc_source() -> Path | None:
    """The unpacked Debian runc source tree, or None when scripts/setup.sh has not fetched it."""
    found = sorted((CACHE / "src").glob("runc-[0-9]*/tests/integration"))
    return found[-1].parent.parent if found else None


def prepare(source: Path) -> Path:
    """A copy of the suite laid out as the runc tree it expects; returns its tests/integration."""
    work = CACHE / "runc-conformance" / source.name
    integration = work / "tests" / "integration"
    if not integration.exists():
        shutil.copytree(source / "tests" / "integration", integration)
    testdata = integration / "testdata"
    make_busybox_tarball(testdata / "busybox-amd64.tar.xz")
    # The Debian "buster" image cannot be made offline; an empty tarball lets get-images.sh pass and
    # makes the one test using it (hooks.bats) fail alike for every runtime.
    debian = testdata / "debian-amd64.tar.xz"
    if not debian.exists():
        subprocess.run(["tar", "-cJf", str(debian), "-T", "/dev/null"], check=True)
    recvtty = work / "contrib" / "cmd" / "recvtty" / "recvtty"
    recvtty.parent.mkdir(parents=True, exist_ok=True)
    recvtty.write_text(f"#!/bin/sh\nexec {sys.executable} -S {Path(__file__).with_name('recvtty.py')} \"$@\"\n")
    recvtty.chmod(0o755)
    go = work / "bin" / "go"
    go.parent.mkdir(exist_ok=True)
    go.write_text("#!/bin/sh\n[ \"$1 $2\" = 'env GOARCH' ] && echo amd64\n")
    go.chmod(0o755)
    return integration


def remove_suite_cgroups() -> None:
    """The suite's teardown removes its parent cgroups in the v1 hierarchies only: remove what the
    runtimes made under it in a hybrid host's unified one too (empty directories only)."""
    for parent in Path("/sys/fs/cgroup").glob("*/runc-cgroups-integration-test"):
        for directory in sorted((d for d in parent.rglob("*") if d.is_dir()), reverse=True) + [parent]:
            try:
                directory.rmdir()
            except OSError:
                pass


def vmstack_runc_wrapper() -> str:
    """An executable `vmstack-runc` running this checkout's runtime (what RUNC points at): the launcher
    setup installs, pointed at this checkout."""
    wrapper = CACHE / "runc-conformance" / "bin" / "vmstack-runc"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    return str(write_launcher(wrapper, Path(__file__).resolve().parents[2]))


def run_suite(runc: str, files: list[str] | None = None, timeout: float = 1800,
              names: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """Run the bats files (all when None; only the tests called `names` when given) against the
    binary `runc`; results by test name."""
    source = runc_source()
    if source is None:
        raise FileNotFoundError("runc source package missing: run scripts/setup.sh")
    integration = prepare(source)
    targets = [str(integration / f) for f in files] if files else [str(integration)]
    env = dict(os.environ, RUNC=runc, PATH=f"{integration.parent.parent / 'bin'}:{os.environ['PATH']}")
    env.pop("RUNC_USE_SYSTEMD", None)
    only = ["-f", "^(" + "|".join(re.escape(n) for n in names) + ")$"] if names else []
    done = subprocess.run(["bats", "--tap", *only, *targets], check=False, env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=integration)
    remove_suite_cgroups()
    results: dict[str, tuple[str, str]] = {}
    last = None
    for line in done.stdout.splitlines():
        match = TAP_LINE.match(line)
        if match:
            outcome = "fail" if match[1] == "not ok" else ("skip" if match[3] is not None else "ok")
            last = match[2]
            results[last] = (outcome, match[3] or "")
        elif last and results[last][0] == "fail" and re.match(r"# (time=|\{|.*error)", line):
            results[last] = ("fail", line[2:].strip()[:200])
    return results


if __name__ == "__main__":
    binary = vmstack_runc_wrapper() if sys.argv[1] == "vmstack-runc" else sys.argv[1]
    for name, (outcome, note) in run_suite(binary, sys.argv[2:] or None).items():
        print(f"{outcome:4} {name}  {note}")
