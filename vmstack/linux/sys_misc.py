"""Time, identity, limits, randomness and readiness: clock_gettime and friends, nanosleep,
the uid/gid/pid family, uname (machine "riscv64"), rlimits, sysinfo, getrandom, ppoll and pselect6.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .hostcall import host_syscall
from .process import Blocked
from .table import passthrough, syscall

if TYPE_CHECKING:
    from .process import Process, Thread

TIMER_ABSTIME = 1
CLOCK_REALTIME = 0
UTS_FIELD = 65

passthrough(113, "clock_gettime", "clock out16")
passthrough(114, "clock_getres", "clock out16")
passthrough(169, "gettimeofday", "out16 out8")
passthrough(153, "times", "out32")
passthrough(102, "getitimer", "i out32")
passthrough(174, "getuid", "")
passthrough(175, "geteuid", "")
passthrough(176, "getgid", "")
passthrough(177, "getegid", "")
passthrough(173, "getppid", "")
passthrough(143, "setregid", "i i")
passthrough(144, "setgid", "i")
passthrough(145, "setreuid", "i i")
passthrough(146, "setuid", "i")
passthrough(147, "setresuid", "i i i")
passthrough(148, "getresuid", "out4 out4 out4")
passthrough(149, "setresgid", "i i i")
passthrough(150, "getresgid", "out4 out4 out4")
passthrough(151, "setfsuid", "i")
passthrough(152, "setfsgid", "i")
passthrough(154, "setpgid", "i i")
passthrough(155, "getpgid", "i")
passthrough(156, "getsid", "i")
passthrough(157, "setsid", "")
passthrough(165, "getrusage", "i out144")
passthrough(166, "umask", "mode", returns="u")
passthrough(179, "sysinfo", "out112")
passthrough(261, "prlimit64", "i i in16 out16")
passthrough(278, "getrandom", "obuf u x")
passthrough(168, "getcpu", "out4 out4 p")
passthrough(140, "setpriority", "i i i")
passthrough(141, "getpriority", "i i")


@syscall(172, "getpid", "")
def sys_getpid(proc: Process, thread: Thread) -> int:
    return os.getpid()


@syscall(178, "gettid", "")
def sys_gettid(proc: Process, thread: Thread) -> int:
    return thread.tid


@syscall(103, "setitimer", "i in32 out32")
def sys_setitimer(proc: Process, thread: Thread, which: int, new: int, old: int) -> int:
    new_buf = ctypes.create_string_buffer(proc.memory.read(new, 32), 32) if new else None
    old_buf = ctypes.create_string_buffer(32) if old else None
    result = host_syscall("setitimer", which, new_buf, old_buf)
    if result >= 0:
        proc.timers_armed = True
        if old:
            proc.memory.write(old, old_buf.raw)
    return result


passthrough(107, "timer_create", "clock in64 out4")
passthrough(108, "timer_gettime", "i out32")
passthrough(109, "timer_getoverrun", "i")
passthrough(111, "timer_delete", "i")


@syscall(110, "timer_settime", "i i in32 out32")
def sys_timer_settime(proc: Process, thread: Thread, timer: int, flags: int, new: int, old: int) -> int:
    new_buf = ctypes.create_string_buffer(proc.memory.read(new, 32), 32) if new else None
    old_buf = ctypes.create_string_buffer(32) if old else None
    result = host_syscall("timer_settime", timer, flags, new_buf, old_buf)
    if result >= 0:
        proc.timers_armed = True
        if old:
            proc.memory.write(old, old_buf.raw)
    return result


@syscall(158, "getgroups", "i p")
def sys_getgroups(proc: Process, thread: Thread, size: int, out: int) -> int:
    groups = os.getgroups()
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -errno.EINVAL
    proc.memory.write(out, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall(159, "setgroups", "i p")
def sys_setgroups(proc: Process, thread: Thread, size: int, groups: int) -> int:
    os.setgroups(list(struct.unpack(f"<{size}I", proc.memory.read(groups, 4 * size))))
    return 0


@syscall(160, "uname", "out390")
def sys_uname(proc: Process, thread: Thread, out: int) -> int:
    host = os.uname()
    fields = [b"Linux", host.nodename.encode(), host.release.encode(), host.version.encode(), b"riscv64",
              b"(none)"]
    proc.memory.write(out, b"".join(f[:UTS_FIELD - 1].ljust(UTS_FIELD, b"\0") for f in fields))
    return 0


@syscall(163, "getrlimit", "i out16")
def sys_getrlimit(proc: Process, thread: Thread, resource: int, out: int) -> int:
    buf = ctypes.create_string_buffer(16)
    result = host_syscall("prlimit64", 0, resource, None, buf)
    if result >= 0:
        proc.memory.write(out, buf.raw)
    return result


@syscall(164, "setrlimit", "i in16")
def sys_setrlimit(proc: Process, thread: Thread, resource: int, new: int) -> int:
    return host_syscall("prlimit64", 0, resource, ctypes.create_string_buffer(proc.memory.read(new, 16), 16), None)


@syscall(123, "sched_getaffinity", "i u p")
def sys_sched_getaffinity(proc: Process, thread: Thread, pid: int, size: int, mask: int) -> int:
    if size < 8:
        return -errno.EINVAL
    proc.memory.write(mask, struct.pack("<Q", 1))  # green threads share one host CPU
    return 8


@syscall(167, "prctl", "i u u u u")
def sys_prctl(proc: Process, thread: Thread, option: int, arg2: int, arg3: int, arg4: int, arg5: int) -> int:
    if option == 15:  # PR_SET_NAME
        thread_name = proc.read_string(arg2)[:15]
        proc.thread_names[thread.tid] = thread_name
        return 0
    if option == 16:  # PR_GET_NAME
        name = proc.thread_names.get(thread.tid, os.path.basename(proc.exe_path).encode()[:15])
        proc.memory.write(arg2, name.ljust(16, b"\0"))
        return 0
    if option in (1, 3, 4, 36, 38, 39):  # pdeathsig, dumpable, subreaper, no_new_privs: plain ints
        return host_syscall("prctl", option, arg2, arg3, arg4, arg5)
    return -errno.EINVAL


# ---------------------------------------------------------------- sleeping


def _timespec(proc: Process, addr: int) -> float:
    seconds, nanos = struct.unpack("<qq", proc.memory.read(addr, 16))
    if seconds < 0 or not 0 <= nanos < 1_000_000_000:
        raise OSError(errno.EINVAL, "invalid timespec")
    return seconds + nanos / 1e9


def _sleep_until(proc: Process, deadline: float, remaining: int) -> int:
    def attempt() -> int | None:
        return 0 if time.monotonic() >= deadline else None

    def interrupted() -> int:
        if remaining:
            left = max(deadline - time.monotonic(), 0.0)
            proc.memory.write(remaining, struct.pack("<qq", int(left), int((left - int(left)) * 1e9)))
        return -errno.EINTR

    if attempt() is not None:
        return 0
    raise Blocked(attempt=attempt, deadline=deadline, restartable=False, on_interrupt=interrupted)


@syscall(101, "nanosleep", "in16 p")
def sys_nanosleep(proc: Process, thread: Thread, req: int, rem: int) -> int:
    return _sleep_until(proc, time.monotonic() + _timespec(proc, req), rem)


@syscall(115, "clock_nanosleep", "clock i in16 p")
def sys_clock_nanosleep(proc: Process, thread: Thread, clock: int, flags: int, req: int, rem: int) -> int:
    if clock not in (0, 1, 7, 2):
        return -errno.EINVAL
    when = _timespec(proc, req)
    if flags & TIMER_ABSTIME:
        now = time.clock_gettime(clock if clock != 2 else 1)
        return _sleep_until(proc, time.monotonic() + (when - now), 0)
    return _sleep_until(proc, time.monotonic() + when, rem)


# ---------------------------------------------------------------- ppoll and pselect6


def _poll_deadline(proc: Process, timeout: int) -> float | None:
    return None if not timeout else time.monotonic() + _timespec(proc, timeout)


def _with_mask(proc: Process, thread: Thread, sigmask: int) -> Callable[[], None]:
    """Install ppoll's/pselect's temporary signal mask; return the function that restores it."""
    if not sigmask:
        return lambda: None
    (mask,) = struct.unpack("<Q", proc.memory.read(sigmask, 8))
    saved = thread.sigmask
    thread.sigmask = mask
    thread.suspend_mask = saved

    def restore() -> None:
        thread.sigmask = saved
        thread.suspend_mask = None
    return restore


def _wait_ready(proc: Process, thread: Thread, poll_now: Callable[[], int], fds: tuple, deadline: float | None,
                sigmask: int) -> int:
    result = poll_now()
    if result != 0 or (deadline is not None and time.monotonic() >= deadline):
        return result
    restore = _with_mask(proc, thread, sigmask)

    def attempt() -> int | None:
        result = poll_now()
        if result != 0 or (deadline is not None and time.monotonic() >= deadline):
            restore()
            return result
        return None

    # interrupted: -EINTR, and the handler's frame saves the mask from before the call (suspend_mask)
    raise Blocked(attempt=attempt, fds=fds, deadline=deadline, restartable=False, waits_signals=True)


@syscall(73, "ppoll", "p u p p u")
def sys_ppoll(proc: Process, thread: Thread, fds: int, nfds: int, timeout: int, sigmask: int,
              size: int) -> int:
    if nfds > 4096:
        return -errno.EINVAL
    raw = proc.memory.read(fds, 8 * nfds) if nfds else b""
    entries = [struct.unpack_from("<ihh", raw, 8 * i) for i in range(nfds)]

    def poll_now() -> int:
        buf = ctypes.create_string_buffer(raw, max(len(raw), 1))
        result = host_syscall("ppoll", buf, nfds, ctypes.create_string_buffer(16), None, 8)
        if result >= 0 and raw:
            proc.memory.write(fds, buf.raw[:len(raw)])
        return result

    waits = tuple((fd, events) for fd, events, _ in entries if fd >= 0)
    return _wait_ready(proc, thread, poll_now, waits, _poll_deadline(proc, timeout), sigmask)


@syscall(72, "pselect6", "i p p p p p")
def sys_pselect6(proc: Process, thread: Thread, nfds: int, readfds: int, writefds: int, exceptfds: int,
                 timeout: int, sigdata: int) -> int:
    if nfds < 0 or nfds > 4096:
        return -errno.EINVAL
    size = (nfds + 63) // 64 * 8
    sets = [(addr, proc.memory.read(addr, size) if addr else None) for addr in (readfds, writefds, exceptfds)]
    sigmask = 0
    if sigdata:
        sigmask, _ = struct.unpack("<QQ", proc.memory.read(sigdata, 16))

    def poll_now() -> int:
        bufs = [ctypes.create_string_buffer(data, size) if data is not None else None for _, data in sets]
        result = host_syscall("pselect6", nfds, *bufs, ctypes.create_string_buffer(16), None)
        if result >= 0:
            for (addr, _), buf in zip(sets, bufs):
                if buf is not None:
                    proc.memory.write(addr, buf.raw[:size])
        return result

    waits = []
    for events, (_, data) in zip((1, 4, 2), sets):  # POLLIN, POLLOUT, POLLPRI
        if data is not None:
            bits = int.from_bytes(data, "little")
            waits += [(fd, events) for fd in range(nfds) if bits >> fd & 1]
    return _wait_ready(proc, thread, poll_now, tuple(waits), _poll_deadline(proc, timeout), sigmask)


# ---------------------------------------------------------------- epoll
# riscv64's struct epoll_event is {u32 events; u64 data} with natural alignment (16 bytes); the x86-64
# host's is packed (12 bytes), so events are converted on the way in and out.

GUEST_EPOLL_EVENT = struct.Struct("<I4xQ")
HOST_EPOLL_EVENT = struct.Struct("<IQ")
EPOLL_CTL_DEL = 2
MAX_EPOLL_EVENTS = 4096

passthrough(20, "epoll_create1", "oflags")


@syscall(21, "epoll_ctl", "fd i fd p")
def sys_epoll_ctl(proc: Process, thread: Thread, epfd: int, op: int, fd: int, event: int) -> int:
    host_event = None
    if event and op != EPOLL_CTL_DEL:
        events, data = GUEST_EPOLL_EVENT.unpack(proc.memory.read(event, GUEST_EPOLL_EVENT.size))
        host_event = ctypes.create_string_buffer(HOST_EPOLL_EVENT.pack(events, data), HOST_EPOLL_EVENT.size)
    return host_syscall("epoll_ctl", epfd, op, fd, host_event)


@syscall(22, "epoll_pwait", "fd p i i p u")
def sys_epoll_pwait(proc: Process, thread: Thread, epfd: int, events: int, maxevents: int, timeout: int,
                    sigmask: int, size: int) -> int:
    if not 0 < maxevents <= MAX_EPOLL_EVENTS:
        return -errno.EINVAL

    def poll_now() -> int:
        buf = ctypes.create_string_buffer(HOST_EPOLL_EVENT.size * maxevents)
        result = host_syscall("epoll_wait", epfd, buf, maxevents, 0)
        if result > 0:
            out = b"".join(GUEST_EPOLL_EVENT.pack(*HOST_EPOLL_EVENT.unpack_from(buf.raw, HOST_EPOLL_EVENT.size * i))
                           for i in range(result))
            proc.memory.write(events, out)
        return result

    deadline = None if timeout < 0 else time.monotonic() + timeout / 1000
    return _wait_ready(proc, thread, poll_now, ((epfd, 1),), deadline, sigmask)
