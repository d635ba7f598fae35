"""The container process's last steps inside the container, from a parsed `Process`: terminal (a pty
whose master goes out over the console socket with SCM_RIGHTS), rlimits, oomScoreAdj, the executable
looked up in the container's PATH, capabilities, user and groups, umask, cwd, environment,
noNewPrivileges, seccomp, and execve."""

from __future__ import annotations

import fcntl
import os
import pwd
import resource
import struct
from _socket import SCM_RIGHTS, SOL_SOCKET  # the socket module builds four enums at import

from vmstack.containers import capabilities, libc

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    import socket

    from vmstack.containers.seccomp import Filter
    from vmstack.containers.spec import Process

PR_SET_NO_NEW_PRIVS = 38
TIOCGPTN = 0x80045430  # <asm-generic/ioctls.h>; Python's termios lacks these two, and the other two
TIOCSPTLCK = 0x40045431  # are not worth loading termios for
TIOCSWINSZ = 0x5414
TIOCSCTTY = 0x540E
RLIMITS = {name: getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")}
RLIM_INFINITY_SPEC = 2**64 - 1


class ProcessError(Exception):
    """The process cannot be set up as asked (its text is the one-line error shown)."""


def check_rlimits(process: Process) -> None:
    for rlimit in process.rlimits:
        if rlimit.type not in RLIMITS:
            raise ProcessError(f"rlimit type {rlimit.type!r} is unknown")


def apply_rlimits(process: Process) -> None:
    for rlimit in process.rlimits:
        def value(v: int) -> int:
            return resource.RLIM_INFINITY if v >= RLIM_INFINITY_SPEC else v
        try:
            resource.setrlimit(RLIMITS[rlimit.type], (value(rlimit.soft), value(rlimit.hard)))
        except (OSError, ValueError) as error:
            raise ProcessError(f"error setting rlimit type {rlimit.type}: {error}") from None


def open_pty(console_size: tuple[int, int] | None) -> tuple[int, int]:
    """A new pty pair from the container's /dev/ptmx: (master, slave)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY)
    if console_size:
        fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", console_size[0], console_size[1], 0, 0))
    return master, slave


def send_fd(sock: socket.socket, fd: int, name: str) -> None:
    # the descriptor as a C int, packed by struct: the array module registers with collections.abc at
    # import, and collections costs more than all the rest of create's imports
    sock.sendmsg([name.encode()], [(SOL_SOCKET, SCM_RIGHTS, struct.pack("i", fd))])


def attach_terminal(process: Process, console: socket.socket, console_path: str | None) -> None:
    """Make a pty the process's stdio and controlling terminal; send its master out over `console`."""
    master, slave = open_pty(process.console_size)
    if console_path is not None:
        if not os.path.exists(console_path):
            os.close(os.open(console_path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
        libc.mount(os.ttyname(slave), console_path, None, 4096)  # MS_BIND
    send_fd(console, master, "/dev/ptmx")
    os.close(master)
    console.close()
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    fcntl.ioctl(0, TIOCSCTTY, 0)
    if slave > 2:
        os.close(slave)


def environment(process: Process) -> dict[str, str]:
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in process.env)
    if "HOME" not in env:
        try:
            env["HOME"] = pwd.getpwuid(process.user.uid).pw_dir
        except KeyError:
            env["HOME"] = "/"
    return env


def find_executable(process: Process, env: dict[str, str]) -> str:
    name = process.args[0]
    if "/" in name:
        candidates = [name if name.startswith("/") else os.path.join(process.cwd, name)]
    else:
        candidates = [os.path.join(d or ".", name) for d in env.get("PATH", "").split(":")]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    if "/" in name and os.path.exists(candidates[0]):
        raise ProcessError(f"exec: {name!r}: permission denied")
    raise ProcessError(f"exec: {name!r}: executable file not found in $PATH")


def become(process: Process, seccomp: Filter | None, executable: str, env: dict[str, str]) -> None:
    """Capabilities, user, umask, cwd, noNewPrivileges and seccomp, then execve; never returns."""
    caps = process.capabilities
    if seccomp is not None and not process.no_new_privileges:
        seccomp.load()  # without noNewPrivileges loading needs CAP_SYS_ADMIN: before the drop, as runc
        seccomp = None
    try:
        went_to_cwd = _chdir(process.cwd)
        if caps is not None:
            capabilities.drop_bounding(caps)
        capabilities.keep_across_setuid()
        user = process.user
        os.setgroups(user.additional_gids)
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
        if caps is not None:
            capabilities.apply(caps)
        if user.umask is not None:
            os.umask(user.umask)
        if not went_to_cwd:
            os.chdir(process.cwd)
        if process.no_new_privileges:
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as error:
        raise ProcessError(f"{error.strerror}: setting up the process as uid {process.user.uid}") from None
    if seccomp is not None:
        seccomp.load()
    os.execve(executable, process.args, env)


def _chdir(path: str) -> bool:
    try:
        os.chdir(path)
        return True
    except OSError:
        return False
