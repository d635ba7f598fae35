"""The MMU of a system-VM hart: Sv39/Sv48 page walks, PMP, and a Memory that translates every access.

``TranslatingMemory`` is what a system hart's Cpu is given instead of a process's Memory. It keeps
the core's contract (``load``/``store``/``fetch`` and the page dicts of the translated code's fast
path) but on virtual addresses: the page dicts become a software TLB, virtual page number -> the
guest RAM page itself, filled on a slow-path access once the walk, the PMP and the page's A/D bits
allow it, and emptied on sfence.vma, a satp write, a privilege change or an mstatus change that
alters translation. Accesses outside RAM go to the board's bus (MMIO). Translated code is kept per
privilege mode (a block is valid only for the mode that fetched it) and indexed by the physical
pages it came from, so that a store through any alias drops it.
"""

from __future__ import annotations

from typing import Any

from ..devices.bus import Bus, BusError
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
        self.code_sets = {mode: ({}, {}) for mode in (MODE_U, MODE_S, MODE_M)}   # translations, decoded
        self.physical_code: dict[int, set[tuple[int, int]]] = {}                # page -> (mode, pc)
        self.last_access_fault: tuple[int, str] | None = None
        self.translations, self.decoded = self.code_sets[MODE_M]

    # ------------------------------------------------------------ mode and flushes

    def enter_mode(self, mode: int) -> None:
        """The hart changed privilege: its code cache and TLB are those of the new mode."""
        self.translations, self.decoded = self.code_sets[mode]
        self.flush_tlb()

    def flush_tlb(self) -> None:
        self.readable.clear()
        self.writable.clear()

    def flush_virtual(self) -> None:
        """sfence.vma or a satp write: drop translations made under the old page tables."""
        self.flush_tlb()
        for mode in (MODE_U, MODE_S):
            for table in self.code_sets[mode]:
                table.clear()

    def invalidate_all(self) -> None:
        """fence.i: drop every translation of every mode."""
        self.flush_tlb()
        for tables in self.code_sets.values():
            for table in tables:
                table.clear()
        self.physical_code.clear()
        self.heat.clear()

    def note_code(self, pc: int, first_byte: int, last_byte: int) -> None:
        mode = self.hart.mode
        for vpage in range(first_byte >> PAGE_SHIFT, (last_byte >> PAGE_SHIFT) + 1):
            paddr = self.translate(vpage << PAGE_SHIFT, "x", mode)
            ppage = paddr >> PAGE_SHIFT
            self.physical_code.setdefault(ppage, set()).add((mode, pc))
            frame = self.ram.page(ppage)
            if frame is not None:
                for vpn in [vpn for vpn, held in self.writable.items() if held is frame]:
                    del self.writable[vpn]

    def _code_written(self, ppage: int) -> None:
        for mode, pc in self.physical_code.pop(ppage, ()):
            translations, decoded = self.code_sets[mode]
            translations.pop(pc, None)
            decoded.pop(pc, None)

    # ------------------------------------------------------------ translation

    def data_mode(self) -> int:
        hart = self.hart
        if hart.mode == MODE_M and hart.mstatus & MSTATUS_MPRV:
            return hart.mstatus >> 11 & 3
        return hart.mode

    def translate(self, vaddr: int, access: str, mode: int) -> int:
        """The physical address of an access by ``mode``; raises PageFault or AccessFault."""
        paddr, _ = self._walk(vaddr, access, mode)
        return paddr

    def _walk(self, vaddr: int, access: str, mode: int) -> tuple[int, bool]:
        """(physical address, whether the fast path may cache the page for this access)."""
        hart = self.hart
        satp_mode = hart.satp >> 60
        if mode == MODE_M or satp_mode == SATP_BARE:
            return self._pmp(vaddr, access, mode, vaddr, True)
        levels = LEVELS[satp_mode]
        bits = 12 + 9 * levels
        top = vaddr >> (bits - 1)
        if top not in (0, (1 << (65 - bits)) - 1):
            raise PageFault(vaddr, access)
        table = (hart.satp & PPN_MASK) << PAGE_SHIFT
        for level in reversed(range(levels)):
            pte_addr = table + 8 * (vaddr >> (12 + 9 * level) & 0x1FF)
            self._pmp(pte_addr, "r", MODE_S, vaddr, False, access)
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

    def _leaf(self, vaddr: int, access: str, mode: int, pte: int, pte_addr: int, level: int) -> tuple[int, bool]:
        mstatus = self.hart.mstatus
        if access == "x":
            allowed = pte & PTE_X
        elif access == "r":
            allowed = pte & PTE_R or (mstatus & MSTATUS_MXR and pte & PTE_X)
        else:
            allowed = pte & PTE_W
        if mode == MODE_U:
            allowed = allowed and pte & PTE_U
        elif pte & PTE_U:
            allowed = allowed and access != "x" and mstatus & MSTATUS_SUM
        ppn = pte >> 10 & PPN_MASK
        span = (1 << (9 * level)) - 1
        if not allowed or ppn & span:
            raise PageFault(vaddr, access)
        wanted = pte | PTE_A | (PTE_D if access == "w" else 0)
        if wanted != pte:                    # hardware A/D update, as QEMU does
            self.bus.write(pte_addr, 8, wanted)
        paddr = ((ppn & ~span) | (vaddr >> PAGE_SHIFT & span)) << PAGE_SHIFT | vaddr & _OFFSET
        cacheable = access != "w" or bool(wanted & PTE_D)
        return self._pmp(paddr, access, mode, vaddr, cacheable)

    def _pmp(self, paddr: int, access: str, mode: int, vaddr: int, cacheable: bool,
             reported: str | None = None) -> tuple[int, bool]:
        allowed, uniform = self.hart.pmp.check(paddr, 1, access, mode)
        if not allowed:
            self.last_access_fault = (vaddr, reported or access)
            raise AccessFault(vaddr, reported or access)
        return paddr, cacheable and uniform

    # ------------------------------------------------------------ accesses

    def _physical(self, vaddr: int, access: str) -> int:
        """Translate for a data access or fetch, filling the TLB when the page allows."""
        mode = self.hart.mode if access == "x" else self.data_mode()
        paddr, cacheable = self._walk(vaddr, access, mode)
        if cacheable and access != "x":
            frame = self.ram.page(paddr >> PAGE_SHIFT)
            if frame is not None:
                vpn = vaddr >> PAGE_SHIFT
                if access == "r":
                    self.readable[vpn] = frame
                elif (paddr >> PAGE_SHIFT) not in self.physical_code:
                    self.writable[vpn] = frame
        return paddr

    def _access_fault(self, vaddr: int, access: str) -> AccessFault:
        self.last_access_fault = (vaddr, access)
        return AccessFault(vaddr, access)

    def load(self, addr: int, width: int) -> int:
        if (addr & _OFFSET) + width > PAGE_SIZE:
            return int.from_bytes(self.read(addr, width), "little")
        paddr = self._physical(addr, "r")
        try:
            return self.bus.read(paddr, width)
        except BusError:
            raise self._access_fault(addr, "r") from None

    def store(self, addr: int, width: int, value: int) -> None:
        if (addr & _OFFSET) + width > PAGE_SIZE:
            self.write(addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))
            return
        paddr = self._physical(addr, "w")
        if self.physical_code:
            self._code_written(paddr >> PAGE_SHIFT)
        try:
            self.bus.write(paddr, width, value)
        except BusError:
            raise self._access_fault(addr, "w") from None

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.load(addr + i, 1) for i in range(n))

    def write(self, addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.store(addr + i, 1, byte)

    def fetch(self, addr: int, n: int) -> bytes:
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
