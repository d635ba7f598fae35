"""Guest memory: mappings, protections, faults, accesses across pages, and translations dropped when the
code they came from is written."""

from __future__ import annotations

import pytest

from tests.riscv.harness import MinimalEnv
from vmstack.riscv.cpu import Cpu
from vmstack.riscv.interpret import HOT
from vmstack.riscv.memory import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, Memory, MemoryFault

RW = PROT_READ | PROT_WRITE


def test_map_is_zero_filled_and_replaces() -> None:
    memory = Memory()
    memory.map(0x10000, 2 * PAGE_SIZE, RW)
    assert memory.read(0x10000, 16) == bytes(16)
    memory.write(0x10FFC, b"abcdefgh")            # across the page boundary
    assert memory.read(0x10FFC, 8) == b"abcdefgh"
    assert memory.load(0x10FFC, 8) == int.from_bytes(b"abcdefgh", "little")
    memory.map(0x11000, PAGE_SIZE, RW)
    assert memory.read(0x10FFC, 8) == b"abcd" + bytes(4)


def test_protections_and_faults() -> None:
    memory = Memory()
    memory.map(0x20000, PAGE_SIZE, PROT_READ)
    assert memory.prot_at(0x20010) == PROT_READ and memory.prot_at(0x30000) is None
    with pytest.raises(MemoryFault) as fault:
        memory.write(0x20010, b"x")
    assert (fault.value.addr, fault.value.access) == (0x20010, "w")
    memory.poke(0x20010, b"x")                     # the loader ignores protections
    assert memory.read(0x20010, 1) == b"x"
    memory.protect(0x20000, PAGE_SIZE, 0)
    with pytest.raises(MemoryFault):
        memory.read(0x20010, 1)
    with pytest.raises(MemoryFault) as fault:
        memory.read(0x20FFF, 2)                    # second page unmapped
    assert fault.value.addr == 0x20FFF
    memory.unmap(0x20000, PAGE_SIZE)
    assert not memory.is_mapped(0x20000)
    with pytest.raises(ValueError):
        memory.map(0x20001, PAGE_SIZE, RW)


def test_failed_write_across_pages_writes_nothing() -> None:
    memory = Memory()
    memory.map(0x10000, PAGE_SIZE, RW)
    memory.map(0x11000, PAGE_SIZE, PROT_READ)
    with pytest.raises(MemoryFault) as fault:
        memory.store(0x10FFE, 4, 0xFFFFFFFF)
    assert fault.value.addr == 0x11000
    assert memory.read(0x10FFE, 2) == bytes(2)


def test_read_cstring() -> None:
    memory = Memory()
    memory.map(0x10000, 2 * PAGE_SIZE, RW)
    memory.write(0x10FFD, b"hello\0world")
    assert memory.read_cstring(0x10FFD) == b"hello"
    assert memory.read_cstring(0x10FFD, limit=3) == b"hel"
    memory.write(0x11FFE, b"ab")
    with pytest.raises(MemoryFault):
        memory.read_cstring(0x11FFE)


def test_writing_code_drops_its_translation() -> None:
    memory = Memory()
    memory.map(0x10000, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)
    addi_a0_1, ecall = 0x00150513, 0x00000073
    memory.write(0x10000, addi_a0_1.to_bytes(4, "little") + ecall.to_bytes(4, "little"))

    class Env(MinimalEnv):
        def ecall(self, cpu: Cpu) -> None:
            cpu.stop = True
            cpu.pc = 0x10000

    cpu = Cpu(memory, Env())
    cpu.pc = 0x10000
    runs = HOT + 2    # interpreted first, then translated
    for _ in range(runs):
        cpu.run(100)
    assert cpu.x[10] == runs and 0x10000 in memory.translations and 0x10000 in memory.decoded
    memory.store(0x10000, 4, 0x00550513)          # addi a0, a0, 5
    assert 0x10000 not in memory.translations and 0x10000 not in memory.decoded
    cpu.run(100)
    assert cpu.x[10] == runs + 5
    memory.protect(0x10000, PAGE_SIZE, PROT_READ)   # no longer executable
    with pytest.raises(Exception, match="cause 12"):
        cpu.run(100)


def test_a_block_follows_a_jump_and_writing_at_its_target_drops_it() -> None:
    """A plain jump into the next page does not end the block: the code there is part of it, so a store
    to that page drops the block (and the next run sees the new code)."""
    memory = Memory()
    memory.map(0x10000, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)
    addi_a0_1, addi_a0_2, addi_a0_100, j_12, ecall = 0x00150513, 0x00250513, 0x06450513, 0x00C0006F, 0x00000073
    for addr, word in ((0x10FF8, addi_a0_1), (0x10FFC, j_12), (0x11000, addi_a0_100), (0x11004, addi_a0_100),
                       (0x11008, addi_a0_2), (0x1100C, ecall)):
        memory.write(addr, word.to_bytes(4, "little"))

    class Env(MinimalEnv):
        def ecall(self, cpu: Cpu) -> None:
            cpu.stop = True
            cpu.pc = 0x10FF8

    cpu = Cpu(memory, Env())
    cpu.pc, cpu.hot = 0x10FF8, 0       # translated at once
    cpu.run(100)
    assert cpu.x[10] == 3 and cpu.instret == 4
    block = memory.translations[0x10FF8]
    assert {at.pc for at in block.info.lines.values()} >= {0x10FFC, 0x11008, 0x1100C}
    memory.store(0x11008, 4, 0x00550513)          # addi a0, a0, 5 at the jump's target
    assert 0x10FF8 not in memory.translations
    cpu.run(100)
    assert cpu.x[10] == 3 + 6


def test_large_reservations_are_cheap_until_touched() -> None:
    memory = Memory()
    memory.map(0x100000000, 1 << 28, 0)                 # 256 MiB reserved, inaccessible
    memory.protect(0x100000000, 2 * PAGE_SIZE, RW)
    assert memory.load(0x100001FF8, 8) == 0
    memory.store(0x100000010, 2, 0xBEEF)
    assert memory.read(0x100000010, 2) == b"\xef\xbe"
    assert len(memory.pages) <= 2 and memory.is_mapped(0x10FFFFFFF) and not memory.is_mapped(0x110000000)
