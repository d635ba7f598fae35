"""C programs (freestanding: write and exit only) built with gcc-riscv64-linux-gnu at -O0 and -O2, run by
the core and by qemu-riscv64: the same output and exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.riscv.harness import build_elf, run_elf, run_qemu

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
