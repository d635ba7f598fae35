"""The MMU of a system-VM hart: Sv39/Sv48 page walks, PMP, and a Memory that translates every access.

``TranslatingMemory`` is what a system hart's Cpu is given instead of a process's Memory. It keeps
the core's contract (``load``/``store``/``fetch`` and the page dicts of the translated code's fast
path) but on virtual addresses: the page dicts become a software TLB, virtual page number -> the
guest RAM page itself, filled on a slow-path access once the walk, the PMP and the page's A/D bits
allow it. Fetches have a TLB of their own (``fetchable``), one per privilege mode.

The data TLB belongs to a translation context: the effective privilege of data accesses (MPRV
honoured) and, under paging, mstatus.SUM and MXR. A privilege change or an mstatus write that moves
to another context parks the current TLB's entries and brings back those of the new context, so
that traps, returns and SUM toggles cost a dict copy, not a TLB refill. sfence.vma drops what the
page tables may have changed (with an address, only that page, or the superpage holding it), as
does a satp write; a PMP change drops everything.

Translated code is kept per privilege mode (a block is valid only for the mode that fetched it) and
indexed by the physical pages it came from, so that a store through any alias drops it; sfence.vma
of an address drops the S- and U-mode code of the pages concerned; fence.i drops the code of pages
whose bytes changed other than by the hart's own stores (device DMA). A flush of the whole TLB (sfence.vma
without an address, a satp write) sets the S- and U-mode code aside instead: ``recall`` brings a piece
back when the pages it was read from still map to the frames it was read from (``code_frames``), which
spares Linux a retranslation of its kernel after every global flush.
"""

from __future__ import annotations

import struct
from typing import Any

from ..devices.bus import Bus, BusError
from .cpu import block_runtime
from .memory import PAGE_SHIFT, PAGE_SIZE, Memory, MemoryFault

MODE_U, MODE_S, MODE_M = 0, 1, 3
SATP_BARE, SATP_SV39, SATP_SV48 = 0, 8, 9
LEVELS = {SATP_SV39: 3, SATP_SV48: 4}
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = (1 << bit for bit in range(8))
PPN_MASK = (1 << 44) - 1
MSTATUS_MPRV, MSTATUS_SUM, MSTATUS_MXR = 1 << 17, 1 << 18, 1 << 19
PMP_R, PMP_W, PMP_X, PMP_L = 1, 2, 4, 0x80
PMP_OFF, PMP_TOR, PMP_NA4, PMP_NAPOT = 0, 1, 2, 3
ACCESS_FAULT_CAUSE = {"x": 1, "r": 5, "w": 7}
_OFFSET = PAGE_SIZE - 1
_PTE = struct.Struct("<Q")
PAGED_MODES = (MODE_U, MODE_S)


class PageFault(MemoryFault):
    """A failed page walk (causes 12, 13, 15: how the core reports any MemoryFault)."""


class AccessFault(MemoryFault):
    """A PMP violation or a physical address nothing answers (causes 1, 5, 7)."""


