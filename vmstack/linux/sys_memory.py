"""Memory system calls: brk, mmap (anonymous and private file mappings, read in at map time),
munmap, mprotect, mremap and madvise, over the AddressSpace.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from ..riscv.memory import PAGE_SIZE, PROT_READ, MemoryFault
from .addrspace import TASK_SIZE, page_up
from .table import syscall

if TYPE_CHECKING:
    from .process import Process, Thread

MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MADV_DONTNEED = 4
PROT_MASK = 7


@syscall(214, "brk", "p", returns="x")
def sys_brk(proc: Process, thread: Thread, addr: int) -> int:
    return proc.aspace.set_brk(addr)


@syscall(222, "mmap", "p u prot mflags fd x", returns="x")
def sys_mmap(proc: Process, thread: Thread, addr: int, length: int, prot: int, flags: int, fd: int,
             offset: int) -> int:
    aspace = proc.aspace
    if not length or offset & (PAGE_SIZE - 1) or length > TASK_SIZE or prot & ~PROT_MASK:
        return -errno.EINVAL
    if not flags & (MAP_SHARED | MAP_PRIVATE):
        return -errno.EINVAL
    size = page_up(length)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1) or addr + size > TASK_SIZE:
            return -errno.EINVAL
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and aspace.overlaps(addr, addr + size):
            return -errno.EEXIST
        start = addr
    else:
        start = aspace.find_free(size, addr)
    data = b""
    if not flags & MAP_ANONYMOUS:
        mode = os.fstat(fd).st_mode  # EBADF for a bad descriptor
        if (mode & 0o170000) == 0o040000:
            return -errno.ENODEV
        data = os.pread(fd, length, offset)
    aspace.map(start, size, prot)
    if data and flags & MAP_SHARED:
        aspace.share_file(start, data, fd, offset)
    if data:
        if prot:
            proc.memory.poke(start, data)
        else:  # a PROT_NONE file mapping: keep the contents for a later mprotect
            aspace.protect(start, size, PROT_READ)
            proc.memory.poke(start, data)
            aspace.protect(start, size, 0)
    return start


@syscall(215, "munmap", "p u")
def sys_munmap(proc: Process, thread: Thread, addr: int, length: int) -> int:
    if addr & (PAGE_SIZE - 1) or not length:
        return -errno.EINVAL
    proc.aspace.unmap(addr, length)
    return 0


@syscall(226, "mprotect", "p u prot")
def sys_mprotect(proc: Process, thread: Thread, addr: int, length: int, prot: int) -> int:
    if addr & (PAGE_SIZE - 1) or prot & ~PROT_MASK:
        return -errno.EINVAL
    if length:
        proc.aspace.protect(addr, length, prot)
    return 0


@syscall(216, "mremap", "p u u x p", returns="x")
def sys_mremap(proc: Process, thread: Thread, old: int, old_size: int, new_size: int, flags: int,
               new_addr: int) -> int:
    aspace = proc.aspace
    if old & (PAGE_SIZE - 1) or not new_size:
        return -errno.EINVAL
    old_size, new_size = page_up(old_size), page_up(new_size)
    if not aspace.covered(old, old + old_size):
        return -errno.EFAULT
    prot = aspace.areas[max(s for s in aspace.starts if s <= old)][1]
    if new_size <= old_size and not flags & MREMAP_FIXED:
        if new_size < old_size:
            aspace.unmap(old + new_size, old_size - new_size)
        return old
    if not flags & MREMAP_FIXED and not aspace.overlaps(old + old_size, old + new_size):
        aspace.map(old + old_size, new_size - old_size, prot)
        return old
    if not flags & MREMAP_MAYMOVE:
        return -errno.ENOMEM
    target = new_addr if flags & MREMAP_FIXED else aspace.find_free(new_size)
    try:
        data = proc.memory.read(old, old_size) if prot & PROT_READ else b""
    except MemoryFault:
        data = b""
    aspace.map(target, new_size, prot)
    if data:
        proc.memory.poke(target, data)
    aspace.unmap(old, old_size)
    return target


@syscall(233, "madvise", "p u i")
def sys_madvise(proc: Process, thread: Thread, addr: int, length: int, advice: int) -> int:
    if addr & (PAGE_SIZE - 1):
        return -errno.EINVAL
    if advice == MADV_DONTNEED:  # private anonymous memory reads back as zeros afterwards
        aspace = proc.aspace
        end = addr + page_up(length)
        for start in [s for s in aspace.starts if s < end and aspace.areas[s][0] > addr]:
            area_end, prot = aspace.areas[start]
            lo, hi = max(start, addr), min(area_end, end)
            aspace.map(lo, hi - lo, prot)
    return 0


@syscall(227, "msync", "p u x")
def sys_msync(proc: Process, thread: Thread, addr: int, length: int, flags: int) -> int:
    if not proc.aspace.covered(addr, addr + page_up(length)):
        return -errno.ENOMEM
    proc.aspace.write_back(addr, addr + page_up(length))
    return 0


def sys_memory_lock(proc: Process, thread: Thread, addr: int, length: int) -> int:
    """mlock and munlock: guest memory is never paged out, so there is nothing to do."""
    return 0


syscall(228, "mlock", "p u")(sys_memory_lock)
syscall(229, "munlock", "p u")(sys_memory_lock)
