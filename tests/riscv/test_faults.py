"""Faults leave exact architectural state: pc at the faulting instruction, registers written by the
instructions before it (also inside a looping block), instret counting only those; the environment sees
the right cause and tval, may redirect pc, and its own exceptions propagate out of run()."""

from __future__ import annotations

import pytest

from tests.riscv.harness import GuestExit, GuestFault, MinimalEnv, build_elf, load_elf
from vmstack.riscv.cpu import Cpu
from vmstack.riscv.memory import PROT_READ, PROT_WRITE, Memory

WALK = """
.globl _start
_start:
    la t0, buf
    mv t2, t0
    li a0, 0
    li a1, 7
loop:
    ld t1, 0(t0)
    addi a0, a0, 1
    addi t0, t0, 8
    j loop
.data
.balign 4096
buf: .zero 4096
"""


def start(source: str, env: object | None = None, hot: int | None = None) -> Cpu:
    memory = Memory()
    cpu = Cpu(memory, env or MinimalEnv())
    if hot is not None:
        cpu.hot = hot
    cpu.pc = load_elf(build_elf(source), memory)
    memory.map(0x7FF00000, 0x10000, PROT_READ | PROT_WRITE)
    cpu.x[2] = 0x7FF10000
    return cpu


@pytest.mark.parametrize("hot", [0, 10 ** 9])                   # translated at once, or interpreted
@pytest.mark.parametrize("back", ["j loop", "bnez t0, loop"])   # a block jumping or branching to itself
def test_load_fault_in_a_loop_is_exact(back: str, hot: int) -> None:
    cpu = start(WALK.replace("j loop", back), hot=hot)
    with pytest.raises(GuestFault) as fault:
        cpu.run(10 ** 7)
    walked = cpu.x[10]
    assert fault.value.cause == 13                       # load page fault
    assert fault.value.tval == cpu.x[5] == cpu.x[7] + 8 * walked
    assert not cpu.memory.is_mapped(cpu.x[5]) and cpu.memory.is_mapped(cpu.x[5] - 8)
    assert cpu.pc == fault.value.pc and cpu.memory.read(cpu.pc, 2) != b"\0\0"
    # la (auipc + addi), mv, li, li, then the full iterations; the faulting ld is not retired
    assert cpu.instret == 5 + 4 * walked
    assert cpu.x[11] == 7


def test_environment_may_resume_after_a_fault() -> None:
    class SkipFaults(MinimalEnv):
        def __init__(self) -> None:
            super().__init__()
            self.faults = 0

        def exception(self, cpu: Cpu, cause: int, tval: int) -> None:
            self.faults += 1
            if self.faults == 3:
                raise GuestExit(0)
            cpu.x[5] -= 4096      # point t0 back into buf and retry the load
            cpu.x[10] = 0

    env = SkipFaults()
    cpu = start(WALK, env)
    with pytest.raises(GuestExit):
        cpu.run(10 ** 7)
    assert env.faults == 3 and cpu.x[10] == 512   # the walk from the rewound t0 to the end again


def test_store_to_read_only_page_and_illegal_instruction() -> None:
    cpu = start(".globl _start\n_start:\n la t0, _start\n li a0, 1\n sd a0, 0(t0)\n")
    with pytest.raises(GuestFault) as fault:
        cpu.run(100)
    assert fault.value.cause == 15 and cpu.x[10] == 1 and cpu.instret == 3
    cpu = start(".globl _start\n_start:\n li a0, 1\n .word 0xffffffff\n")
    with pytest.raises(GuestFault) as fault:
        cpu.run(100)
    assert (fault.value.cause, fault.value.tval, cpu.x[10]) == (2, 0xFFFFFFFF, 1)


def test_jump_to_unmapped_code_is_a_fetch_fault() -> None:
    cpu = start(".globl _start\n_start:\n li t0, 0x40000000\n li a0, 5\n jalr ra, 0(t0)\n")
    with pytest.raises(GuestFault) as fault:
        cpu.run(100)
    assert (fault.value.cause, fault.value.tval, cpu.pc, cpu.x[10]) == (12, 0x40000000, 0x40000000, 5)
    assert cpu.x[1] != 0


