"""Starting a riscv64 program as execve(2) does: load the ELF file and its interpreter (PT_INTERP,
looked up in the sysroot first as qemu-user's -L does), set the program break after it, and build
the initial stack: argc, argv, envp and the auxiliary vector, with the strings, AT_RANDOM's bytes
and AT_PLATFORM's name above them.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from ..host.files import read_named_file
from ..riscv.memory import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE
from .addrspace import ELF_ET_DYN_BASE, STACK_SIZE, STACK_TOP, AddressSpace
from .elf import ElfError, ElfImage, LoadedImage, load_image, parse_elf

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31

HWCAP_RV64GC = sum(1 << (ord(letter) - ord("A")) for letter in "IMAFDC")
PLATFORM = b"riscv64"
# the page the kernel's vDSO would hold __vdso_rt_sigreturn in: `li a7, 139; ecall`
SIGRETURN_CODE = struct.pack("<II", 0x08B00893, 0x00000073)


@dataclass
class Started:
    """Where a freshly exec'd program begins: its entry (or its interpreter's) and its stack pointer."""

    pc: int
    sp: int
    program: LoadedImage
    interp: LoadedImage | None
    sigreturn: int  # address of the signal-return trampoline


def read_program(path: str) -> bytes:
    return read_named_file(path, ElfError)


def in_sysroot(path: str, sysroot: str | None) -> str:
    """``path`` under the sysroot when it exists there (an absolute path only), else ``path`` itself."""
    if sysroot and path.startswith("/"):
        candidate = os.path.join(sysroot, path.lstrip("/"))
        if os.path.lexists(candidate):
            return candidate
    return path


def _place(aspace: AddressSpace, image: ElfImage, base: int | None) -> LoadedImage:
    low, high = image.span
    if not image.is_dyn:
        bias = 0
    else:
        start = base if base is not None else aspace.find_free(high - low)
        bias = start - low
    return load_image(aspace, image, bias)


def start_program(aspace: AddressSpace, path: str, data: bytes, argv: list[bytes], envp: list[bytes],
                  sysroot: str | None, random_bytes: bytes) -> Started:
    """Load ``data`` (the program at ``path``) and its interpreter, and build the initial stack."""
    image = parse_elf(path, data)
    program = _place(aspace, image, ELF_ET_DYN_BASE if image.is_dyn and image.interp else None)
    interp = None
    if image.interp:
        interp_path = in_sysroot(image.interp, sysroot)
        if not os.path.exists(interp_path):
            where = f" (looked in {sysroot} too; set it with -L DIR)" if sysroot else " (give a sysroot with -L DIR)"
            raise ElfError(f"{path}: its interpreter {image.interp} does not exist{where}")
        interp_image = parse_elf(interp_path, read_program(interp_path))
        if interp_image.interp:
            raise ElfError(f"{interp_path}: an interpreter that needs an interpreter")
        interp = _place(aspace, interp_image, None)
    aspace.set_brk_start(program.end)
    sigreturn = aspace.find_free(PAGE_SIZE)
    aspace.map(sigreturn, PAGE_SIZE, PROT_READ | PROT_EXEC)
    aspace.memory.poke(sigreturn, SIGRETURN_CODE)
    aspace.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE)
    execfn = path.encode("utf-8", "surrogateescape")
    sp = _build_stack(aspace, program, interp, argv, envp, execfn, random_bytes)
    return Started(pc=(interp or program).entry, sp=sp, program=program, interp=interp, sigreturn=sigreturn)


def _build_stack(aspace: AddressSpace, program: LoadedImage, interp: LoadedImage | None, argv: list[bytes],
                 envp: list[bytes], execfn: bytes, random_bytes: bytes) -> int:
    memory = aspace.memory
    top = STACK_TOP - 8

    def push_bytes(data: bytes) -> int:
        nonlocal top
        top -= len(data)
        memory.poke(top, data)
        return top

    execfn_addr = push_bytes(execfn + b"\0")
    string_addrs = [push_bytes(s + b"\0") for s in reversed(argv + envp)][::-1]
    argv_addrs, envp_addrs = string_addrs[:len(argv)], string_addrs[len(argv):]
    top &= -16
    platform_addr = push_bytes(PLATFORM + b"\0")
    top &= -16
    random_addr = push_bytes(random_bytes[:16].ljust(16, b"\0"))
    image = program.image
    auxv = [
        (AT_HWCAP, HWCAP_RV64GC), (AT_PAGESZ, PAGE_SIZE), (AT_CLKTCK, 100),
        (AT_PHDR, program.phdr), (AT_PHENT, image.phentsize), (AT_PHNUM, image.phnum),
        (AT_BASE, interp.bias if interp else 0), (AT_FLAGS, 0), (AT_ENTRY, program.entry),
        (AT_UID, os.getuid()), (AT_EUID, os.geteuid()), (AT_GID, os.getgid()), (AT_EGID, os.getegid()),
        (AT_SECURE, 0), (AT_RANDOM, random_addr), (AT_HWCAP2, 0), (AT_EXECFN, execfn_addr),
        (AT_PLATFORM, platform_addr), (AT_NULL, 0),
    ]
    words = [len(argv), *argv_addrs, 0, *envp_addrs, 0]
    for key, value in auxv:
        words += [key, value]
    sp = (top - 8 * len(words)) & -16
    memory.poke(sp, struct.pack(f"<{len(words)}Q", *words))
    return sp
