"""Running a riscv64 program to its end: the Python API (``run_program``), what a death by signal
looks like from outside, and the re-entry through which execve starts a fresh vmstack in place of
the current host process.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path

from .process import GuestExit, GuestKilled, GuestStopped, Process
from .signals import death_message

DEFAULT_SYSROOT = "/usr/riscv64-linux-gnu"
EXIT_STOPPED = 125  # vmstack stopped the guest: the instruction limit, a deadlock


def default_sysroot() -> str | None:
    """qemu-user's -L default for this machine: Debian's riscv64 libc when it is installed."""
    return DEFAULT_SYSROOT if os.path.isdir(DEFAULT_SYSROOT) else None


def host_environment() -> list[str]:
    """This process's environment as it was exec'd, in its order (/proc/self/environ), without what
    Python itself adds at start-up (such as LC_CTYPE for locale coercion)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            block = f.read()
    except OSError:
        return [f"{k}={v}" for k, v in os.environ.items()]
    fs = sys.getfilesystemencoding()
    return [item.decode(fs, "surrogateescape") for item in block.split(b"\0") if item]


def with_overrides(env: list[str], overrides: dict[str, str]) -> list[str]:
    """``env`` with each K=V of ``overrides`` replacing K's entry, or appended when K is new."""
    result, pending = [], dict(overrides)
    for item in env:
        key = item.partition("=")[0]
        result.append(f"{key}={pending.pop(key)}" if key in pending else item)
    return result + [f"{k}={v}" for k, v in pending.items()]


def run_program(path: str, argv: list[str] | None = None, env: list[str] | dict[str, str] | None = None, *,
                sysroot: str | None = None, strace: bool = False, max_insns: int | None = None,
                top_level: bool = True, execfn: str | None = None) -> int:
    """Run the riscv64 Linux program at ``path``; return its exit status (128+N if a signal killed it).

    ``argv`` defaults to [path]; ``env`` (a list of K=V or a dict) to this process's environment.
    A death by signal is reported on stderr as a shell would ("Segmentation fault"). Raises
    ElfError (one-line message) for a file that cannot run.
    """
    if argv is None:
        argv = [path]
    if env is None:
        env = host_environment()
    if isinstance(env, dict):
        env = [f"{k}={v}" for k, v in env.items()]
    proc = Process(path, argv, env, sysroot=sysroot, strace=strace, max_insns=max_insns,
                   top_level=top_level, execfn=execfn)
    try:
        proc.run()
    except GuestExit as exit_:
        return _finish(proc, exit_.status, None)
    except GuestKilled as killed:
        return _finish(proc, 128 + killed.signo, killed.signo)
    except GuestStopped as stopped:
        os.write(2, f"vmstack: {stopped}\n".encode())
        return _finish(proc, EXIT_STOPPED, None)
    raise AssertionError("Process.run returned")  # pragma: no cover - run only ends by raising


def _finish(proc: Process, status: int, signo: int | None) -> int:
    """The exit status for the caller; a forked or exec'd guest child ends its host process here."""
    if proc.top_level:
        if signo is not None and death_message(signo):
            os.write(2, (death_message(signo) + "\n").encode())
        return status
    if signo is not None:  # die of the same signal, so the guest parent's wait4 sees it
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if signo != signal.SIGKILL:
            signal.signal(signo, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signo])
        os.kill(os.getpid(), signo)
    os._exit(status)


def exec_vmstack(proc: Process, program: bytes, argv: list[bytes], env: list[bytes], execfn: bytes) -> None:
    """Replace this host process by a vmstack running ``program`` (the guest's execve); raises OSError."""
    root = str(Path(__file__).resolve().parents[2])
    options = [b"--sysroot", (proc.sysroot or "").encode(), b"--execfn", execfn]
    if proc.strace:
        options.append(b"--strace")
    if not proc.top_level:
        options.append(b"--child")
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); from vmstack.linux.runner import exec_entry; "
            "sys.exit(exec_entry(sys.argv[2:]))")
    host_argv = [sys.executable.encode(), b"-E", b"-c", boot.encode(), root.encode(), *options, b"--",
                 program, *argv]
    env_map = {}
    for item in env:
        key, sep, value = item.partition(b"=")
        if sep and key:
            env_map[key] = value
    os.execve(sys.executable, host_argv, env_map)


def exec_entry(args: list[str]) -> int:
    """The command line exec_vmstack builds: options, --, program, argv..."""
    split = args.index("--")
    options, program, argv = args[:split], args[split + 1], args[split + 2:]
    sysroot = options[options.index("--sysroot") + 1] or None
    execfn = options[options.index("--execfn") + 1]
    try:
        return run_program(program, argv, host_environment(), sysroot=sysroot, strace="--strace" in options,
                           top_level="--child" not in options, execfn=execfn)
    except Exception as exc:  # noqa: BLE001 - the exec already happened: report in one line
        os.write(2, f"vmstack: {exc}\n".encode())
        return 127