class Pmp:
    """Physical memory protection: 16 entries, 4-byte granularity (pmpcfg0/2, pmpaddr0-15)."""

    ENTRIES = 16

    def __init__(self) -> None:
        self.cfg = [0] * self.ENTRIES
        self.addr = [0] * self.ENTRIES
        self.rules: list[tuple[int, int, int]] = []      # (start, end, cfg) of the active entries, in order
        self.any_locked = False

    def _update_rules(self) -> None:
        self.rules = [(*bounds, self.cfg[entry]) for entry in range(self.ENTRIES)
                      if (bounds := self._range(entry)) is not None]
        self.any_locked = any(cfg & PMP_L for _, _, cfg in self.rules)

    def write_cfg(self, index: int, value: int) -> None:
        """pmpcfg<index> (even on RV64): eight entries' bytes; locked entries keep theirs."""
        for n in range(8):
            entry = index * 4 + n
            if entry < self.ENTRIES and not self.cfg[entry] & PMP_L:
                byte = value >> (8 * n) & 0x9F
                if byte & (PMP_W | PMP_R) == PMP_W:      # W without R is reserved
                    byte &= ~PMP_W
                self.cfg[entry] = byte
        self._update_rules()

    def read_cfg(self, index: int) -> int:
        return sum(self.cfg[index * 4 + n] << (8 * n) for n in range(8) if index * 4 + n < self.ENTRIES)

    def write_addr(self, entry: int, value: int) -> None:
        locked = self.cfg[entry] & PMP_L or (entry + 1 < self.ENTRIES and self.cfg[entry + 1] & PMP_L
                                             and self.cfg[entry + 1] >> 3 & 3 == PMP_TOR)
        if not locked:
            self.addr[entry] = value & ((1 << 54) - 1)
            self._update_rules()

    def _range(self, entry: int) -> tuple[int, int] | None:
        kind, addr = self.cfg[entry] >> 3 & 3, self.addr[entry]
        if kind == PMP_TOR:
            return (self.addr[entry - 1] << 2 if entry else 0), addr << 2
        if kind == PMP_NA4:
            return addr << 2, (addr << 2) + 4
        if kind == PMP_NAPOT:
            ones = (~addr & (addr + 1)).bit_length() - 1      # trailing ones
            size = 1 << (ones + 3)
            base = (addr & ~((1 << ones) - 1)) << 2
            return base, base + size
        return None

    def check(self, paddr: int, size: int, access: str, mode: int) -> tuple[bool, bool]:
        """(allowed, uniform): whether the access may proceed, and whether that holds for its whole page."""
        if mode == MODE_M and not self.any_locked:
            return True, True
        need = {"r": PMP_R, "w": PMP_W, "x": PMP_X}[access]
        page = paddr & ~_OFFSET
        overlapped = False
        for start, end, cfg in self.rules:
            if start <= paddr and paddr + size <= end:
                allowed = bool(cfg & need) or (mode == MODE_M and not cfg & PMP_L)
                return allowed, not overlapped and start <= page and page + PAGE_SIZE <= end
            if start < paddr + size and paddr < end:
                return False, False                           # a partial match fails
            overlapped = overlapped or (start < page + PAGE_SIZE and page < end)
        return mode == MODE_M, not overlapped    # no match: only M-mode may access (entries exist)


