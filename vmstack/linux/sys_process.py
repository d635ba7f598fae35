"""Processes and threads: exit, clone/clone3 (a new green thread with CLONE_VM|CLONE_THREAD, a host
fork otherwise), execve, wait4/waitid, futex, set_tid_address and the robust list.

execve of a riscv64 program (or of a ``#!`` script whose interpreter is one) replaces the host
process with a fresh vmstack running it, so the host kernel closes O_CLOEXEC descriptors and keeps
the rest, as for any exec. Any other file is exec'd by the host kernel itself: that is what Linux
with qemu-riscv64 registered in binfmt_misc does when a riscv64 process runs a host program.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
import time
from typing import TYPE_CHECKING

from .elf import EM_RISCV
from .hostcall import host_syscall
from .process import NO_RESULT, Blocked, FutexWaiter, GuestExit
from .table import syscall

if TYPE_CHECKING:
    from .process import Process, Thread

CLONE_VM, CLONE_SIGHAND, CLONE_THREAD = 0x100, 0x800, 0x10000
CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x80000, 0x100000, 0x200000
CLONE_CHILD_SETTID = 0x1000000
WNOHANG = 1
FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = 0, 1, 3, 4, 5
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_BITSET_ALL = 0xFFFFFFFF


@syscall(93, "exit", "i")
def sys_exit(proc: Process, thread: Thread, status: int) -> object:
    proc.exit_thread(thread, status)
    return NO_RESULT


@syscall(94, "exit_group", "i")
def sys_exit_group(proc: Process, thread: Thread, status: int) -> object:
    raise GuestExit(status & 0xFF)


@syscall(96, "set_tid_address", "p")
def sys_set_tid_address(proc: Process, thread: Thread, addr: int) -> int:
    thread.clear_child_tid = addr
    return thread.tid


@syscall(99, "set_robust_list", "p u")
def sys_set_robust_list(proc: Process, thread: Thread, head: int, size: int) -> int:
    if size != 24:
        return -errno.EINVAL
    thread.robust_list = head
    return 0


@syscall(100, "get_robust_list", "i p p")
def sys_get_robust_list(proc: Process, thread: Thread, tid: int, head: int, size: int) -> int:
    target = thread if tid == 0 else next((t for t in proc.threads if t.tid == tid), None)
    if target is None:
        return -errno.ESRCH
    proc.memory.store(head, 8, target.robust_list)
    proc.memory.store(size, 8, 24)
    return 0


@syscall(124, "sched_yield", "")
def sys_sched_yield(proc: Process, thread: Thread) -> int:
    thread.cpu.stop = True  # let the next green thread run
    return 0


# ---------------------------------------------------------------- clone


def _clone(proc: Process, thread: Thread, flags: int, stack: int, parent_tid: int, tls: int,
           child_tid: int) -> int:
    memory = proc.memory
    if flags & CLONE_THREAD and not (flags & CLONE_VM and flags & CLONE_SIGHAND):
        return -errno.EINVAL
    if flags & CLONE_VM and flags & CLONE_THREAD:
        child = proc.new_thread(thread.cpu.copy_state())
        cpu = child.cpu
        cpu.x[10] = 0
        if stack:
            cpu.x[2] = stack
        if flags & CLONE_SETTLS:
            cpu.x[4] = tls
        if flags & CLONE_PARENT_SETTID:
            memory.store(parent_tid, 4, child.tid)
        if flags & CLONE_CHILD_SETTID:
            memory.store(child_tid, 4, child.tid)
        if flags & CLONE_CHILD_CLEARTID:
            child.clear_child_tid = child_tid
        return child.tid
    # a new process (fork, vfork, posix_spawn's CLONE_VM|CLONE_VFORK): the host forks
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        if flags & CLONE_PARENT_SETTID:
            memory.store(parent_tid, 4, pid)
        return pid
    proc.after_fork_child(thread)
    if stack:
        thread.cpu.x[2] = stack
    if flags & CLONE_SETTLS:
        thread.cpu.x[4] = tls
    if flags & CLONE_CHILD_SETTID:
        memory.store(child_tid, 4, thread.tid)
    if flags & CLONE_CHILD_CLEARTID:
        thread.clear_child_tid = child_tid
    return 0


@syscall(220, "clone", "x p p p p")
def sys_clone(proc: Process, thread: Thread, flags: int, stack: int, parent_tid: int, tls: int,
              child_tid: int) -> int:
    return _clone(proc, thread, flags, stack, parent_tid, tls, child_tid)


@syscall(435, "clone3", "p u")
def sys_clone3(proc: Process, thread: Thread, args: int, size: int) -> int:
    if size < 64:
        return -errno.EINVAL
    flags, _pidfd, child_tid, parent_tid, _exit_signal, stack, stack_size, tls = struct.unpack(
        "<8Q", proc.memory.read(args, 64))
    return _clone(proc, thread, flags, stack + stack_size if stack else 0, parent_tid, tls, child_tid)


# ---------------------------------------------------------------- wait


def _wait_call(name: str, args: list, copy_back: list[tuple[int, ctypes.Array]], options: int,
               options_index: int, proc: Process) -> int:
    def attempt() -> int | None:
        call_args = list(args)
        call_args[options_index] = options | WNOHANG
        result = host_syscall(name, *call_args)
        if result >= 0:
            for addr, buf in copy_back:
                proc.memory.write(addr, buf.raw)
        if name == "waitid" and result == 0 and not options & WNOHANG:
            (signo,) = struct.unpack_from("<i", args[2].raw, 0) if args[2] is not None else (1,)
            return 0 if signo else None
        if result == 0 and name == "wait4" and not options & WNOHANG:
            return None
        return result

    result = attempt()
    if result is not None:
        return result
    raise Blocked(attempt=attempt, waits_children=True)


@syscall(260, "wait4", "i p x p")
def sys_wait4(proc: Process, thread: Thread, pid: int, status: int, options: int, rusage: int) -> int:
    status_buf = ctypes.create_string_buffer(4) if status else None
    rusage_buf = ctypes.create_string_buffer(144) if rusage else None
    copy_back = [(a, b) for a, b in ((status, status_buf), (rusage, rusage_buf)) if a]
    return _wait_call("wait4", [pid, status_buf, options, rusage_buf], copy_back, options, 2, proc)


@syscall(95, "waitid", "i i p x p")
def sys_waitid(proc: Process, thread: Thread, idtype: int, ident: int, info: int, options: int,
               rusage: int) -> int:
    info_buf = ctypes.create_string_buffer(128)
    rusage_buf = ctypes.create_string_buffer(144) if rusage else None
    copy_back = [(a, b) for a, b in ((info, info_buf), (rusage, rusage_buf)) if a]
    return _wait_call("waitid", [idtype, ident, info_buf, options, rusage_buf], copy_back, options, 3, proc)


# ---------------------------------------------------------------- futex


@syscall(98, "futex", "p i u p p u")
def sys_futex(proc: Process, thread: Thread, addr: int, op: int, val: int, timeout: int, addr2: int,
              val3: int) -> int:
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    val &= 0xFFFFFFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = FUTEX_BITSET_ALL if cmd == FUTEX_WAIT else val3 & 0xFFFFFFFF
        if not bitset:
            return -errno.EINVAL
        if addr & 3:
            return -errno.EINVAL
        if proc.load32(addr) != val:
            return -errno.EAGAIN
        deadline = None
        if timeout:
            seconds, nanos = struct.unpack("<qq", proc.memory.read(timeout, 16))
            if cmd == FUTEX_WAIT:  # relative
                deadline = time.monotonic() + seconds + nanos / 1e9
            elif op & FUTEX_CLOCK_REALTIME:
                deadline = time.monotonic() + (seconds + nanos / 1e9 - time.time())
            else:
                deadline = seconds + nanos / 1e9
        return _futex_park(proc, thread, addr, bitset, deadline)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = FUTEX_BITSET_ALL if cmd == FUTEX_WAKE else val3 & 0xFFFFFFFF
        return proc.futex_wake(addr, val, bitset) if bitset else -errno.EINVAL
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if cmd == FUTEX_CMP_REQUEUE and proc.load32(addr) != val3 & 0xFFFFFFFF:
            return -errno.EAGAIN
        return proc.futex_requeue(addr, val, timeout & 0x7FFFFFFF, addr2)
    if cmd == FUTEX_WAKE_OP:
        return _futex_wake_op(proc, addr, val, timeout & 0x7FFFFFFF, addr2, val3)
    return -errno.ENOSYS


def _futex_park(proc: Process, thread: Thread, addr: int, bitset: int, deadline: float | None) -> int:
    waiter = FutexWaiter(thread, addr, bitset)
    proc.futex_waiters.setdefault(addr, []).append(waiter)

    def forget() -> None:
        waiters = proc.futex_waiters.get(waiter.addr, [])
        if waiter in waiters:
            waiters.remove(waiter)

    def attempt() -> int | None:
        if waiter.woken:
            return 0
        if deadline is not None and time.monotonic() >= deadline:
            forget()
            return -errno.ETIMEDOUT
        return None

    def interrupted() -> int:
        forget()
        return -errno.EINTR

    raise Blocked(attempt=attempt, deadline=deadline, restartable=False, on_interrupt=interrupted)


def _futex_wake_op(proc: Process, addr: int, count: int, count2: int, addr2: int, encoded: int) -> int:
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    oparg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if op & 8:  # FUTEX_OP_OPARG_SHIFT
        oparg = 1 << (oparg & 31)
        op &= 7
    old = proc.load32(addr2)
    new = {0: oparg, 1: old + oparg, 2: old | oparg, 3: old & ~oparg, 4: old ^ oparg}.get(op)
    if new is None:
        return -errno.ENOSYS
    proc.memory.store(addr2, 4, new & 0xFFFFFFFF)
    signed_old = old - ((old & 0x80000000) << 1)
    test = {0: signed_old == cmparg, 1: signed_old != cmparg, 2: signed_old < cmparg,
            3: signed_old <= cmparg, 4: signed_old > cmparg, 5: signed_old >= cmparg}.get(cmp)
    if test is None:
        return -errno.ENOSYS
    woken = proc.futex_wake(addr, count, FUTEX_BITSET_ALL)
    if test:
        woken += proc.futex_wake(addr2, count2, FUTEX_BITSET_ALL)
    return woken


# ---------------------------------------------------------------- execve


def _string_array(proc: Process, addr: int) -> list[bytes]:
    items = []
    while addr:
        pointer = proc.memory.load(addr, 8)
        if not pointer:
            break
        items.append(proc.read_string(pointer))
        addr += 8
        if len(items) > 65536:
            raise OSError(errno.E2BIG, "argument list too long")
    return items


def is_riscv_elf(path: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and len(head) == 20 and head[4] == 2 and \
        int.from_bytes(head[18:20], "little") == EM_RISCV


def _script_interpreter(path: bytes) -> list[bytes] | None:
    """[interpreter, optional argument] from a ``#!`` line, as the kernel's binfmt_script splits it."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip(b" \t")
    if not line:
        return None
    interp, _, arg = line.partition(b" ")
    arg = arg.strip(b" \t")
    return [interp, arg] if arg else [interp]


