"""Linux signals as a riscv64 guest sees them: numbers, default actions, the shell's names for a
death by signal, and the rt_sigframe the kernel pushes on the guest stack to run a handler
(arch/riscv/kernel/signal.c: a siginfo, then a ucontext whose mcontext is struct sigcontext with
the D-extension FP state) and pops again in rt_sigreturn.
"""

from __future__ import annotations

import signal
import struct
from dataclasses import dataclass

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 9, 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG = 17, 18, 19, 20, 21, 22, 23
SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = 24, 25, 26, 27, 28, 29, 30, 31
NSIG = 64

SIG_DFL, SIG_IGN = 0, 1
SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x08000000, 0x10000000, 0x40000000, 0x80000000
SS_ONSTACK, SS_DISABLE = 1, 2
SI_USER, SI_TKILL = 0, -6
SEGV_MAPERR, SEGV_ACCERR, ILL_ILLOPC, BUS_ADRALN, TRAP_BRKPT = 1, 2, 1, 1, 1

UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
IGNORED_BY_DEFAULT = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH}
STOP_BY_DEFAULT = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
CORE_BY_DEFAULT = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}

def death_message(signo: int) -> str:
    """The line a shell prints for a job killed by ``signo`` (nothing for SIGINT and SIGPIPE)."""
    if signo in (SIGINT, SIGPIPE):
        return ""
    return signal.strsignal(signo) or f"Signal {signo}"


def bit(signo: int) -> int:
    return 1 << (signo - 1)


@dataclass
class SigAction:
    """A guest's struct sigaction (riscv64 has no sa_restorer field in the kernel's layout)."""

    handler: int = SIG_DFL
    flags: int = 0
    mask: int = 0

    PACKED = struct.Struct("<QQQ")

    def pack(self) -> bytes:
        return self.PACKED.pack(self.handler, self.flags, self.mask)

    @classmethod
    def unpack(cls, data: bytes) -> SigAction:
        return cls(*cls.PACKED.unpack(data))


def default_action(signo: int) -> str:
    """'ignore', 'stop', 'continue', 'core' or 'term': what SIG_DFL does with ``signo``."""
    if signo == SIGCONT:
        return "continue"
    if signo in IGNORED_BY_DEFAULT:
        return "ignore"
    if signo in STOP_BY_DEFAULT:
        return "stop"
    if signo in CORE_BY_DEFAULT:
        return "core"
    return "term"


# ---------------------------------------------------------------- the signal frame

SIGINFO_SIZE = 128
UC_SIGMASK = 40               # ucontext: uc_flags, uc_link, stack_t, then the mask
UC_MCONTEXT = 176             # struct sigcontext is 16-byte aligned
MC_FPREGS = UC_MCONTEXT + 256  # after pc and x1..x31
MC_FCSR = MC_FPREGS + 256
FRAME_SIZE = SIGINFO_SIZE + UC_MCONTEXT + 256 + 528


def pack_siginfo(signo: int, code: int, *, pid: int = 0, uid: int = 0, addr: int | None = None,
                 status: int = 0) -> bytes:
    """A siginfo_t: kill-style (pid, uid), fault-style (addr) or SIGCHLD-style (pid, uid, status)."""
    head = struct.pack("<iii4x", signo, 0, code)
    if addr is not None:
        body = struct.pack("<Q", addr)
    elif signo == SIGCHLD:
        body = struct.pack("<iii", pid, uid, status)
    else:
        body = struct.pack("<ii", pid, uid)
    return (head + body).ljust(SIGINFO_SIZE, b"\0")


def pack_ucontext(pc: int, x: list[int], f: list[int], fcsr: int, sigmask: int,
                  altstack: tuple[int, int, int]) -> bytes:
    """The ucontext saved for a handler: registers, FP state, the mask to restore, the altstack."""
    ss_sp, ss_flags, ss_size = altstack
    head = struct.pack("<QQQi4xQQ", 0, 0, ss_sp, ss_flags, ss_size, sigmask).ljust(UC_MCONTEXT, b"\0")
    regs = struct.pack("<32Q", pc, *x[1:32])
    fpregs = struct.pack("<32QI", *f, fcsr).ljust(528, b"\0")
    return head + regs + fpregs


def unpack_ucontext(data: bytes) -> tuple[int, list[int], list[int], int, int]:
    """(pc, x, f, fcsr, sigmask) from a ucontext a handler returns through."""
    (sigmask,) = struct.unpack_from("<Q", data, UC_SIGMASK)
    regs = struct.unpack_from("<32Q", data, UC_MCONTEXT)
    f = list(struct.unpack_from("<32Q", data, MC_FPREGS))
    (fcsr,) = struct.unpack_from("<I", data, MC_FCSR)
    return regs[0], [0, *regs[1:]], f, fcsr, sigmask
