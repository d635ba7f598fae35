"""Test-only surroundings for the CPU core: build a static riscv64 ELF from assembly or C (cached under
~/.cache/vmstack keyed by the source), load it into a Memory and run it with an environment that knows
just write and exit, the way qemu-riscv64 runs the same file."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from vmstack.riscv.cpu import Cpu
from vmstack.riscv.memory import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, Memory

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vmstack" / "riscv-tests"
STACK_TOP = 0x7FFF0000
STACK_SIZE = 1 << 20
SYS_WRITE, SYS_EXIT, SYS_EXIT_GROUP = 64, 93, 94


def build_elf(source: str, lang: str = "s", flags: tuple[str, ...] = ()) -> Path:
    """Assemble (lang "s") or compile (lang "c") a freestanding static program; cached by its recipe."""
    recipe = "\0".join([lang, *flags, source]).encode()
    out = CACHE / f"{hashlib.sha256(recipe).hexdigest()[:24]}.elf"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    src = out.with_suffix("." + lang)
    src.write_text(source)
    tmp = out.with_suffix(".tmp")
    subprocess.run(["riscv64-linux-gnu-gcc", "-march=rv64gc_zba_zbb_zbs", "-static", "-nostdlib",
                    "-ffreestanding", *flags, "-o", str(tmp), str(src)], check=True, capture_output=True)
    tmp.rename(out)
    return out


class GuestExit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class GuestFault(Exception):
    def __init__(self, cause: int, tval: int, pc: int) -> None:
        super().__init__(f"cause {cause} tval {tval:#x} at pc {pc:#x}")
        self.cause, self.tval, self.pc = cause, tval, pc


class MinimalEnv:
    """ecall write(fd, buf, n) into ``output`` and exit/exit_group; any fault raises GuestFault."""

    def __init__(self) -> None:
        self.output = io.BytesIO()
        self.time = 0

    def ecall(self, cpu: Cpu) -> None:
        number, a0, a1, a2 = cpu.x[17], cpu.x[10], cpu.x[11], cpu.x[12]
        if number == SYS_WRITE:
            self.output.write(cpu.memory.read(a1, a2))
            cpu.x[10] = a2
        elif number in (SYS_EXIT, SYS_EXIT_GROUP):
            raise GuestExit(a0 & 0xFF)
        else:
            cpu.x[10] = (-38) & ((1 << 64) - 1)
        cpu.pc += 4

    def ebreak(self, cpu: Cpu) -> None:
        raise GuestFault(3, 0, cpu.pc)

    def exception(self, cpu: Cpu, cause: int, tval: int) -> None:
        raise GuestFault(cause, tval, cpu.pc)

    def read_time(self) -> int:
        self.time += 1
        return self.time


def load_elf(path: Path, memory: Memory) -> int:
    """Map a static ELF's PT_LOAD segments; return its entry point."""
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            start = seg["p_vaddr"] & ~(PAGE_SIZE - 1)
            end = (seg["p_vaddr"] + seg["p_memsz"] + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
            flags = seg["p_flags"]
            prot = (PROT_READ if flags & 4 else 0) | (PROT_WRITE if flags & 2 else 0) | (PROT_EXEC if flags & 1 else 0)
            for page in range(start, end, PAGE_SIZE):
                if not memory.is_mapped(page):
                    memory.map(page, PAGE_SIZE, prot)
                else:
                    memory.protect(page, PAGE_SIZE, memory.prot_at(page) | prot)
            memory.poke(seg["p_vaddr"], seg.data())
        return elf.header["e_entry"]


def run_elf(path: Path, max_insns: int = 10 ** 9, hot: int | None = None,
            memory: Memory | None = None) -> tuple[int, bytes, Cpu]:
    """Run a static ELF under the core; (exit status, bytes written, cpu). ``hot``: entries into a block
    before it is translated (0: translate everything at once; a huge number: interpret only)."""
    memory = memory or Memory()
    env = MinimalEnv()
    cpu = Cpu(memory, env)
    if hot is not None:
        cpu.hot = hot
    cpu.pc = load_elf(path, memory)
    memory.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE)
    cpu.x[2] = STACK_TOP - 64
    try:
        cpu.run(max_insns)
    except GuestExit as done:
        return done.status, env.output.getvalue(), cpu
    raise AssertionError("guest ran past its instruction budget")


def run_qemu(path: Path) -> tuple[int, bytes]:
    proc = subprocess.run(["qemu-riscv64", str(path)], capture_output=True, timeout=120, check=False)
    return proc.returncode, proc.stdout


def run_asm(body: str, data: str = "") -> Cpu:
    """Assemble ``body`` as the start of a program (then exit, registers but a7 untouched), run it under
    the core, return the Cpu."""
    source = f".globl _start\n.text\n_start:\n{body}\n    li a7, 93\n    ecall\n.data\n.balign 16\n{data}\n"
    return run_elf(build_elf(source))[2]
