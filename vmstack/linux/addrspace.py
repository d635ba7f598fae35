"""The guest process's address space as Linux lays it out on riscv64 (Sv39, 256 GiB of user space):
the list of mapped areas over guest Memory, the program break, and where mmap puts things
(top-down from below the stack, as the kernel's default layout does).
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import os
from dataclasses import dataclass

from ..riscv.memory import PAGE_SIZE, PROT_READ, PROT_WRITE, Memory, MemoryFault

TASK_SIZE = 1 << 38
STACK_TOP = TASK_SIZE
STACK_SIZE = 8 << 20                         # RLIMIT_STACK's default
MMAP_BASE = TASK_SIZE - (128 << 20)          # the kernel's minimum gap below the stack
ELF_ET_DYN_BASE = (TASK_SIZE // 3 * 2) & -PAGE_SIZE
MMAP_MIN_ADDR = 0x10000
PRIVATE_FD_BASE = 1000  # descriptors vmstack keeps for itself sit above the guest's usual numbers


@dataclass
class SharedFile:
    """A MAP_SHARED file mapping: a private copy whose changed pages are written back to the file
    (on munmap, msync, exec and exit), compared against what was read at map time."""

    start: int
    end: int
    fd: int        # vmstack's own duplicate of the guest's descriptor
    offset: int
    original: bytes


def page_up(value: int) -> int:
    return (value + PAGE_SIZE - 1) & -PAGE_SIZE


class AddressSpace:
    """Mapped areas [start, end) with their protections, kept sorted and non-overlapping."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.starts: list[int] = []
        self.areas: dict[int, tuple[int, int]] = {}  # start -> (end, prot)
        self.brk_start = self.brk = 0
        self.shared: list[SharedFile] = []

    # ---- the area list
    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return i > 0 and self.areas[self.starts[i - 1]][0] > start

    def covered(self, start: int, end: int) -> bool:
        """True when every page of [start, end) is mapped."""
        at = start
        i = bisect.bisect_right(self.starts, at) - 1
        while at < end:
            if i < 0 or i >= len(self.starts):
                return False
            s = self.starts[i]
            area_end, _ = self.areas[s]
            if s > at or area_end <= at:
                return False
            at = area_end
            i += 1
        return True

    def _cut(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """Remove [start, end) from the list, keeping the parts of areas outside it; return the cut pieces."""
        removed = []
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            s = self.starts[i]
            e, prot = self.areas[s]
            if e <= start:
                i += 1
                continue
            del self.starts[i]
            del self.areas[s]
            removed.append((max(s, start), min(e, end), prot))
            if s < start:
                self._insert(s, start, prot)
                i += 1
            if e > end:
                self._insert(end, e, prot)
                i += 1
        return removed

    def _insert(self, start: int, end: int, prot: int) -> None:
        bisect.insort(self.starts, start)
        self.areas[start] = (end, prot)

    # ---- operations on both the list and guest memory
    def map(self, start: int, length: int, prot: int) -> None:
        """Map zero-filled pages; PROT_NONE areas (reservations) get guest pages only when made accessible."""
        end = start + page_up(length)
        self._release_shared(start, end)
        self._cut(start, end)
        self._insert(start, end, prot)
        if prot:
            self.memory.map(start, end - start, prot)
        else:
            self.memory.unmap(start, end - start)

    def unmap(self, start: int, length: int) -> None:
        end = start + page_up(length)
        self._release_shared(start, end)
        for s, e, _ in self._cut(start, end):
            self.memory.unmap(s, e - s)

    def protect(self, start: int, length: int, prot: int) -> None:
        end = start + page_up(length)
        if not self.covered(start, end):
            raise OSError(errno.ENOMEM, "not mapped")
        self._cut(start, end)
        self._insert(start, end, prot)
        self.memory.protect(start, end - start, prot)
        if prot:
            for page in range(start, end, PAGE_SIZE):
                if not self.memory.is_mapped(page):
                    self.memory.map(page, PAGE_SIZE, prot)

    def find_free(self, length: int, hint: int = 0) -> int:
        """A free page-aligned range of ``length`` bytes: at ``hint`` if free, else top-down below MMAP_BASE."""
        length = page_up(length)
        if hint:
            hint = page_up(hint)
            if MMAP_MIN_ADDR <= hint and hint + length <= TASK_SIZE and not self.overlaps(hint, hint + length):
                return hint
        top = MMAP_BASE
        for s in reversed(self.starts):
            e, _ = self.areas[s]
            if e > top:
                top = min(top, s)
                continue
            if top - e >= length:
                return top - length
            top = s
        if top - length >= MMAP_MIN_ADDR:
            return top - length
        raise OSError(errno.ENOMEM, "address space exhausted")

    # ---- shared file mappings
    def share_file(self, start: int, data: bytes, fd: int, offset: int) -> None:
        """Remember that [start, start + len(data)) maps ``fd`` at ``offset`` with MAP_SHARED."""
        own = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, PRIVATE_FD_BASE)
        self.shared.append(SharedFile(start, start + page_up(len(data)), own, offset, data))

    def write_back(self, start: int = 0, end: int = TASK_SIZE) -> None:
        """Write the changed pages of shared file mappings within [start, end) to their files."""
        for shared in self.shared:
            for page in range(max(start, shared.start), min(end, shared.end), PAGE_SIZE):
                at = page - shared.start
                before = shared.original[at:at + PAGE_SIZE]
                if not before:
                    break
                try:
                    now = self.memory.read(page, len(before))
                except MemoryFault:
                    continue
                if now != before:
                    os.pwrite(shared.fd, now, shared.offset + at)

    def _release_shared(self, start: int, end: int) -> None:
        if not self.shared:
            return
        self.write_back(start, end)
        kept = []
        for shared in self.shared:
            if start <= shared.start and shared.end <= end:
                os.close(shared.fd)
            else:
                kept.append(shared)
        self.shared = kept

    # ---- the program break
    def set_brk_start(self, addr: int) -> None:
        self.brk_start = self.brk = page_up(addr)

    def set_brk(self, addr: int) -> int:
        """brk(2): move the break to ``addr`` if possible; always returns the break in force."""
        if addr < self.brk_start:
            return self.brk
        old_top, new_top = page_up(self.brk), page_up(addr)
        if new_top > old_top:
            if self.overlaps(old_top, new_top) or new_top > MMAP_BASE:
                return self.brk
            self.map(old_top, new_top - old_top, PROT_READ | PROT_WRITE)
        elif new_top < old_top:
            self.unmap(new_top, old_top - new_top)
        self.brk = addr
        return self.brk