class TranslatingMemory(Memory):
    """The Memory a system hart's Cpu runs on: virtual addresses of the hart's current mode and satp."""

    def __init__(self, bus: Bus, hart: Any) -> None:
        super().__init__()
        self.bus, self.ram, self.hart = bus, bus.ram, hart
        modes = (MODE_U, MODE_S, MODE_M)
        self.code_sets = {mode: ({}, {}) for mode in modes}   # translations, decoded
        self.stale_code = {mode: ({}, {}) for mode in modes}  # the same, set aside by a global flush
        self.code_frames: dict[tuple[int, int], dict[int, int]] = {}   # (mode, pc) -> {vpage: frame} read
        self.code_in_page: dict[int, dict[int, set[int]]] = {mode: {} for mode in modes}   # vpage -> pcs
        self.tlbs: dict[int, tuple[dict, dict]] = {mode: ({}, {}) for mode in modes}   # readable, writable
        self.fetch_tlbs: dict[int, dict[int, tuple[int, bytearray]]] = {mode: {} for mode in modes}
        self.filled_as = {mode: mode for mode in modes}   # the data mode each mode's TLB was filled under
        self.relaxed: dict[int, set[int]] = {mode: set() for mode in modes}   # vpns allowed by SUM or MXR
        self.permissions = 0                             # mstatus SUM|MXR as the TLBs know it
        self.superpages: dict[int, int] = {}             # first vpn of a mapped superpage -> its pages - 1
        self.pmp_verdicts: dict[tuple[int, str, int], bool] = {}     # (page, access, mode), whole pages
        self.physical_code: dict[int, set[tuple[int, int]]] = {}     # page -> (mode, pc)
        self.code_snapshots: dict[int, bytes | None] = {}             # page -> its bytes when code was read
        self.runtimes: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.last_access_fault: tuple[int, str] | None = None
        self.translations, self.decoded = self.code_sets[MODE_M]
        self.readable, self.writable = self.tlbs[MODE_M]
        self.fetchable = self.fetch_tlbs[MODE_M]         # vpn -> (physical page, its bytes)

    # ------------------------------------------------------------ mode and flushes

    def runtime(self, mode: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(block globals, interpreter steps) of the code of ``mode``: its fast path uses its own TLB."""
        runtime = self.runtimes.get(mode)
        if runtime is None:
            current = self.readable, self.writable
            self.readable, self.writable = self.tlbs[mode]
            runtime = self.runtimes[mode] = block_runtime(self)
            self.readable, self.writable = current
        return runtime

    def enter_mode(self, mode: int) -> None:
        """The hart changed privilege: its code cache and TLBs are those of the new mode."""
        self.translations, self.decoded = self.code_sets[mode]
        self.readable, self.writable = self.tlbs[mode]
        self.fetchable = self.fetch_tlbs[mode]
        self.status_changed()

    def status_changed(self) -> None:
        """The privilege or mstatus changed: drop the TLB entries the new state no longer allows."""
        mode, data_mode = self.hart.mode, self.data_mode()
        if self.filled_as[mode] != data_mode:          # M-mode's MPRV or MPP changed
            self._drop_data(mode)
            self.filled_as[mode] = data_mode
        permissions = self.hart.mstatus & (MSTATUS_SUM | MSTATUS_MXR)
        if self.permissions & ~permissions:
            for held, relaxed in self.relaxed.items():
                for table in self.tlbs[held]:
                    for vpn in relaxed:
                        table.pop(vpn, None)
                relaxed.clear()
        self.permissions = permissions

    def _drop_data(self, mode: int) -> None:
        for table in self.tlbs[mode]:
            table.clear()
        self.relaxed[mode].clear()

    def flush_tlb(self) -> None:
        """Forget every cached translation and PMP verdict (a PMP change)."""
        for mode, fetchable in self.fetch_tlbs.items():
            self._drop_data(mode)
            fetchable.clear()
        self.superpages.clear()
        self.pmp_verdicts.clear()

    def flush_virtual(self, vaddr: int | None = None) -> None:
        """sfence.vma (of one address, or of all) or a satp write: drop the TLB entries and the S- and
        U-mode code that the page tables in force may have changed."""
        paged = [mode for mode in self.tlbs if self.filled_as[mode] != MODE_M]
        tables = [table for mode in paged for table in self.tlbs[mode]] + [self.fetch_tlbs[mode] for mode in PAGED_MODES]
        if vaddr is None:
            for table in tables:
                table.clear()
            for mode in PAGED_MODES:
                for table, stale in zip(self.code_sets[mode], self.stale_code[mode]):
                    stale.update(table)
                    table.clear()
            for mode in paged:
                self.relaxed[mode].clear()
            self.superpages.clear()
            return
        vpn = (vaddr & ((1 << 64) - 1)) >> PAGE_SHIFT
        spans = [(first, first + span) for first, span in self.superpages.items() if first <= vpn <= first + span]
        for table in tables:
            table.pop(vpn, None)
            for first, last in spans:
                for page in [page for page in table if first <= page <= last]:
                    del table[page]
        pages = {vpn}.union(*(range(first, last + 1) for first, last in spans))
        for mode in PAGED_MODES:
            in_pages = self.code_in_page[mode]
            for page in pages if len(pages) < len(in_pages) else [page for page in in_pages if page in pages]:
                for pc in in_pages.get(page, ()):
                    for table in self.code_sets[mode]:
                        table.pop(pc, None)

    def invalidate_all(self) -> None:
        """fence.i: the hart's own stores have dropped the code they overwrote already; drop the code
        of the pages that changed otherwise (device DMA) since their code was translated."""
        for ppage, snapshot in list(self.code_snapshots.items()):
            frame = self.ram.page(ppage)
            if frame is None or frame != snapshot:
                self._code_written(ppage)

    def recall(self, kind: int, pc: int) -> Any:
        mode = self.hart.mode
        entry = self.stale_code[mode][kind].pop(pc, None)
        if entry is None:
            return None
        fault = self.last_access_fault
        for vpage, ppage in self.code_frames[mode, pc].items():
            cached = self.fetchable.get(vpage)
            try:
                frame = cached[0] if cached else self._physical(vpage << PAGE_SHIFT, "x") >> PAGE_SHIFT
            except MemoryFault:      # the fetch that follows reports it
                self.last_access_fault = fault
                return None
            if frame != ppage:
                return None
        self.code_sets[mode][kind][pc] = entry
        return entry

    def note_code(self, pc: int, first_byte: int, last_byte: int) -> None:
        mode = self.hart.mode
        key = (mode, pc)
        frames = self.code_frames.get(key)
        if frames is None:
            frames = self.code_frames[key] = {}
        in_page = self.code_in_page[mode]
        for vpage in range(first_byte >> PAGE_SHIFT, (last_byte >> PAGE_SHIFT) + 1):
            cached = self.fetchable.get(vpage)
            ppage = cached[0] if cached else self.translate(vpage << PAGE_SHIFT, "x", mode) >> PAGE_SHIFT
            pcs = in_page.get(vpage)
            if pcs is None:
                pcs = in_page[vpage] = set()
            pcs.add(pc)
            if frames.setdefault(vpage, ppage) != ppage:    # code set aside at pc came from other bytes
                frames[vpage] = ppage
                for stale in self.stale_code[mode]:
                    stale.pop(pc, None)
            held = self.physical_code.get(ppage)
            if held is None:
                held = self.physical_code[ppage] = set()
                frame = self.ram.page(ppage)
                self.code_snapshots[ppage] = bytes(frame) if frame is not None else None
                if frame is not None:   # stores into the page must now take the slow path
                    for _, table in self.tlbs.values():
                        for vpn in [vpn for vpn, held_frame in table.items() if held_frame is frame]:
                            del table[vpn]
            held.add(key)

    def _code_written(self, ppage: int) -> None:
        self.code_snapshots.pop(ppage, None)
        for mode, pc in self.physical_code.pop(ppage, ()):
            for table in (*self.code_sets[mode], *self.stale_code[mode]):
                table.pop(pc, None)

    # ------------------------------------------------------------ translation

    def data_mode(self) -> int:
        hart = self.hart
        if hart.mode == MODE_M and hart.mstatus & MSTATUS_MPRV:
            return hart.mstatus >> 11 & 3
        return hart.mode

    def translate(self, vaddr: int, access: str, mode: int) -> int:
        """The physical address of an access by ``mode``; raises PageFault or AccessFault."""
        return self._walk(vaddr, access, mode)[0]

    def _walk(self, vaddr: int, access: str, mode: int) -> tuple[int, bool, bool]:
        """(physical address, whether the fast path may cache the page for this access, whether only
        mstatus.SUM or MXR allows it)."""
        hart = self.hart
        satp_mode = hart.satp >> 60
        if mode == MODE_M or satp_mode == SATP_BARE:
            return (*self._pmp(vaddr, access, mode, vaddr, True), False)
        levels = LEVELS[satp_mode]
        bits = 12 + 9 * levels
        top = vaddr >> (bits - 1)
        if top not in (0, (1 << (65 - bits)) - 1):
            raise PageFault(vaddr, access)
        table = (hart.satp & PPN_MASK) << PAGE_SHIFT
        for level in reversed(range(levels)):
            pte_addr = table + 8 * (vaddr >> (12 + 9 * level) & 0x1FF)
            self._pmp(pte_addr, "r", MODE_S, vaddr, False, access)
            frame = self.ram.page(pte_addr >> PAGE_SHIFT)
            if frame is not None:
                pte = _PTE.unpack_from(frame, pte_addr & _OFFSET)[0]
            else:
                try:
                    pte = self.bus.read(pte_addr, 8)
                except BusError:
                    self.last_access_fault = (vaddr, access)
                    raise AccessFault(vaddr, access) from None
            if not pte & PTE_V or pte & (PTE_R | PTE_W) == PTE_W or pte >> 54:
                raise PageFault(vaddr, access)
            if pte & (PTE_R | PTE_X):
                return self._leaf(vaddr, access, mode, pte, pte_addr, level)
            table = (pte >> 10 & PPN_MASK) << PAGE_SHIFT
        raise PageFault(vaddr, access)

    def _leaf(self, vaddr: int, access: str, mode: int, pte: int, pte_addr: int,
              level: int) -> tuple[int, bool, bool]:
        mstatus = self.hart.mstatus
        relaxed = False
        if access == "x":
            allowed = pte & PTE_X
        elif access == "r":
            relaxed = not pte & PTE_R
            allowed = pte & PTE_R or (mstatus & MSTATUS_MXR and pte & PTE_X)
        else:
            allowed = pte & PTE_W
        if mode == MODE_U:
            allowed = allowed and pte & PTE_U
        elif pte & PTE_U:
            relaxed = True
            allowed = allowed and access != "x" and mstatus & MSTATUS_SUM
        ppn = pte >> 10 & PPN_MASK
        span = (1 << (9 * level)) - 1
        if not allowed or ppn & span:
            raise PageFault(vaddr, access)
        wanted = pte | PTE_A | (PTE_D if access == "w" else 0)
        if wanted != pte:                    # hardware A/D update, as QEMU does
            if self.physical_code:
                self._code_written(pte_addr >> PAGE_SHIFT)
            self.bus.write(pte_addr, 8, wanted)
        if span:
            self.superpages[vaddr >> PAGE_SHIFT & ~span] = span
        paddr = ((ppn & ~span) | (vaddr >> PAGE_SHIFT & span)) << PAGE_SHIFT | vaddr & _OFFSET
        cacheable = access != "w" or bool(wanted & PTE_D)
        return (*self._pmp(paddr, access, mode, vaddr, cacheable), relaxed)

    def _pmp(self, paddr: int, access: str, mode: int, vaddr: int, cacheable: bool,
             reported: str | None = None) -> tuple[int, bool]:
        key = (paddr >> PAGE_SHIFT, access, mode)
        allowed = self.pmp_verdicts.get(key)
        if allowed is None:
            allowed, uniform = self.hart.pmp.check(paddr, 1, access, mode)
            if uniform:
                self.pmp_verdicts[key] = allowed
        else:
            uniform = True
        if not allowed:
            self.last_access_fault = (vaddr, reported or access)
            raise AccessFault(vaddr, reported or access)
        return paddr, cacheable and uniform

    # ------------------------------------------------------------ accesses

    def _physical(self, vaddr: int, access: str) -> int:
        """Translate for a data access or fetch, filling the TLB when the page allows."""
        mode = self.hart.mode if access == "x" else self.data_mode()
        paddr, cacheable, relaxed = self._walk(vaddr, access, mode)
        if cacheable:
            ppage = paddr >> PAGE_SHIFT
            frame = self.ram.page(ppage)
            if frame is not None:
                vpn = vaddr >> PAGE_SHIFT
                if relaxed:
                    self.relaxed[self.hart.mode].add(vpn)
                if access == "r":
                    self.readable[vpn] = frame
                elif access == "x":
                    self.fetchable[vpn] = (ppage, frame)
                elif ppage not in self.physical_code:
                    self.writable[vpn] = frame
        return paddr

    def _access_fault(self, vaddr: int, access: str) -> AccessFault:
        self.last_access_fault = (vaddr, access)
        return AccessFault(vaddr, access)

    def load(self, addr: int, width: int) -> int:
        offset = addr & _OFFSET
        if offset + width > PAGE_SIZE:
            return int.from_bytes(self.read(addr, width), "little")
        frame = self.readable.get(addr >> PAGE_SHIFT)
        if frame is None:
            paddr = self._physical(addr, "r")
            frame = self.ram.page(paddr >> PAGE_SHIFT)
            if frame is None:
                try:
                    return self.bus.read(paddr, width)
                except BusError:
                    raise self._access_fault(addr, "r") from None
        return int.from_bytes(frame[offset:offset + width], "little")

    def store(self, addr: int, width: int, value: int) -> None:
        offset = addr & _OFFSET
        if offset + width > PAGE_SIZE:
            self.write(addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))
            return
        frame = self.writable.get(addr >> PAGE_SHIFT)
        if frame is None:
            paddr = self._physical(addr, "w")
            if self.physical_code:
                self._code_written(paddr >> PAGE_SHIFT)
            frame = self.ram.page(paddr >> PAGE_SHIFT)
            if frame is None:
                try:
                    self.bus.write(paddr, width, value)
                except BusError:
                    raise self._access_fault(addr, "w") from None
                return
        frame[offset:offset + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.load(addr + i, 1) for i in range(n))

    def write(self, addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.store(addr + i, 1, byte)

    def fetch(self, addr: int, n: int) -> bytes:
        cached = self.fetchable.get(addr >> PAGE_SHIFT)
        offset = addr & _OFFSET
        if cached is not None and offset + n <= PAGE_SIZE:
            return bytes(cached[1][offset:offset + n])
        paddr = self._physical(addr, "x")
        if self.ram.contains(paddr, n):
            return self.ram.read(paddr, n)
        try:
            return self.bus.read(paddr, n).to_bytes(n, "little")
        except BusError:
            raise self._access_fault(addr, "x") from None

    def poke(self, addr: int, data: bytes) -> None:
        """A loader's write at a physical address (RAM or ROM-like devices), no checks."""
        self.ram.write(addr, data)
