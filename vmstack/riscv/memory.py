"""Guest memory: a sparse 64-bit address space of 4 KiB pages with per-page protections.

Each mapped page is a ``bytearray`` of PAGE_SIZE bytes. Besides the page table proper the Memory keeps
two dicts the CPU's translated code uses as its fast path: ``readable`` (page number -> bytes of every
readable page) and ``writable`` (the same for writable pages that hold no translated code). A store to a
page missing from ``writable`` takes the slow path, which checks protections and, when the page holds
translated code, drops those translations first (self-modifying code, a loader's relocations). The
translations themselves live here too (``translations``: guest pc -> translated block), so that every
hart sharing this Memory sees an invalidation at once.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
PAGE_SIZE = 4096
PAGE_SHIFT = 12
_OFFSET = PAGE_SIZE - 1
ADDRESS_MASK = (1 << 64) - 1


class MemoryFault(Exception):
    """An access the page protections forbid (or to an unmapped page)."""

    def __init__(self, addr: int, access: str) -> None:
        super().__init__(f"{'read' if access == 'r' else 'write' if access == 'w' else 'fetch'}"
                         f" fault at {addr:#x}")
        self.addr = addr
        self.access = access


def _page_range(addr: int, length: int) -> range:
    if addr & _OFFSET:
        raise ValueError(f"address {addr:#x} is not page-aligned")
    return range(addr >> PAGE_SHIFT, (addr + length + _OFFSET) >> PAGE_SHIFT)


class Memory:
    """A sparse 64-bit guest address space of 4 KiB pages with per-page protections."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}
        self.prots: dict[int, int] = {}
        self.readable: dict[int, bytearray] = {}
        self.writable: dict[int, bytearray] = {}
        self.translations: dict[int, Any] = {}
        self.code_pages: dict[int, set[int]] = {}  # page number -> pcs of the blocks read from it

    # ------------------------------------------------------------ mappings

    def map(self, addr: int, length: int, prot: int) -> None:
        for page in _page_range(addr, length):
            self.invalidate_page(page)
            self.pages[page] = bytearray(PAGE_SIZE)
            self._set_prot(page, prot)

    def unmap(self, addr: int, length: int) -> None:
        for page in _page_range(addr, length):
            self.invalidate_page(page)
            self.pages.pop(page, None)
            self.prots.pop(page, None)
            self.readable.pop(page, None)
            self.writable.pop(page, None)

    def protect(self, addr: int, length: int, prot: int) -> None:
        for page in _page_range(addr, length):
            if page in self.pages:
                self.invalidate_page(page)
                self._set_prot(page, prot)

    def _set_prot(self, page: int, prot: int) -> None:
        data = self.pages[page]
        self.prots[page] = prot
        for table, bit in ((self.readable, PROT_READ), (self.writable, PROT_WRITE)):
            if prot & bit:
                table[page] = data
            else:
                table.pop(page, None)

    def is_mapped(self, addr: int) -> bool:
        return (addr >> PAGE_SHIFT) in self.pages

    def prot_at(self, addr: int) -> int | None:
        return self.prots.get(addr >> PAGE_SHIFT)

    # ------------------------------------------------------------ translated code

    def note_code(self, pc: int, first_byte: int, last_byte: int) -> None:
        """Record that the block translated at ``pc`` was read from these bytes."""
        for page in range(first_byte >> PAGE_SHIFT, (last_byte >> PAGE_SHIFT) + 1):
            self.code_pages.setdefault(page, set()).add(pc)
            self.writable.pop(page, None)

    def invalidate_page(self, page: int) -> None:
        pcs = self.code_pages.pop(page, None)
        if pcs:
            for pc in pcs:
                self.translations.pop(pc, None)
            if self.prots.get(page, 0) & PROT_WRITE:
                self.writable[page] = self.pages[page]

    def invalidate_all(self) -> None:
        """Drop every translation (fence.i)."""
        for page in list(self.code_pages):
            self.invalidate_page(page)
        self.translations.clear()

    # ------------------------------------------------------------ byte access

    def _chunks(self, addr: int, n: int, need: int, access: str):
        """(page bytes, offset, length) pieces covering [addr, addr+n), protections checked."""
        pieces = []
        while n > 0:
            addr &= ADDRESS_MASK
            page = addr >> PAGE_SHIFT
            prot = self.prots.get(page)
            if prot is None or (need and not prot & need):
                raise MemoryFault(addr, access)
            offset = addr & _OFFSET
            take = min(n, PAGE_SIZE - offset)
            pieces.append((page, offset, take))
            addr += take
            n -= take
        return pieces

    def read(self, addr: int, n: int) -> bytes:
        return b"".join(bytes(self.pages[p][o:o + k]) for p, o, k in self._chunks(addr, n, PROT_READ, "r"))

    def fetch(self, addr: int, n: int) -> bytes:
        """Read instruction bytes: the pages must be executable."""
        return b"".join(bytes(self.pages[p][o:o + k]) for p, o, k in self._chunks(addr, n, PROT_EXEC, "x"))

    def _put(self, pieces, data: bytes) -> None:
        done = 0
        for page, offset, take in pieces:
            if page in self.code_pages:
                self.invalidate_page(page)
            self.pages[page][offset:offset + take] = data[done:done + take]
            done += take

    def write(self, addr: int, data: bytes) -> None:
        self._put(self._chunks(addr, len(data), PROT_WRITE, "w"), data)

    def poke(self, addr: int, data: bytes) -> None:
        self._put(self._chunks(addr, len(data), 0, "w"), data)

    def read_cstring(self, addr: int, limit: int = 1 << 16) -> bytes:
        out = bytearray()
        while len(out) < limit:
            page = self.pages.get(addr >> PAGE_SHIFT)
            if page is None or not self.prots[addr >> PAGE_SHIFT] & PROT_READ:
                raise MemoryFault(addr, "r")
            offset = addr & _OFFSET
            end = page.find(0, offset)
            if end >= 0:
                out += page[offset:end]
                break
            out += page[offset:]
            addr += PAGE_SIZE - offset
        return bytes(out[:limit])

    def load(self, addr: int, width: int) -> int:
        return int.from_bytes(self.read(addr, width), "little")

    def store(self, addr: int, width: int, value: int) -> None:
        self.write(addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))

    # ------------------------------------------------------------ the translator's fast path

    def accessors(self) -> dict[str, Callable[..., Any]]:
        """Load/store functions translated code calls: ld1..ld8(addr) -> unsigned value,
        st1..st8(addr, value). The fast path indexes the page dicts; anything else (unmapped, protected,
        code page, an access crossing pages) takes the checked path above. The page dicts themselves are
        offered too (readable_pages, writable_pages) for the translator to inline that fast path."""
        readable, writable, load, store = self.readable, self.writable, self.load, self.store
        funcs: dict[str, Callable[..., Any]] = {}
        for width, fmt in ((2, "H"), (4, "I"), (8, "Q")):
            funcs[f"ld{width}"] = _fast_load(readable, load, width, struct.Struct("<" + fmt).unpack_from)
            funcs[f"st{width}"] = _fast_store(writable, store, width, struct.Struct("<" + fmt).pack_into)

        def ld1(addr: int) -> int:
            try:
                return readable[addr >> PAGE_SHIFT][addr & _OFFSET]
            except KeyError:
                return load(addr, 1)

        def st1(addr: int, value: int) -> None:
            try:
                writable[addr >> PAGE_SHIFT][addr & _OFFSET] = value & 0xFF
            except KeyError:
                store(addr, 1, value)
        funcs.update(ld1=ld1, st1=st1, readable_pages=readable, writable_pages=writable)
        return funcs


def _fast_load(readable: dict, load: Callable, width: int, unpack: Callable) -> Callable[[int], int]:
    def fast_load(addr: int) -> int:
        try:
            return unpack(readable[addr >> PAGE_SHIFT], addr & _OFFSET)[0]
        except (KeyError, struct.error):
            return load(addr, width)
    return fast_load


def _fast_store(writable: dict, store: Callable, width: int, pack: Callable) -> Callable[[int, int], None]:
    mask = (1 << (8 * width)) - 1

    def fast_store(addr: int, value: int) -> None:
        try:
            pack(writable[addr >> PAGE_SHIFT], addr & _OFFSET, value & mask)
        except (KeyError, struct.error):
            store(addr, width, value)
    return fast_store
