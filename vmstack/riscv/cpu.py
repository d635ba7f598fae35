"""One RISC-V hart running the RV64GC user ISA; ecall, ebreak and faults go to an Environment.

The environment is what surrounds the user ISA: the Linux ABI for a process VM, the privileged
architecture for a system VM. The core knows nothing of either. ``run`` interprets cold code
(``interpret``) and runs hot code as translated blocks (``translate``) until about ``max_insns``
instructions have retired or the environment sets ``stop``.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

from . import user_isa
from .faults import IllegalInstruction, MisalignedAccess
from .interpret import HOT, build_steps, interpret
from .memory import Memory, MemoryFault
from .translate import INLINE_HELPERS, Block, translate

# mcause numbers of the synchronous exceptions the core raises
CAUSE_ILLEGAL_INSTRUCTION = 2
PAGE_FAULT_CAUSE = {"x": 12, "r": 13, "w": 15}
GUEST_FAULTS = (MemoryFault, IllegalInstruction, MisalignedAccess)


class Environment(Protocol):
    def ecall(self, cpu: Cpu) -> None:
        """cpu.pc is the ecall's address; set cpu.pc (normally cpu.pc + 4)."""

    def ebreak(self, cpu: Cpu) -> None:
        """As ecall."""

    def exception(self, cpu: Cpu, cause: int, tval: int) -> None:
        """A synchronous fault at cpu.pc (mcause numbering): raise, or redirect cpu.pc."""

    def read_time(self) -> int:
        """The value of the time CSR."""


def block_globals(memory: Memory) -> dict[str, Any]:
    """The global namespace of translated blocks: the memory's accessors and the ISA's helpers."""
    names: dict[str, Any] = {name: getattr(user_isa, name) for name in
                             ("div_signed", "rem_signed", "rotate_left32", "or_combine_bytes", "csr_access",
                              "load_reserved", "store_conditional")}
    names.update(user_isa.ATOMIC_HELPERS)
    names.update(user_isa.FLOAT_HELPERS)
    names.update(memory.accessors())
    names.update(INLINE_HELPERS)
    if memory.core_checks is not None:
        names.update(memory.core_checks.helpers)
    return names


def block_runtime(memory: Memory) -> tuple[dict[str, Any], dict[str, Any]]:
    """(block globals, interpreter steps) of code running on ``memory``, with the checked variants its
    core checks may decode to."""
    namespace = block_globals(memory)
    variants = memory.core_checks.instructions if memory.core_checks is not None else ()
    return namespace, build_steps(namespace, variants)


_RUNTIMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # Memory -> (block globals, steps)


class Cpu:
    """One hart: registers, fcsr, LR/SC reservation, and the loop running translated blocks.
    ``x`` and ``f`` are changed in place, never replaced (running code holds on to the lists)."""

    __slots__ = ("block_globals", "env", "f", "fcsr", "hot", "instret", "limit", "memory", "pc", "reservation", "steps",
                 "stop", "x")

    def __init__(self, memory: Memory, env: Environment) -> None:
        self.memory = memory
        self.env = env
        self.x: list[int] = [0] * 32
        self.f: list[int] = [0] * 32
        self.pc = 0
        self.fcsr = 0
        self.reservation: int | None = None
        self.instret = 0
        self.stop = False
        self.hot = HOT    # entries into a block before it is translated (tests vary it to pick a tier)
        self.limit = 0    # instret at which the current run() is to return
        runtime = _RUNTIMES.get(memory)
        if runtime is None:
            runtime = _RUNTIMES[memory] = block_runtime(memory)
        self.block_globals, self.steps = runtime

    def run(self, max_insns: int) -> int:
        """Run until about max_insns retired (whole blocks) or ``stop`` is set (run clears it on entry);
        return the number retired. Exceptions from the environment propagate with the state exact."""
        x, f = self.x, self.f
        blocks, heat, hot = self.memory.translations, self.memory.heat, self.hot
        start = self.instret
        limit = self.limit = start + max_insns
        pc = self.pc
        self.stop = False
        while not self.stop and self.instret < limit:
            block = blocks.get(pc)
            if block is None:
                entries = heat.get(pc, 0)
                try:
                    if entries < hot:
                        heat[pc] = entries + 1
                        pc = interpret(self, pc)
                        continue
                    self.pc = pc
                    block = translate(self, pc)
                except GUEST_FAULTS as fault:
                    pc = self._raise_exception(fault, getattr(fault, "bits", 0))
                    continue
            try:
                pc = block(x, f, self)
            except GUEST_FAULTS as fault:
                pc = self._block_fault(block, fault)
        self.pc = pc
        return self.instret - start

    def _block_fault(self, block: Block, fault: Exception) -> int:
        """Make the state exact at the faulting instruction of ``block`` and hand the fault to the env."""
        tb = fault.__traceback__
        while tb is not None and tb.tb_frame.f_code is not block.__code__:
            tb = tb.tb_next
        at = block.info.lines[tb.tb_lineno]
        if at.calls_env:
            raise fault
        values = tb.tb_frame.f_locals
        for name, (regfile, number) in block.info.registers.items():
            if name in values:
                (self.x if regfile == "x" else self.f)[number] = values[name]
        for number in at.in_floats:
            self.f[number] = user_isa.bits_of_float(values[f"d{number}"])
        self.instret += at.k + values.get("loop_i", 0) * block.info.loop_body
        self.pc = at.pc
        return self._raise_exception(fault, at.bits)

    def _raise_exception(self, fault: Exception, bits: int) -> int:
        if isinstance(fault, MemoryFault):
            self.env.exception(self, PAGE_FAULT_CAUSE[fault.access], fault.addr)
        elif isinstance(fault, MisalignedAccess):
            self.env.exception(self, fault.cause, fault.addr)
        else:
            self.env.exception(self, CAUSE_ILLEGAL_INSTRUCTION, bits)
        return self.pc

    def copy_state(self) -> Cpu:
        """A new Cpu on the same Memory and Environment with the same registers (for a new thread)."""
        twin = Cpu(self.memory, self.env)
        twin.x[:] = self.x
        twin.f[:] = self.f
        twin.pc, twin.fcsr, twin.instret, twin.hot = self.pc, self.fcsr, self.instret, self.hot
        return twin
