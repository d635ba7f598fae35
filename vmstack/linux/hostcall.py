"""Raw host system calls through libc's syscall(2), for the guest calls whose arguments and
structures have the same layout on the x86-64 host as on riscv64 (timespec, statx, dirent64,
pollfd, rlimit, siginfo, termios...). Returns the kernel's convention: a result, or -errno.
Unlike Python's os functions these never retry after EINTR, so a host signal interrupts them
as it would interrupt the guest's call.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# x86-64 numbers of the host calls made through here
HOST_NR = {
    "read": 0, "write": 1, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "sched_yield": 24,
    "nanosleep": 35, "wait4": 61, "kill": 62, "uname": 63, "fcntl": 72, "flock": 73, "fsync": 74,
    "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getcwd": 79, "chdir": 80, "fchdir": 81,
    "fchmod": 91, "fchown": 93, "umask": 95, "gettimeofday": 96, "getrusage": 98, "sysinfo": 99,
    "times": 100, "getuid": 102, "getgid": 104, "setuid": 105, "setgid": 106, "geteuid": 107,
    "getegid": 108, "setpgid": 109, "getppid": 110, "getpgrp": 111, "setsid": 112, "setreuid": 113,
    "setregid": 114, "getgroups": 115, "setgroups": 116, "setresuid": 117, "getresuid": 118,
    "setresgid": 119, "getresgid": 120, "getpgid": 121, "setfsuid": 122, "setfsgid": 123,
    "getsid": 124, "ioctl": 16, "lseek": 8, "close": 3, "dup": 32, "sendfile": 40, "socket": 41,
    "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45, "shutdown": 48, "bind": 49,
    "listen": 50, "getsockname": 51, "getpeername": 52, "socketpair": 53, "setsockopt": 54,
    "getsockopt": 55, "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230,
    "getdents64": 217, "openat": 257, "mkdirat": 258, "mknodat": 259, "fchownat": 260,
    "unlinkat": 263, "linkat": 265, "symlinkat": 266, "readlinkat": 267, "fchmodat": 268,
    "faccessat": 269, "pselect6": 270, "ppoll": 271, "utimensat": 280, "accept4": 288, "dup3": 292,
    "pipe2": 293, "prlimit64": 302, "renameat2": 316, "getrandom": 318, "statx": 332,
    "faccessat2": 439, "waitid": 247, "fallocate": 285, "sync": 162, "syncfs": 306,
    "setitimer": 38, "getitimer": 36, "alarm": 37, "copy_file_range": 326, "getcpu": 309,
    "sched_getaffinity": 204, "sched_setaffinity": 203, "getpriority": 140, "setpriority": 141,
    "fadvise64": 221, "chroot": 161, "memfd_create": 319, "eventfd2": 290, "close_range": 436,
    "fstatfs": 138, "statfs": 137, "sync_file_range": 277, "readahead": 187, "splice": 275,
    "tee": 276, "timerfd_create": 283, "timerfd_settime": 286, "timerfd_gettime": 287,
    "personality": 135, "pidfd_open": 434, "mincore": 27, "msync": 26, "capget": 125,
    "capset": 126, "prctl": 157, "sched_getparam": 143, "sched_getscheduler": 145,
    "sched_get_priority_max": 146, "sched_get_priority_min": 147, "sched_setscheduler": 144,
    "sched_setparam": 142, "sched_rr_get_interval": 148, "vhangup": 153, "acct": 163,
    "sethostname": 170, "setdomainname": 171, "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193,
    "listxattr": 194, "llistxattr": 195, "flistxattr": 196, "setxattr": 188, "lsetxattr": 189,
    "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
    "inotify_init1": 294, "inotify_add_watch": 254, "inotify_rm_watch": 255, "signalfd4": 289,
    "mlock": 149, "munlock": 150, "mlockall": 151, "munlockall": 152, "membarrier": 324,
    "preadv": 295, "pwritev": 296, "sendmmsg": 307, "recvmmsg": 299, "utimes": 235,
    "futimesat": 261, "name_to_handle_at": 303, "tkill": 200, "tgkill": 234,
    "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
}


def host_syscall(name: str, *args: int | bytes | ctypes.Array | None) -> int:
    """Call the host's ``name`` system call; ints are passed as longs, buffers by address."""
    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result = _syscall(ctypes.c_long(HOST_NR[name]), *converted)
    if result == -1:
        return -ctypes.get_errno()
    return result
