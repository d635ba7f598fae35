"""Signal system calls: rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend,
rt_sigtimedwait, rt_sigreturn, sigaltstack, kill, tkill and tgkill. Signals to this process are
queued here and delivered by the Process; signals to other processes go to the host.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import time
from typing import TYPE_CHECKING

from . import signals as sig
from .hostcall import host_syscall
from .process import NO_RESULT, Blocked, GuestKilled
from .table import syscall

if TYPE_CHECKING:
    from .process import Process, Thread

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SIGSET_SIZE = 8
MINSIGSTKSZ = 2048


def _valid(signo: int) -> bool:
    return 1 <= signo <= sig.NSIG


@syscall(134, "rt_sigaction", "sig p p u")
def sys_rt_sigaction(proc: Process, thread: Thread, signo: int, act: int, oldact: int, size: int) -> int:
    if size != SIGSET_SIZE or not _valid(signo) or (act and signo in (sig.SIGKILL, sig.SIGSTOP)):
        return -errno.EINVAL
    new = sig.SigAction.unpack(proc.memory.read(act, 24)) if act else None
    if oldact:
        proc.memory.write(oldact, proc.actions[signo].pack())
    if new is not None:
        new.mask &= ~sig.UNBLOCKABLE
        proc.actions[signo] = new
        proc.set_host_disposition(signo)
        if new.handler == sig.SIG_IGN or (new.handler == sig.SIG_DFL
                                          and sig.default_action(signo) in ("ignore", "continue")):
            for t in proc.threads:  # a pending signal now ignored is discarded
                t.pending.pop(signo, None)
            proc.process_pending.pop(signo, None)
    return 0


@syscall(135, "rt_sigprocmask", "how p p u")
def sys_rt_sigprocmask(proc: Process, thread: Thread, how: int, new: int, old: int, size: int) -> int:
    if size != SIGSET_SIZE:
        return -errno.EINVAL
    if new:
        (mask,) = struct.unpack("<Q", proc.memory.read(new, 8))
        if how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
            return -errno.EINVAL
    if old:
        proc.memory.write(old, struct.pack("<Q", thread.sigmask))
    if new:
        if how == SIG_BLOCK:
            thread.sigmask |= mask
        elif how == SIG_UNBLOCK:
            thread.sigmask &= ~mask
        else:
            thread.sigmask = mask
        thread.sigmask &= ~sig.UNBLOCKABLE
    return 0


@syscall(136, "rt_sigpending", "p u")
def sys_rt_sigpending(proc: Process, thread: Thread, out: int, size: int) -> int:
    pending = 0
    for signo in list(thread.pending) + list(proc.process_pending):
        pending |= sig.bit(signo)
    proc.memory.write(out, struct.pack("<Q", pending & thread.sigmask))
    return 0


@syscall(133, "rt_sigsuspend", "p u")
def sys_rt_sigsuspend(proc: Process, thread: Thread, mask: int, size: int) -> int:
    if size != SIGSET_SIZE:
        return -errno.EINVAL
    (new,) = struct.unpack("<Q", proc.memory.read(mask, 8))
    thread.suspend_mask = thread.sigmask
    thread.sigmask = new & ~sig.UNBLOCKABLE
    raise Blocked(attempt=lambda: None, restartable=False, waits_signals=True)


@syscall(137, "rt_sigtimedwait", "p p p u")
def sys_rt_sigtimedwait(proc: Process, thread: Thread, setp: int, info: int, timeout: int, size: int) -> int:
    if size != SIGSET_SIZE:
        return -errno.EINVAL
    (wanted,) = struct.unpack("<Q", proc.memory.read(setp, 8))
    deadline = None
    if timeout:
        seconds, nanos = struct.unpack("<qq", proc.memory.read(timeout, 16))
        deadline = time.monotonic() + seconds + nanos / 1e9

    def attempt() -> int | None:
        for queue in (thread.pending, proc.process_pending):
            for signo in sorted(queue):
                if wanted & sig.bit(signo):
                    data = queue.pop(signo)
                    if info:
                        proc.memory.write(info, data)
                    return signo
        if deadline is not None and time.monotonic() >= deadline:
            return -errno.EAGAIN
        return None

    result = attempt()
    if result is not None:
        return result
    saved = thread.sigmask
    thread.sigmask &= ~wanted  # the waited-for signals must reach the queue, not a handler

    def finish() -> int | None:
        result = attempt()
        if result is not None:
            thread.sigmask = saved
        return result

    def interrupted() -> int:
        thread.sigmask = saved
        return -errno.EINTR

    raise Blocked(attempt=finish, deadline=deadline, restartable=False, on_interrupt=interrupted,
                  waits_signals=True)


@syscall(139, "rt_sigreturn", "")
def sys_rt_sigreturn(proc: Process, thread: Thread) -> object:
    proc.sigreturn(thread)
    return NO_RESULT


@syscall(132, "sigaltstack", "p p")
def sys_sigaltstack(proc: Process, thread: Thread, new: int, old: int) -> int:
    ss_sp, ss_flags, ss_size = thread.altstack
    sp = thread.cpu.x[2]
    on_stack = ss_flags != sig.SS_DISABLE and ss_sp < sp <= ss_sp + ss_size
    if old:
        flags = sig.SS_ONSTACK if on_stack else ss_flags
        proc.memory.write(old, struct.pack("<Qi4xQ", ss_sp, flags, ss_size))
    if new:
        if on_stack:
            return -errno.EPERM
        sp_new, flags_new, size_new = struct.unpack("<Qi4xQ", proc.memory.read(new, 24))
        if flags_new & ~(sig.SS_DISABLE | sig.SS_ONSTACK | (1 << 31)):
            return -errno.EINVAL
        if flags_new & sig.SS_DISABLE:
            thread.altstack = (0, sig.SS_DISABLE, 0)
        else:
            if size_new < MINSIGSTKSZ:
                return -errno.ENOMEM
            thread.altstack = (sp_new, 0, size_new)
    return 0


def _user_info(signo: int, code: int) -> bytes:
    return sig.pack_siginfo(signo, code, pid=os.getpid(), uid=os.getuid())


@syscall(129, "kill", "i sig")
def sys_kill(proc: Process, thread: Thread, pid: int, signo: int) -> int:
    if signo and not _valid(signo):
        return -errno.EINVAL
    if pid == os.getpid():
        if signo:
            _signal_self(proc, signo, _user_info(signo, sig.SI_USER), None)
        return 0
    return host_syscall("kill", pid, signo)


def _signal_self(proc: Process, signo: int, info: bytes, thread: Thread | None) -> None:
    if signo == sig.SIGKILL:
        raise GuestKilled(sig.SIGKILL)
    if signo == sig.SIGSTOP:
        os.kill(os.getpid(), sig.SIGSTOP)
        return
    proc.queue_signal(signo, info, thread)


@syscall(138, "rt_sigqueueinfo", "i sig p")
def sys_rt_sigqueueinfo(proc: Process, thread: Thread, pid: int, signo: int, info: int) -> int:
    return _queue_info(proc, pid, None, signo, info)


@syscall(240, "rt_tgsigqueueinfo", "i i sig p")
def sys_rt_tgsigqueueinfo(proc: Process, thread: Thread, tgid: int, tid: int, signo: int, info: int) -> int:
    return _queue_info(proc, tgid, tid, signo, info)


def _queue_info(proc: Process, pid: int, tid: int | None, signo: int, info: int) -> int:
    """sigqueue(3): a signal with the caller's siginfo (its value) to this process, or to another one."""
    if not _valid(signo):
        return -errno.EINVAL
    data = bytearray(proc.memory.read(info, sig.SIGINFO_SIZE))
    code = struct.unpack_from("<i", data, 8)[0]
    if pid != os.getpid():
        if code >= 0:
            return -errno.EPERM
        buf = ctypes.create_string_buffer(bytes(data), sig.SIGINFO_SIZE)
        return host_syscall("rt_sigqueueinfo" if tid is None else "rt_tgsigqueueinfo",
                            *([pid] if tid is None else [pid, tid]), signo, buf)
    target = None if tid is None else _thread_by_tid(proc, tid)
    if tid is not None and target is None:
        return -errno.ESRCH
    struct.pack_into("<i", data, 0, signo)
    _signal_self(proc, signo, bytes(data), target)
    return 0


def _thread_by_tid(proc: Process, tid: int) -> Thread | None:
    return next((t for t in proc.threads if t.tid == tid), None)


@syscall(131, "tgkill", "i i sig")
def sys_tgkill(proc: Process, thread: Thread, tgid: int, tid: int, signo: int) -> int:
    if tid <= 0 or tgid <= 0 or (signo and not _valid(signo)):
        return -errno.EINVAL
    if tgid != os.getpid():
        return host_syscall("tgkill", tgid, tid, signo)
    target = _thread_by_tid(proc, tid)
    if target is None:
        return -errno.ESRCH
    if signo:
        _signal_self(proc, signo, _user_info(signo, sig.SI_TKILL), target)
    return 0


@syscall(130, "tkill", "i sig")
def sys_tkill(proc: Process, thread: Thread, tid: int, signo: int) -> int:
    target = _thread_by_tid(proc, tid)
    if target is None:
        return host_syscall("tkill", tid, signo)
    return sys_tgkill(proc, thread, os.getpid(), tid, signo)
