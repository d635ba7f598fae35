"""ELF checks and the initial process image: segments, program break, stack, argv, envp, auxv."""

from __future__ import annotations

import struct

import pytest
from elftools.elf.elffile import ELFFile

from vmstack.linux.addrspace import ELF_ET_DYN_BASE, STACK_TOP
from vmstack.linux.elf import ElfError, parse_elf
from vmstack.linux.loader import AT_BASE, AT_ENTRY, AT_EXECFN, AT_PAGESZ, AT_PHDR, AT_PHNUM, AT_RANDOM
from vmstack.linux.process import Process

from .riscv_programs import SYSROOT, build, needs_toolchain

pytestmark = needs_toolchain


def _initial_stack(proc: Process) -> tuple[int, list[bytes], list[bytes], dict[int, int]]:
    memory = proc.memory
    at = proc.started.sp

    def word() -> int:
        nonlocal at
        at += 8
        return memory.load(at - 8, 8)

    argc = word()
    argv = [memory.read_cstring(word()) for _ in range(argc)]
    assert word() == 0
    envp = []
    while pointer := word():
        envp.append(memory.read_cstring(pointer))
    auxv = {}
    while True:
        key, value = word(), word()
        auxv[key] = value
        if key == 0:
            return argc, argv, envp, auxv


def test_static_program_image() -> None:
    path = build("basics", "static")
    proc = Process(str(path), ["basics", "x y"], ["A=1", "B=two"], sysroot=SYSROOT)
    argc, argv, envp, auxv = _initial_stack(proc)
    assert proc.started.sp % 16 == 0 and proc.started.sp < STACK_TOP
    assert (argc, argv, envp) == (2, [b"basics", b"x y"], [b"A=1", b"B=two"])
    with open(path, "rb") as f:
        elf = ELFFile(f)
        entry, phnum = elf["e_entry"], elf["e_phnum"]
        f.seek(elf["e_phoff"])
        phdrs = f.read(phnum * elf["e_phentsize"])
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        data_segment = loads[-1]
        initialised = data_segment.data()
    assert auxv[AT_ENTRY] == entry and proc.started.pc == entry  # ET_EXEC: no interpreter, no bias
    assert auxv[AT_PHNUM] == phnum and auxv[AT_BASE] == 0 and auxv[AT_PAGESZ] == 4096
    assert proc.memory.read(auxv[AT_PHDR], len(phdrs)) == phdrs
    assert proc.memory.read(data_segment["p_vaddr"], len(initialised)) == initialised
    bss_end = data_segment["p_vaddr"] + data_segment["p_memsz"]
    assert proc.aspace.brk >= bss_end and proc.aspace.brk % 4096 == 0
    assert proc.memory.read_cstring(auxv[AT_EXECFN]) == str(path).encode()
    assert len(proc.memory.read(auxv[AT_RANDOM], 16)) == 16


def test_dynamic_program_gets_its_interpreter() -> None:
    path = build("basics", "dynamic")
    proc = Process(str(path), ["basics"], [], sysroot=SYSROOT)
    _, _, _, auxv = _initial_stack(proc)
    with open(path, "rb") as f:
        entry = ELFFile(f)["e_entry"]
    with open(f"{SYSROOT}/lib/ld-linux-riscv64-lp64d.so.1", "rb") as f:
        interp_entry = ELFFile(f)["e_entry"]
    assert auxv[AT_ENTRY] == ELF_ET_DYN_BASE + entry  # a PIE lands at ELF_ET_DYN_BASE
    assert auxv[AT_BASE] and proc.started.pc == auxv[AT_BASE] + interp_entry
    assert proc.memory.read(auxv[AT_BASE], 4) == b"\x7fELF"


def test_missing_interpreter_is_one_line(tmp_path) -> None:
    with pytest.raises(ElfError, match="interpreter /lib/ld-linux-riscv64-lp64d.so.1 does not exist"):
        Process(str(build("basics", "dynamic")), ["basics"], [], sysroot=str(tmp_path))


@pytest.mark.parametrize("data, message", [
    (b"\x7fELF\x01\x01\x01" + bytes(45), "32-bit"),
    (b"\x7fELF\x02\x01\x01" + bytes(20), "truncated"),
    (b"#!/bin/sh\n", "not an ELF file"),
])
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(ElfError, match=message):
        parse_elf("prog", data)


def test_foreign_and_cut_elf_files() -> None:
    with open("/bin/true", "rb") as f:
        host = f.read()
    with pytest.raises(ElfError, match="X86_64, not riscv64"):
        parse_elf("/bin/true", host)
    riscv = build("basics", "static").read_bytes()
    for cut in (100, 2000, len(riscv) // 2):
        with pytest.raises(ElfError, match="truncated"):
            parse_elf("prog", riscv[:cut])
    assert struct.unpack_from("<H", riscv, 18)[0] == 243 and parse_elf("prog", riscv).segments