@syscall(221, "execve", "path p p")
def sys_execve(proc: Process, thread: Thread, path: int, argv: int, envp: int) -> int:
    name = proc.read_string(path)
    args = _string_array(proc, argv)
    env = _string_array(proc, envp)
    target = proc.guest_path(name, lookup=True)
    if not os.path.exists(target):
        return -errno.ENOENT
    if os.path.isdir(target):
        return -errno.EACCES
    if not os.access(target, os.X_OK):
        return -errno.EACCES
    program, program_args = target, args
    script = _script_interpreter(target)
    if script is not None:
        interp = proc.guest_path(script[0], lookup=True)
        if is_riscv_elf(interp):
            program, program_args = interp, [script[0], *script[1:], name, *args[1:]]
    proc.aspace.write_back()
    if not is_riscv_elf(program):
        os.execve(target, args, dict(_env_pairs(env)))  # the host kernel runs it (raises OSError)
    from .runner import exec_vmstack

    exec_vmstack(proc, program, program_args, env, execfn=name if program is target else script[0])
    return -errno.ENOEXEC


def _env_pairs(env: list[bytes]) -> list[tuple[bytes, bytes]]:
    pairs = []
    for item in env:
        key, sep, value = item.partition(b"=")
        if sep and key:
            pairs.append((key, value))
    return pairs

