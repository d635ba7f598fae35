"""ELF loading for the riscv64 process VM: checks that a file is a riscv64 ELF program, maps its
PT_LOAD segments into guest memory (at a load bias for ET_DYN files) and says where its program
headers, entry point and interpreter are. Parsing is pyelftools'; placement is the kernel's
(binfmt_elf): ET_EXEC at its own addresses, a PIE at ELF_ET_DYN_BASE, the interpreter in the
mmap area.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.elf.elffile import ELFFile

from ..riscv.memory import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE
from .addrspace import AddressSpace, page_up

EM_RISCV = 243


class ElfError(Exception):
    """A file that cannot run as a riscv64 Linux program; the message is one line."""


@dataclass
class ElfImage:
    """A parsed riscv64 ELF program, not yet placed in memory."""

    path: str
    data: bytes
    is_dyn: bool           # ET_DYN (PIE, static-pie, shared object) or ET_EXEC
    entry: int             # e_entry, before the load bias
    phoff: int
    phentsize: int
    phnum: int
    segments: list[tuple[int, int, int, int, int]]  # PT_LOAD: (vaddr, memsz, offset, filesz, prot)
    phdr_vaddr: int | None  # PT_PHDR's address, before the load bias
    interp: str | None     # PT_INTERP's path
    flags: int             # e_flags (float ABI, RVC)

    @property
    def span(self) -> tuple[int, int]:
        """The page-aligned address range the PT_LOAD segments cover, before the load bias."""
        low = min(v for v, *_ in self.segments) & -PAGE_SIZE
        high = max(v + m for v, m, *_ in self.segments)
        return low, page_up(high)


@dataclass
class LoadedImage:
    """Where an ElfImage landed: its load bias and the addresses the auxiliary vector needs."""

    image: ElfImage
    bias: int
    entry: int
    phdr: int
    end: int  # first page-aligned address past the highest segment (the program break starts here)


def _segment_prot(p_flags: int) -> int:
    return ((PROT_READ if p_flags & 4 else 0) | (PROT_WRITE if p_flags & 2 else 0)
            | (PROT_EXEC if p_flags & 1 else 0))


def parse_elf(path: str, data: bytes) -> ElfImage:
    """Check ``data`` is a riscv64 ELF executable and read what loading needs; ElfError otherwise."""
    if data[:4] != b"\x7fELF":
        raise ElfError(f"{path}: not an ELF file")
    if len(data) < 64 and len(data) >= 5 and data[4] == 2:
        raise ElfError(f"{path}: truncated ELF file ({len(data)} bytes)")
    if len(data) >= 5 and data[4] == 1:
        raise ElfError(f"{path}: a 32-bit ELF file (only riscv64 programs run here)")
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf["e_machine"]
        if elf.elfclass != 64:
            raise ElfError(f"{path}: a 32-bit ELF file (only riscv64 programs run here)")
        if not elf.little_endian:
            raise ElfError(f"{path}: a big-endian ELF file (only riscv64 programs run here)")
        if machine != "EM_RISCV":
            name = machine[3:] if isinstance(machine, str) and machine.startswith("EM_") else machine
            raise ElfError(f"{path}: an ELF file for {name}, not riscv64")
        kind = elf["e_type"]
        if kind not in ("ET_EXEC", "ET_DYN"):
            raise ElfError(f"{path}: not an executable ELF file ({kind})")
        if elf["e_phoff"] + elf["e_phnum"] * elf["e_phentsize"] > len(data):
            raise ElfError(f"{path}: truncated ELF file (program headers past its end)")
        segments: list[tuple[int, int, int, int, int]] = []
        phdr_vaddr = interp = None
        for seg in elf.iter_segments():
            ptype = seg["p_type"]
            if ptype == "PT_LOAD" and seg["p_memsz"]:
                if seg["p_offset"] + seg["p_filesz"] > len(data):
                    raise ElfError(f"{path}: truncated ELF file (a segment runs past its end)")
                if seg["p_filesz"] > seg["p_memsz"]:
                    raise ElfError(f"{path}: malformed ELF file (segment larger in the file than in memory)")
                segments.append((seg["p_vaddr"], seg["p_memsz"], seg["p_offset"], seg["p_filesz"],
                                 _segment_prot(seg["p_flags"])))
            elif ptype == "PT_PHDR":
                phdr_vaddr = seg["p_vaddr"]
            elif ptype == "PT_INTERP":
                raw = data[seg["p_offset"]:seg["p_offset"] + seg["p_filesz"]]
                interp = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if not segments:
            raise ElfError(f"{path}: an ELF file with nothing to load")
        return ElfImage(path=path, data=data, is_dyn=kind == "ET_DYN", entry=elf["e_entry"],
                        phoff=elf["e_phoff"], phentsize=elf["e_phentsize"], phnum=elf["e_phnum"],
                        segments=segments, phdr_vaddr=phdr_vaddr, interp=interp, flags=elf["e_flags"])
    except ElfError:
        raise
    except (_PyElfError, ValueError, KeyError, IndexError, OSError) as exc:
        raise ElfError(f"{path}: malformed or truncated ELF file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pyelftools raises construct's errors on short data
        raise ElfError(f"{path}: malformed or truncated ELF file ({type(exc).__name__})") from None


def load_image(aspace: AddressSpace, image: ElfImage, bias: int) -> LoadedImage:
    """Map ``image``'s segments at ``bias`` (0 for ET_EXEC) and copy their file contents in."""
    page_prot: dict[int, int] = {}
    for vaddr, memsz, _offset, _filesz, prot in image.segments:
        for page in range((vaddr + bias) & -PAGE_SIZE, page_up(vaddr + bias + memsz), PAGE_SIZE):
            page_prot[page] = page_prot.get(page, 0) | prot
    pages = sorted(page_prot)
    run_start = pages[0]
    for i, page in enumerate(pages):  # one map call per run of pages with the same protection
        nxt = pages[i + 1] if i + 1 < len(pages) else None
        if nxt != page + PAGE_SIZE or page_prot[nxt] != page_prot[page]:
            aspace.map(run_start, page + PAGE_SIZE - run_start, page_prot[page])
            if nxt is not None:
                run_start = nxt
    for vaddr, _memsz, offset, filesz, _prot in image.segments:
        if filesz:
            aspace.memory.poke(vaddr + bias, image.data[offset:offset + filesz])
    if image.phdr_vaddr is not None:
        phdr = image.phdr_vaddr + bias
    else:
        phdr = next((vaddr + bias + image.phoff - offset for vaddr, _m, offset, filesz, _p in image.segments
                     if offset <= image.phoff < offset + filesz), 0)
    return LoadedImage(image=image, bias=bias, entry=image.entry + bias, phdr=phdr, end=pages[-1] + PAGE_SIZE)
