"""The `vmstack-runc` executable that engines exec: a script whose shebang runs this interpreter isolated
and without `site` (`-IS`), with only vmstack's own location on sys.path.

pip's console script starts Python with `site`, which reads every .pth file of site-packages (an
editable install's import finder, whatever else the machine put there) at each call: tens of ms, for
a runtime that a container engine calls three times per container. `-I` is also right for a root
runtime: the caller's PYTHONPATH, PYTHONHOME and user site cannot change what runs. The location is
recorded when the launcher is written (the source tree of an editable install, or site-packages), so
it works for both kinds of install.

The runtime needs the standard library only (ctypes included), so any interpreter of the installing
one's version can run it: the launcher names the one that starts fastest (in CPU time, steady on a
busy machine) of the installing interpreter and the system's (Debian's python3.X, linked statically,
starts a few ms sooner than a pyenv build against libpython.so), among those that can import the
runtime from the recorded location. It runs
without the cycle collector and ends the process through `runc_cli.exit_now`, without the
interpreter's teardown.

    python3 -m vmstack.containers.launcher [PATH]

writes it over the console script pip installed (or to PATH)."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import vmstack

RUNTIME_MODULES = ("runc_cli", "lifecycle", "spec", "mounts", "namespaces", "process", "seccomp", "devicefilter")
"""What the runtime's commands import, between them: an interpreter must import them all to be chosen."""
STARTS_TIMED = 5


def launcher_text(package_root: Path, interpreter: str = sys.executable) -> str:
    """The launcher's source: vmstack-runc's main, importable from `package_root` alone."""
    return (f"#!{interpreter} -IS\n"
            "# vmstack-runc, written by `python3 -m vmstack.containers.launcher`\n"
            "# a command lives for milliseconds: the cycle collector's passes over what the imports make\n"
            "# would cost more than the garbage they could find\n"
            "import gc\ngc.disable()\n"
            f"import sys\nsys.path.insert(0, {str(package_root)!r})\n"
            "from vmstack.containers.runc_cli import exit_now, main\nexit_now(main())\n")


def candidate_interpreters() -> list[str]:
    """This interpreter and the system's of the same version, when there is one (by real path, once)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found: dict[str, str] = {}
    for path in (sys.executable, f"/usr/bin/python{version}"):
        if path and os.access(path, os.X_OK):
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def _start_cpu(interpreter: str, package_root: Path) -> float | None:
    """Median CPU seconds (user and system: far steadier than wall time on a busy machine) that
    `interpreter -IS` takes to import the runtime from `package_root`; None if it cannot (another
    version, a build without ctypes, not an interpreter)."""
    probe = (f"import sys\nsys.path.insert(0, {str(package_root)!r})\n"
             f"import {', '.join('vmstack.containers.' + name for name in RUNTIME_MODULES)}")
    quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    times = []
    for _ in range(STARTS_TIMED):
        try:
            pid = os.posix_spawn(interpreter, [interpreter, "-IS", "-c", probe], os.environ, file_actions=quiet)
        except OSError:
            return None
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        times.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times)


def fastest_interpreter(package_root: Path, candidates: list[str] | None = None) -> str:
    """Of `candidates` (by default candidate_interpreters()), the one that imports the runtime from
    `package_root` with the least CPU time; this interpreter when none can."""
    timed = {path: _start_cpu(path, package_root) for path in candidates or candidate_interpreters()}
    usable = {path: seconds for path, seconds in timed.items() if seconds is not None}
    return min(usable, key=usable.__getitem__) if usable else sys.executable


def write_launcher(path: Path, package_root: Path | None = None, interpreter: str | None = None) -> Path:
    """Write an executable launcher at `path` running the vmstack found in `package_root` (by default
    the one this module belongs to) with `interpreter` (by default the fastest one that can), atomically:
    an engine may exec the old one meanwhile."""
    root = package_root or Path(vmstack.__file__).resolve().parent.parent
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(launcher_text(root, interpreter or fastest_interpreter(root)))
    partial.chmod(0o755)
    os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    import sysconfig

    target = Path(args[0]) if args else Path(sysconfig.get_path("scripts")) / "vmstack-runc"
    try:
        print(write_launcher(target.absolute()))
    except OSError as error:
        print(f"launcher: error: {target}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
