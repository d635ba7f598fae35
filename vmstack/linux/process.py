"""One guest Linux process: the Environment the riscv64 core calls on ecall, ebreak and faults.

It owns the guest's memory and address space, its threads (green threads: one Cpu each, run in
turn on this host thread, so AMOs and LR/SC are atomic by construction), the signal state, and the
system-call dispatch. A call that would block raises Blocked; the thread is parked and its call
retried when its file descriptors are ready, its deadline passes or a futex wakes it; when every
thread is parked the process sleeps in the host's ppoll until something happens, and reports a
deadlock if nothing can ever happen.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..riscv.cpu import Cpu
from ..riscv.memory import Memory, MemoryFault
from . import signals as sig
from .addrspace import AddressSpace
from .hostcall import host_syscall
from .loader import in_sysroot, read_program, start_program
from .strace import format_call
from .table import SYSCALLS

MASK64 = (1 << 64) - 1
QUANTUM = 20000            # instructions a thread runs before the next one gets its turn
SOLO_QUANTUM = 1 << 20     # when there is only one thread
NO_RESULT = object()       # a handler's way to say "a0 and pc are already what they must be"
CHILD_POLL_SECONDS = 0.05  # how often a parked wait4 looks for a child that exited unnoticed

# host signals the guest may handle: caught here, then delivered to the guest by its own rules
FORWARDED_SIGNALS = [sig.SIGHUP, sig.SIGINT, sig.SIGQUIT, sig.SIGUSR1, sig.SIGUSR2, sig.SIGALRM, sig.SIGTERM,
                     sig.SIGCHLD, sig.SIGCONT, sig.SIGTSTP, sig.SIGTTIN, sig.SIGTTOU, sig.SIGURG, sig.SIGXCPU,
                     sig.SIGVTALRM, sig.SIGPROF, sig.SIGWINCH, sig.SIGIO, sig.SIGPWR,
                     *range(34, sig.NSIG + 1)]  # real-time signals (glibc keeps 32 and 33 for itself)

FAULT_SIGNALS = {  # mcause -> (signal, si_code)
    0: (sig.SIGBUS, sig.BUS_ADRALN), 1: (sig.SIGSEGV, sig.SEGV_ACCERR), 2: (sig.SIGILL, sig.ILL_ILLOPC),
    5: (sig.SIGSEGV, sig.SEGV_ACCERR), 7: (sig.SIGSEGV, sig.SEGV_ACCERR), 12: (sig.SIGSEGV, sig.SEGV_MAPERR),
    13: (sig.SIGSEGV, sig.SEGV_MAPERR), 15: (sig.SIGSEGV, sig.SEGV_MAPERR),
}


class GuestExit(Exception):
    """The guest process ended with exit_group (or its last thread's exit)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class GuestKilled(Exception):
    """The guest process was killed by a signal (its default action)."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


class GuestStopped(Exception):
    """vmstack stopped the guest: a deadlock, or the instruction limit; the message is one line."""


@dataclass
class Blocked(Exception):
    """Raised by a system call that cannot complete yet: ``attempt`` gives its result once it can."""

    attempt: Callable[[], int | None]
    fds: tuple[tuple[int, int], ...] = ()   # (fd, poll events) whose readiness may let it complete
    deadline: float | None = None           # time.monotonic() at which attempt() is due anyway
    waits_children: bool = False
    waits_signals: bool = False             # only a signal ends it (sigsuspend, sigtimedwait)
    restartable: bool = True                # restart after a SA_RESTART handler instead of -EINTR
    on_interrupt: Callable[[], int] | None = None  # cleanup on a signal; returns the call's result


@dataclass
class Thread:
    tid: int
    cpu: Cpu
    sigmask: int = 0
    pending: dict[int, bytes] = field(default_factory=dict)   # signal -> siginfo
    altstack: tuple[int, int, int] = (0, sig.SS_DISABLE, 0)
    clear_child_tid: int = 0
    robust_list: int = 0
    blocked: Blocked | None = None
    blocked_call: tuple | None = None       # (Syscall, nr, args) for --strace when it completes
    suspend_mask: int | None = None         # the mask rt_sigsuspend/ppoll replace for a handler's run
    exited: bool = False


class Process:
    """A riscv64 Linux process run on the host: threads, memory, signals and system calls."""

    def __init__(self, path: str, argv: list[str], env: list[str], *, sysroot: str | None = None,
                 strace: bool = False, max_insns: int | None = None, top_level: bool = True,
                 execfn: str | None = None) -> None:
        self.sysroot = sysroot
        self.strace = strace
        self.max_insns = max_insns
        self.top_level = top_level
        self.insns = 0
        self.host_pid = os.getpid()
        self.exe_path = os.path.realpath(path)  # what /proc/self/exe names
        self.memory = Memory()
        self.aspace = AddressSpace(self.memory)
        data = read_program(path)
        fs = sys.getfilesystemencoding()
        self.started = start_program(self.aspace, execfn or path, data,
                                     [a.encode(fs, "surrogateescape") for a in argv],
                                     [e.encode(fs, "surrogateescape") for e in env], sysroot, os.urandom(16))
        cpu = Cpu(self.memory, self)
        cpu.pc = self.started.pc
        cpu.x[2] = self.started.sp
        self.threads: list[Thread] = [Thread(os.getpid(), cpu)]
        self.current = self.threads[0]
        self.next_tid = 1
        self.actions = [sig.SigAction() for _ in range(sig.NSIG + 1)]
        self.process_pending: dict[int, bytes] = {}
        self.futex_waiters: dict[int, list[FutexWaiter]] = {}
        self.timers_armed = False
        self.thread_names: dict[int, bytes] = {}
        self.turn = 0

    # ---------------------------------------------------------------- guest memory helpers
    def read_string(self, addr: int) -> bytes:
        return self.memory.read_cstring(addr, 4096 * 8)

    def guest_path(self, path: bytes, lookup: bool = False) -> bytes:
        """The host path for a guest path: /proc/self/exe is the guest program; ``lookup`` tries the sysroot."""
        fs = sys.getfilesystemencoding()
        if path in (b"/proc/self/exe", f"/proc/{os.getpid()}/exe".encode()):
            return self.exe_path.encode(fs, "surrogateescape")
        if lookup and self.sysroot:
            text = path.decode(fs, "surrogateescape")
            return in_sysroot(text, self.sysroot).encode(fs, "surrogateescape")
        return path

    def load32(self, addr: int) -> int:
        return self.memory.load(addr, 4)

    # ---------------------------------------------------------------- the Environment
    def ecall(self, cpu: Cpu) -> None:
        thread = self.current
        nr = cpu.x[17]
        raw = [cpu.x[10], cpu.x[11], cpu.x[12], cpu.x[13], cpu.x[14], cpu.x[15]]
        cpu.pc = (cpu.pc + 4) & MASK64
        call = SYSCALLS.get(nr)
        args = call.convert(raw) if call else raw
        if self.strace and call is not None and call.name in ("execve", "exit", "exit_group"):
            self._trace(call, nr, args, None)
        try:
            result = -errno.ENOSYS if call is None else call.handler(self, thread, *args)
        except Blocked as blocked:
            thread.blocked = blocked
            thread.blocked_call = (call, nr, args)
            cpu.stop = True
            return
        except OSError as exc:
            result = -(exc.errno or errno.EIO)
        except MemoryFault:
            result = -errno.EFAULT
        except (ValueError, OverflowError, MemoryError):  # arguments no host call could take
            result = -errno.EINVAL
        if result is NO_RESULT:
            return
        self._complete(thread, call, nr, args, result)

    def _complete(self, thread: Thread, call, nr: int, args: list[int], result: int) -> None:
        thread.cpu.x[10] = result & MASK64
        if self.strace and (call is None or call.name not in ("exit", "exit_group")):
            self._trace(call, nr, args, result)
        if result == -errno.EPIPE and call is not None and call.name in ("write", "writev", "pwrite64", "sendto",
                                                                         "sendmsg"):
            self.queue_signal(sig.SIGPIPE, sig.pack_siginfo(sig.SIGPIPE, sig.SI_USER, pid=os.getpid()), thread)
        if self._deliverable(thread):
            thread.cpu.stop = True

    def _trace(self, call, nr: int, args: list[int], result: int | None) -> None:
        prefix = f"[pid {self.current.tid}] " if len(self.threads) > 1 else ""
        line = prefix + format_call(self, call, nr, args, result) + "\n"
        os.write(2, line.encode("utf-8", "replace"))

    def ebreak(self, cpu: Cpu) -> None:
        self.force_signal(self.current, sig.SIGTRAP, sig.pack_siginfo(sig.SIGTRAP, sig.TRAP_BRKPT, addr=cpu.pc))

    def exception(self, cpu: Cpu, cause: int, tval: int) -> None:
        signo, code = FAULT_SIGNALS.get(cause, (sig.SIGSEGV, sig.SEGV_MAPERR))
        if signo == sig.SIGSEGV:  # a page that is there but forbids the access, or no page at all
            code = sig.SEGV_MAPERR if self.memory.prot_at(tval) is None else sig.SEGV_ACCERR
        addr = cpu.pc if signo == sig.SIGILL else tval
        self.force_signal(self.current, signo, sig.pack_siginfo(signo, code, addr=addr))

    def read_time(self) -> int:
        return time.monotonic_ns() // 100  # a 10 MHz timebase, as on QEMU's virt board

    # ---------------------------------------------------------------- signals
    def _deliverable(self, thread: Thread) -> int:
        """The lowest signal ``thread`` could take now (0 if none), moving a process-wide one to it."""
        for signo in sorted(thread.pending):
            if not thread.sigmask & sig.bit(signo):
                return signo
        for signo in sorted(self.process_pending):
            if not thread.sigmask & sig.bit(signo):
                thread.pending[signo] = self.process_pending.pop(signo)
                return signo
        return 0

    def queue_signal(self, signo: int, info: bytes, thread: Thread | None = None) -> None:
        """Make ``signo`` pending for ``thread`` (or for the process) unless it would be ignored."""
        action = self.actions[signo]
        if action.handler == sig.SIG_IGN or (action.handler == sig.SIG_DFL
                                             and sig.default_action(signo) in ("ignore", "continue")):
            return
        (thread.pending if thread else self.process_pending).setdefault(signo, info)
        target = thread or self.current
        target.cpu.stop = True

    def force_signal(self, thread: Thread, signo: int, info: bytes) -> None:
        """A synchronous fault: delivered now; if blocked or ignored, its default action is restored."""
        action = self.actions[signo]
        if thread.sigmask & sig.bit(signo) or action.handler == sig.SIG_IGN:
            self.actions[signo] = action = sig.SigAction()
            thread.sigmask &= ~sig.bit(signo)
        if action.handler == sig.SIG_DFL:
            raise GuestKilled(signo)
        self._setup_frame(thread, signo, action, info)

    def deliver_signals(self, thread: Thread) -> None:
        """Run the default action or set up the handler's frame for each signal ``thread`` can take now."""
        while True:
            signo = self._deliverable(thread)
            if not signo:
                return
            info = thread.pending.pop(signo)
            action = self.actions[signo]
            if action.handler == sig.SIG_IGN:
                continue
            if action.handler == sig.SIG_DFL:
                kind = sig.default_action(signo)
                if kind in ("term", "core"):
                    raise GuestKilled(signo)
                if kind == "stop":
                    os.kill(os.getpid(), signal.SIGSTOP)
                continue
            if thread.blocked is not None:
                self._interrupt(thread, restart=bool(action.flags & sig.SA_RESTART))
            self._setup_frame(thread, signo, action, info)
            return  # the handler runs first; others are taken when it returns or is interrupted

    def _interrupt(self, thread: Thread, restart: bool) -> None:
        blocked, thread.blocked = thread.blocked, None
        call, nr, args = thread.blocked_call
        if restart and blocked.restartable:
            thread.cpu.pc -= 4  # run the ecall again once the handler returns
            return
        result = blocked.on_interrupt() if blocked.on_interrupt else -errno.EINTR
        self._complete(thread, call, nr, args, result)

    def _setup_frame(self, thread: Thread, signo: int, action: sig.SigAction, info: bytes) -> None:
        cpu = thread.cpu
        sp = cpu.x[2]
        ss_sp, ss_flags, ss_size = thread.altstack
        on_altstack = ss_flags != sig.SS_DISABLE and ss_sp < sp <= ss_sp + ss_size
        if action.flags & sig.SA_ONSTACK and ss_flags != sig.SS_DISABLE and not on_altstack:
            sp = ss_sp + ss_size
        frame = (sp - sig.FRAME_SIZE) & -16
        mask = thread.sigmask if thread.suspend_mask is None else thread.suspend_mask
        thread.suspend_mask = None
        context = sig.pack_ucontext(cpu.pc, cpu.x, cpu.f, cpu.fcsr, mask,
                                    (ss_sp, sig.SS_ONSTACK if on_altstack else ss_flags, ss_size))
        try:
            self.memory.write(frame, info + context)
        except MemoryFault:
            raise GuestKilled(sig.SIGSEGV) from None
        cpu.x[1] = self.started.sigreturn
        cpu.x[2] = frame
        cpu.x[10] = signo
        cpu.x[11] = frame
        cpu.x[12] = frame + sig.SIGINFO_SIZE
        cpu.pc = action.handler
        thread.sigmask |= action.mask | (0 if action.flags & sig.SA_NODEFER else sig.bit(signo))
        thread.sigmask &= ~sig.UNBLOCKABLE
        if action.flags & sig.SA_RESETHAND:
            self.actions[signo] = sig.SigAction()

    def sigreturn(self, thread: Thread) -> None:
        cpu = thread.cpu
        frame = cpu.x[2]
        try:
            context = self.memory.read(frame + sig.SIGINFO_SIZE, sig.FRAME_SIZE - sig.SIGINFO_SIZE)
        except MemoryFault:
            raise GuestKilled(sig.SIGSEGV) from None
        pc, x, f, fcsr, mask = sig.unpack_ucontext(context)
        for i in range(1, 32):
            cpu.x[i] = x[i]
        for i in range(32):
            cpu.f[i] = f[i]
        cpu.fcsr = fcsr & 0xFF
        cpu.pc = pc
        thread.sigmask = mask & ~sig.UNBLOCKABLE
        if self._deliverable(thread):
            cpu.stop = True

    def _on_host_signal(self, signo: int, frame: object) -> None:
        info = sig.pack_siginfo(signo, sig.SI_USER)
        self.queue_signal(signo, info)

    def set_host_disposition(self, signo: int) -> None:
        """Mirror the guest's action for a forwarded signal on the host (SIG_IGN survives an execve)."""
        if signo not in FORWARDED_SIGNALS:
            return
        action = self.actions[signo]
        if action.handler == sig.SIG_IGN:
            signal.signal(signo, signal.SIG_IGN)
            return
        signal.signal(signo, self._on_host_signal)
        # a host call the signal lands in is restarted, as the guest's would be, unless a guest handler
        # without SA_RESTART must see EINTR (ppoll, the idle wait, always returns EINTR)
        signal.siginterrupt(signo, action.handler != sig.SIG_DFL and not action.flags & sig.SA_RESTART)

    def _install_host_signals(self) -> None:
        for signo in FORWARDED_SIGNALS:
            if signal.getsignal(signo) == signal.SIG_IGN:
                self.actions[signo] = sig.SigAction(sig.SIG_IGN)
            self.set_host_disposition(signo)

    # ---------------------------------------------------------------- threads and futexes
    def new_thread(self, cpu: Cpu) -> Thread:
        tid = self.host_pid + self.next_tid
        self.next_tid += 1
        thread = Thread(tid, cpu, sigmask=self.current.sigmask)
        self.threads.append(thread)
        return thread

    def live_threads(self) -> list[Thread]:
        return [t for t in self.threads if not t.exited]

    def exit_thread(self, thread: Thread, status: int) -> None:
        if thread.clear_child_tid:
            try:
                self.memory.store(thread.clear_child_tid, 4, 0)
                self.futex_wake(thread.clear_child_tid, 1, 0xFFFFFFFF)
            except MemoryFault:
                pass
        thread.exited = True
        thread.cpu.stop = True
        self.threads = self.live_threads()
        if not self.threads:
            raise GuestExit(status & 0xFF)

    def futex_wake(self, addr: int, count: int, bitset: int) -> int:
        woken = 0
        waiters = self.futex_waiters.get(addr, [])
        for waiter in list(waiters):
            if woken >= count:
                break
            if waiter.bitset & bitset:
                waiter.woken = True
                waiters.remove(waiter)
                woken += 1
        if not waiters:
            self.futex_waiters.pop(addr, None)
        return woken

    def futex_requeue(self, addr: int, wake: int, requeue: int, addr2: int) -> int:
        done = self.futex_wake(addr, wake, 0xFFFFFFFF)
        waiters = self.futex_waiters.get(addr, [])
        moved = waiters[:requeue]
        del waiters[:requeue]
        if not waiters:
            self.futex_waiters.pop(addr, None)
        for waiter in moved:
            waiter.addr = addr2
            self.futex_waiters.setdefault(addr2, []).append(waiter)
        return done + len(moved)

    def after_fork_child(self, thread: Thread) -> None:
        """In the host child of a fork: only the forking thread lives on, under the child's pid."""
        thread.tid = self.host_pid = os.getpid()
        self.threads = [thread]
        self.current = thread
        self.futex_waiters = {}
        self.next_tid = 1
        self.top_level = False

    # ---------------------------------------------------------------- the scheduler
    def run(self) -> None:
        """Run the guest until it exits (GuestExit), dies (GuestKilled) or is stopped (GuestStopped)."""
        saved = {signo: signal.getsignal(signo) for signo in FORWARDED_SIGNALS}
        self._install_host_signals()
        try:
            self._schedule()
        finally:
            self.aspace.write_back()  # as the kernel does with a dead process's dirty shared pages
            for signo, handler in saved.items():
                signal.signal(signo, handler)

    def _schedule(self) -> None:
        last = None
        while True:
            thread = self._next_thread()
            if thread is None:
                self._wait_for_events()
                continue
            self.current = thread
            cpu = thread.cpu
            if thread is not last:
                cpu.reservation = None
                last = thread
            self.deliver_signals(thread)
            if thread.blocked is not None or thread.exited:
                continue
            budget = QUANTUM if len(self.threads) > 1 else SOLO_QUANTUM
            if self.max_insns is not None:
                budget = min(budget, self.max_insns - self.insns)
                if budget <= 0:
                    raise GuestStopped(f"the guest reached the instruction limit ({self.max_insns})")
            cpu.stop = False
            self.insns += cpu.run(budget)

    def _next_thread(self) -> Thread | None:
        threads = self.threads
        count = len(threads)
        for thread in threads:
            if thread.blocked is not None:
                self._poll_blocked(thread)
        for offset in range(count):
            thread = threads[(self.turn + offset) % count]
            if thread.blocked is None and not thread.exited:
                self.turn = (self.turn + offset + 1) % count
                return thread
        return None

    def _poll_blocked(self, thread: Thread) -> None:
        if self._deliverable(thread):
            self.current = thread
            self.deliver_signals(thread)
            return
        blocked = thread.blocked
        result = blocked.attempt()
        if result is not None:
            thread.blocked = None
            call, nr, args = thread.blocked_call
            self.current = thread
            self._complete(thread, call, nr, args, result)

    def _wait_for_events(self) -> None:
        fds: dict[int, int] = {}
        deadline = None
        children = signals = False
        for thread in self.threads:
            blocked = thread.blocked
            for fd, events in blocked.fds:
                fds[fd] = fds.get(fd, 0) | events
            if blocked.deadline is not None:
                deadline = blocked.deadline if deadline is None else min(deadline, blocked.deadline)
            children |= blocked.waits_children
            signals |= blocked.waits_signals
        timeout: float | None = None
        if deadline is not None:
            timeout = max(deadline - time.monotonic(), 0.0)
        if children:
            timeout = CHILD_POLL_SECONDS if timeout is None else min(timeout, CHILD_POLL_SECONDS)
        if not fds and timeout is None and not signals and not self._can_be_woken():
            raise GuestStopped(f"deadlock: all {len(self.threads)} guest thread(s) wait on futexes "
                               "that no one can wake")
        host_poll(fds, timeout)

    def _can_be_woken(self) -> bool:
        """Whether a signal could still end a wait: an armed timer, or a handler for a signal others send
        (glibc's own SIGCANCEL and SIGSETXID, 32 and 33, only come from the process itself)."""
        return self.timers_armed or any(a.handler not in (sig.SIG_DFL, sig.SIG_IGN)
                                        for signo, a in enumerate(self.actions) if signo not in (0, 32, 33))


@dataclass(eq=False)
class FutexWaiter:
    thread: Thread
    addr: int
    bitset: int
    woken: bool = False


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


def host_poll(fds: dict[int, int], timeout: float | None) -> int:
    """Sleep in the host's ppoll until an fd is ready, ``timeout`` passes or a signal arrives."""
    array = (_PollFd * max(len(fds), 1))(*[_PollFd(fd, events, 0) for fd, events in fds.items()])
    spec = None
    if timeout is not None:
        whole = int(timeout)
        spec = ctypes.create_string_buffer(struct.pack("<qq", whole, int((timeout - whole) * 1e9)), 16)
    return host_syscall("ppoll", ctypes.byref(array), len(fds), spec, None, 8)


def fd_ready(fd: int, events: int) -> bool:
    """True when ``fd`` would not block for ``events`` (or is not pollable at all)."""
    poller = select.poll()
    poller.register(fd, events)
    try:
        return bool(poller.poll(0))
    except OSError:
        return True
