"""C programs (freestanding: write and exit only) built with gcc-riscv64-linux-gnu at -O0 and -O2, run by
the core and by qemu-riscv64: the same output and exit status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.riscv.harness import build_elf, run_elf, run_qemu
from vmstack.riscv.memory import Memory

PROGRAMS = Path(__file__).parent / "programs"


def build(name: str, *flags: str) -> Path:
    source = (PROGRAMS / name).read_text()
    header = (PROGRAMS / "start.h").read_text()
    return build_elf(source.replace('#include "start.h"', header), "c", flags)


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize(("name", "flags"), [("integer.c", ("-DITERATIONS=2",)), ("float.c", ())])
def test_program_matches_qemu(name: str, flags: tuple[str, ...], opt: str) -> None:
    elf = build(name, opt, *flags)
    expected = run_qemu(elf)
    status, output, _ = run_elf(elf)
    assert expected[1], "qemu-riscv64 printed nothing"
    assert (status, output) == expected


class CallingMemory(Memory):
    """A memory offering no page dicts to inline, as an address-translating one would: translated code
    must reach it through its accessor functions, which count their calls here."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def accessors(self) -> dict:
        def counted(fn: Callable[..., int]) -> Callable[..., int]:
            def call(*args: int) -> int:
                self.calls += 1
                return fn(*args)
            return call
        return {name: counted(fn) for name, fn in super().accessors().items() if name.startswith(("ld", "st"))}


def test_translated_code_goes_through_the_memorys_accessors() -> None:
    elf = build("integer.c", "-O2", "-DITERATIONS=1")
    memory = CallingMemory()
    status, output, _ = run_elf(elf, hot=0, memory=memory)
    assert (status, output) == run_qemu(elf)
    assert memory.calls > 10000