def test_misaligned_atomic_is_a_misaligned_fault() -> None:
    cpu = start(".globl _start\n_start:\n mv t0, sp\n addi t0, t0, -6\n amoadd.w a0, a1, (t0)\n")
    with pytest.raises(GuestFault) as fault:
        cpu.run(100)
    assert fault.value.cause == 6 and fault.value.tval == 0x7FF10000 - 6


def test_misaligned_plain_loads_are_performed() -> None:
    cpu = start(".globl _start\n_start:\n li t0, 0x7ff00ffd\n li t1, 0x1122334455667788\n sd t1, 0(t0)\n"
                " ld a0, 0(t0)\n lw a1, 1(t0)\n li a7, 93\n ecall\n")
    with pytest.raises(GuestExit):
        cpu.run(100)
    assert cpu.x[10] == 0x1122334455667788 and cpu.x[11] == 0x44556677


def test_environment_exception_from_ecall_keeps_state() -> None:
    class Stop(Exception):
        pass

    class Raising(MinimalEnv):
        def ecall(self, cpu: Cpu) -> None:
            raise Stop

    cpu = start(".globl _start\n_start:\n li a0, 3\n li a1, 4\n li a7, 64\n ecall\n", Raising())
    with pytest.raises(Stop):
        cpu.run(100)
    assert cpu.x[10:12] == [3, 4] and cpu.instret == 4 and cpu.memory.is_mapped(cpu.pc)
    assert int.from_bytes(cpu.memory.read(cpu.pc, 4), "little") == 0x73


def test_stop_makes_run_return_and_run_resumes() -> None:
    class Stopping(MinimalEnv):
        def ecall(self, cpu: Cpu) -> None:
            cpu.stop = True
            cpu.pc += 4

    cpu = start(".globl _start\n_start:\n li a0, 1\n ecall\n li a0, 2\n ecall\n li a0, 3\n", Stopping())
    assert cpu.run(1000) == 2 and cpu.x[10] == 1
    assert cpu.run(1000) == 2 and cpu.x[10] == 2


def test_copy_state_shares_memory() -> None:
    cpu = start(".globl _start\n_start:\n nop\n")
    cpu.x[10] = 42
    twin = cpu.copy_state()
    assert twin.memory is cpu.memory and twin.x[10] == 42 and twin.pc == cpu.pc
    twin.x[10] = 1
    assert cpu.x[10] == 42


def test_run_returns_near_its_budget_inside_a_loop() -> None:
    cpu = start(".globl _start\n_start:\n li t0, 100000\nloop:\n addi t0, t0, -1\n addi a0, a0, 1\n"
                " bnez t0, loop\n li a7, 93\n ecall\n", hot=0)
    retired = cpu.run(1000)
    assert 1000 <= retired < 1010 and cpu.x[10] == (retired - 1) // 3


WRAP = """
.globl _start
_start:
    li t0, 4
    li t3, -8
    sd zero, -8(sp)
    {access}
    li a7, 93
    ecall
"""


@pytest.mark.parametrize("hot", [0, 10 ** 9])
@pytest.mark.parametrize(("access", "cause", "tval"), [
    ("ld t1, -8(t0)", 13, (1 << 64) - 4),           # below address 0: wraps to the top of the space
    ("sd t0, 16(t3)", 15, 8),                       # past the top: wraps to page 0
    ("lw t1, 2047(t3)", 13, 2039),
])
def test_address_arithmetic_wraps_around(access: str, cause: int, tval: int, hot: int) -> None:
    cpu = start(WRAP.format(access=access), hot=hot)
    with pytest.raises(GuestFault) as fault:
        cpu.run(10 ** 5)
    assert (fault.value.cause, fault.value.tval) == (cause, tval)
    assert cpu.instret == 3 and cpu.memory.read(cpu.pc, 4) == cpu.memory.read(fault.value.pc, 4)
