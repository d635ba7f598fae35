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
    "read": 0, "write": 1, "close": 3, "lseek": 8, "ioctl": 16, "pread64": 17, "pwrite64": 18, "dup": 32,
    "getitimer": 36, "setitimer": 38, "sendfile": 40, "socket": 41, "connect": 42, "sendto": 44,
    "shutdown": 48, "bind": 49, "listen": 50, "socketpair": 53, "setsockopt": 54, "kill": 62, "fcntl": 72,
    "flock": 73, "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getcwd": 79, "chdir": 80,
    "fchdir": 81, "fchmod": 91, "fchown": 93, "umask": 95, "gettimeofday": 96, "getrusage": 98,
    "sysinfo": 99, "times": 100, "getuid": 102, "getgid": 104, "setuid": 105, "setgid": 106,
    "geteuid": 107, "getegid": 108, "setpgid": 109, "getppid": 110, "setsid": 112, "setreuid": 113,
    "setregid": 114, "setresuid": 117, "getresuid": 118, "setresgid": 119, "getresgid": 120,
    "getpgid": 121, "setfsuid": 122, "setfsgid": 123, "getsid": 124, "rt_sigqueueinfo": 129, "statfs": 137,
    "fstatfs": 138, "getpriority": 140, "setpriority": 141, "prctl": 157, "chroot": 161, "sync": 162,
    "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193, "listxattr": 194, "llistxattr": 195,
    "flistxattr": 196, "tkill": 200, "getdents64": 217, "fadvise64": 221, "clock_gettime": 228,
    "clock_getres": 229, "tgkill": 234, "inotify_add_watch": 254, "inotify_rm_watch": 255, "openat": 257,
    "mkdirat": 258, "mknodat": 259, "fchownat": 260, "unlinkat": 263, "linkat": 265, "symlinkat": 266,
    "fchmodat": 268, "faccessat": 269, "pselect6": 270, "ppoll": 271, "sync_file_range": 277,
    "utimensat": 280, "fallocate": 285, "eventfd2": 290, "dup3": 292, "pipe2": 293, "inotify_init1": 294,
    "rt_tgsigqueueinfo": 297, "prlimit64": 302, "getcpu": 309, "renameat2": 316, "getrandom": 318,
    "memfd_create": 319, "copy_file_range": 326, "statx": 332, "close_range": 436, "faccessat2": 439,
    # called by name from a variable (sockets with an address out, the waits)
    "recvfrom": 45, "getsockname": 51, "getpeername": 52, "getsockopt": 55, "wait4": 61, "waitid": 247,
    "accept4": 288, "epoll_wait": 232, "epoll_ctl": 233, "epoll_create1": 291,
    "sendmsg": 46, "recvmsg": 47, "timer_create": 222, "timer_settime": 223, "timer_gettime": 224,
    "timer_getoverrun": 225, "timer_delete": 226,
}


def host_syscall(name: str, *args: int | bytes | ctypes.Array | None) -> int:
    """Call the host's ``name`` system call; ints are passed as longs, buffers by address."""
    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result = _syscall(ctypes.c_long(HOST_NR[name]), *converted)
    if result == -1:
        return -ctypes.get_errno()
    return result
