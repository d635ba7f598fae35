"""Guest memory: a sparse 64-bit address space of 4 KiB pages with per-page protections.

Each mapped page, once touched, is a ``bytearray`` of PAGE_SIZE bytes. Besides the page table proper the
Memory keeps two dicts the CPU's translated code uses as its fast path: ``readable`` (page number -> bytes
of every touched readable page) and ``writable`` (the same for writable pages that hold no translated
code); a page missing there (untouched, protected, holding code) takes the checked path. A store to a
page missing from ``writable`` takes the slow path, which checks protections and, when the page holds
translated code, drops those translations first (self-modifying code, a loader's relocations). The
translations themselves live here too (``translations``: guest pc -> translated block, and ``decoded``
for the interpreter), so that every hart sharing this Memory sees an invalidation at once.
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
CODE_TRANSLATED, CODE_DECODED = 0, 1    # what ``recall`` looks for: a translated block, a decoded instruction


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
    """A sparse 64-bit guest address space of 4 KiB pages with per-page protections. A mapped page gets
    its (zeroed) bytes when first accessed, so reserving a large region costs little."""

    # A system VM's privileged checks on the core (riscv.system_isa.CoreChecks), decided at decode time;
    # None for a process: its decoded instructions and translated blocks carry no check at all.
    core_checks: Any = None

    def __init__(self) -> None:
        self.prots: dict[int, int] = {}          # page number -> protection, for every mapped page
        self.pages: dict[int, bytearray] = {}    # page number -> bytes, for the pages touched so far
        self.readable: dict[int, bytearray] = {}
        self.writable: dict[int, bytearray] = {}
        self.translations: dict[int, Any] = {}   # pc -> translated block
        self.decoded: dict[int, Any] = {}        # pc -> the interpreter's decoded instruction
        self.heat: dict[int, int] = {}           # pc -> times a block was interpreted from there
        self.code_pages: dict[int, set[int]] = {}  # page number -> pcs of the code read from it

    # ------------------------------------------------------------ mappings

    def map(self, addr: int, length: int, prot: int) -> None:
        for page in _page_range(addr, length):
            self._forget(page)
            self.prots[page] = prot

    def unmap(self, addr: int, length: int) -> None:
        for page in _page_range(addr, length):
            self._forget(page)
            self.prots.pop(page, None)

    def protect(self, addr: int, length: int, prot: int) -> None:
        for page in _page_range(addr, length):
            if page in self.prots:
                self.invalidate_page(page)
                self.prots[page] = prot
                if page in self.pages:
                    self._publish(page)

    def _forget(self, page: int) -> None:
        self.invalidate_page(page)
        self.pages.pop(page, None)
        self.readable.pop(page, None)
        self.writable.pop(page, None)

    def _publish(self, page: int) -> None:
        """Enter a page's bytes in the fast-path dicts its protection allows."""
        data, prot = self.pages[page], self.prots[page]
        for table, bit in ((self.readable, PROT_READ), (self.writable, PROT_WRITE)):
            if prot & bit and not (bit == PROT_WRITE and page in self.code_pages):
                table[page] = data
            else:
                table.pop(page, None)

    def _data(self, page: int) -> bytearray:
        data = self.pages.get(page)
        if data is None:
            data = self.pages[page] = bytearray(PAGE_SIZE)
            self._publish(page)
        return data

    def is_mapped(self, addr: int) -> bool:
        return (addr >> PAGE_SHIFT) in self.prots

    def prot_at(self, addr: int) -> int | None:
        return self.prots.get(addr >> PAGE_SHIFT)

    # ------------------------------------------------------------ translated code

    def note_code(self, pc: int, first_byte: int, last_byte: int) -> None:
        """Record that the code translated or decoded at ``pc`` was read from these bytes."""
        for page in range(first_byte >> PAGE_SHIFT, (last_byte >> PAGE_SHIFT) + 1):
            self.code_pages.setdefault(page, set()).add(pc)
            self.writable.pop(page, None)

    def recall(self, kind: int, pc: int) -> Any:
        """Code at pc set aside by a TLB flush (kind CODE_TRANSLATED or CODE_DECODED) and still valid, back
        in its cache; None when there is none (a process's code is only ever dropped for good)."""
        return None

    def invalidate_page(self, page: int) -> None:
        pcs = self.code_pages.pop(page, None)
        if pcs:
            for pc in pcs:   # code that gets rewritten is interpreted a while before it is translated again
                self.translations.pop(pc, None)
                self.decoded.pop(pc, None)
                self.heat.pop(pc, None)
            if page in self.pages:
                self._publish(page)

    def invalidate_all(self) -> None:
        """Drop every translation (fence.i)."""
        for page in list(self.code_pages):
            self.invalidate_page(page)
        self.translations.clear()
        self.decoded.clear()

    # ------------------------------------------------------------ byte access

    def _chunks(self, addr: int, n: int, need: int, access: str) -> list[tuple[int, int, int]]:
        """(page number, offset, length) pieces covering [addr, addr+n), protections checked."""
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

    def _get(self, pieces: list[tuple[int, int, int]]) -> bytes:
        return b"".join(bytes(self._data(page)[offset:offset + take]) for page, offset, take in pieces)

    def read(self, addr: int, n: int) -> bytes:
        return self._get(self._chunks(addr, n, PROT_READ, "r"))

    def fetch(self, addr: int, n: int) -> bytes:
        """Read instruction bytes: the pages must be executable."""
        return self._get(self._chunks(addr, n, PROT_EXEC, "x"))

    def _put(self, pieces: list[tuple[int, int, int]], data: bytes) -> None:
        done = 0
        for page, offset, take in pieces:
            if page in self.code_pages:
                self.invalidate_page(page)
            self._data(page)[offset:offset + take] = data[done:done + take]
            done += take

    def write(self, addr: int, data: bytes) -> None:
        self._put(self._chunks(addr, len(data), PROT_WRITE, "w"), data)

    def poke(self, addr: int, data: bytes) -> None:
        self._put(self._chunks(addr, len(data), 0, "w"), data)

    def read_cstring(self, addr: int, limit: int = 1 << 16) -> bytes:
        out = bytearray()
        while len(out) < limit:
            page = addr >> PAGE_SHIFT
            if not self.prots.get(page, 0) & PROT_READ:
                raise MemoryFault(addr, "r")
            data = self._data(page)
            offset = addr & _OFFSET
            end = data.find(0, offset)
            if end >= 0:
                out += data[offset:end]
                break
            out += data[offset:]
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
