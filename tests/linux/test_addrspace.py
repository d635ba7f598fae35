"""The address space bookkeeping: mmap placement, splitting on unmap/mprotect, the program break."""

from __future__ import annotations

import errno

import pytest

from vmstack.linux.addrspace import MMAP_BASE, AddressSpace
from vmstack.riscv.memory import PROT_READ, PROT_WRITE, Memory, MemoryFault

RW = PROT_READ | PROT_WRITE


def test_mmap_goes_top_down_below_the_stack_gap() -> None:
    space = AddressSpace(Memory())
    first = space.find_free(8192)
    assert first == MMAP_BASE - 8192
    space.map(first, 8192, RW)
    second = space.find_free(4096)
    assert second == first - 4096
    space.map(second, 4096, RW)
    space.unmap(first, 4096)  # a hole big enough for one page is reused
    assert space.find_free(4096) == first
    assert space.find_free(4096, hint=0x10000000) == 0x10000000


def test_unmap_and_protect_split_areas() -> None:
    memory = Memory()
    space = AddressSpace(memory)
    space.map(0x100000, 4 * 4096, RW)
    space.unmap(0x101000, 4096)
    assert space.covered(0x100000, 0x101000) and not space.covered(0x100000, 0x103000)
    space.protect(0x102000, 4096, PROT_READ)
    with pytest.raises(MemoryFault):
        memory.write(0x102000, b"x")
    memory.write(0x103000, b"y")
    with pytest.raises(OSError) as info:
        space.protect(0x100000, 4 * 4096, PROT_READ)
    assert info.value.errno == errno.ENOMEM


def test_reservations_get_pages_when_made_accessible() -> None:
    memory = Memory()
    space = AddressSpace(memory)
    space.map(0x200000, 64 * 4096, 0)
    assert not memory.is_mapped(0x200000) and space.covered(0x200000, 0x240000)
    space.protect(0x200000, 4096, RW)
    memory.write(0x200010, b"ok")
    assert memory.read(0x200010, 2) == b"ok" and not memory.is_mapped(0x201000)


def test_brk_grows_and_shrinks() -> None:
    memory = Memory()
    space = AddressSpace(memory)
    space.set_brk_start(0x10_0123)
    start = space.brk
    assert start == 0x10_1000
    assert space.set_brk(start + 10000) == start + 10000
    memory.write(start + 9999, b"z")
    assert space.set_brk(start) == start and not memory.is_mapped(start + 4096)
    assert space.set_brk(0) == start  # below the start: unchanged
