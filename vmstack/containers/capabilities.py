"""Linux capabilities of the container process: the five sets of process.capabilities applied with
prctl (bounding drop, ambient raise) and capset (effective, permitted, inheritable)."""

from __future__ import annotations

import errno
import sys

from vmstack.containers import libc

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from vmstack.containers.spec import Capabilities

CAP_NAMES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
CAP_NUMBERS = {name: number for number, name in enumerate(CAP_NAMES)}

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


def last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def mask(names: list[str], top: int) -> int:
    """The bit mask of capability names up to the kernel's last one, `top`; unknown names are warned
    about and ignored, as runc does."""
    bits = 0
    for name in names:
        number = CAP_NUMBERS.get(name.upper())
        if number is None:
            print(f"warning: unknown capability {name!r} ignored", file=sys.stderr)
        elif number <= top:
            bits |= 1 << number
    return bits


def drop_bounding(caps: Capabilities) -> None:
    """Drop from the bounding set every capability not listed in caps.bounding (needs CAP_SETPCAP)."""
    top = last_cap()
    keep = mask(caps.bounding, top)
    for number in range(top + 1):
        if not keep >> number & 1 and libc.prctl(PR_CAPBSET_READ, number) == 1:
            libc.prctl(PR_CAPBSET_DROP, number)


def keep_across_setuid() -> None:
    libc.prctl(PR_SET_KEEPCAPS, 1)


def apply(caps: Capabilities) -> None:
    """Set effective, permitted and inheritable, then raise ambient (after the uid change)."""
    _, held, _ = libc.capget()
    top = last_cap()
    permitted = mask(caps.permitted, top) & held  # one this runtime lacks (e.g. CAP_SYS_RESOURCE here)
    libc.capset(mask(caps.effective, top) & permitted, permitted, mask(caps.inheritable, top) & permitted)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    ambient = mask(caps.ambient, top)
    for number in range(top + 1):
        if ambient >> number & 1:
            try:
                libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number)
            except OSError as error:  # not in permitted and inheritable: the kernel refuses, runc ignores
                if error.errno != errno.EPERM:
                    raise
