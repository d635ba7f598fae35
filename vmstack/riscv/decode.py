"""Instruction decoding: a 32-bit word (or a 16-bit compressed one, first expanded to its 32-bit
equivalent) to a ``Decoded`` record naming its ``user_isa`` entry and operand fields.

The matcher is derived from the encodings in ``user_isa.INSTRUCTIONS``: entries are grouped by major
opcode and tried in table order against their mask/match pair.
"""

from __future__ import annotations

from typing import NamedTuple

from .faults import IllegalInstruction
from .user_isa import (
    IMM_B,
    IMM_CSR,
    IMM_I,
    IMM_J,
    IMM_NONE,
    IMM_S,
    IMM_SHAMT5,
    IMM_SHAMT6,
    IMM_U,
    INSTRUCTIONS,
    Instruction,
)

FIELDS = {"op": (0, 7), "rd": (7, 5), "f3": (12, 3), "rs1": (15, 5), "rs2": (20, 5), "f7": (25, 7),
          "f6": (26, 6), "f5": (27, 5), "f2": (25, 2), "f12": (20, 12)}


class Decoded(NamedTuple):
    insn: Instruction
    rd: int
    rs1: int
    rs2: int
    rs3: int
    imm: int
    rm: int
    bits: int     # the instruction as fetched (16 or 32 bits)
    length: int   # 2 or 4


def _mask_match(fixed: str) -> tuple[int, int]:
    mask = match = 0
    for item in fixed.split():
        name, value = item.split("=")
        lo, width = FIELDS[name]
        mask |= ((1 << width) - 1) << lo
        match |= int(value, 16) << lo
    return mask, match


def _build_table() -> dict[int, list[tuple[int, int, Instruction]]]:
    table: dict[int, list[tuple[int, int, Instruction]]] = {}
    for insn in INSTRUCTIONS:
        mask, match = _mask_match(insn.fixed)
        table.setdefault(match & 0x7F, []).append((mask, match, insn))
    return table


_TABLE = _build_table()


def _sx(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def immediate(layout: int, w: int) -> int:
    if layout == IMM_I:
        return _sx(w >> 20, 12)
    if layout == IMM_S:
        return _sx((w >> 25) << 5 | (w >> 7) & 0x1F, 12)
    if layout == IMM_B:
        return _sx((w >> 31) << 12 | (w >> 7 & 1) << 11 | (w >> 25 & 0x3F) << 5 | (w >> 8 & 0xF) << 1, 13)
    if layout == IMM_U:
        return _sx(w & 0xFFFFF000, 32)
    if layout == IMM_J:
        return _sx((w >> 31) << 20 | (w >> 12 & 0xFF) << 12 | (w >> 20 & 1) << 11 | (w >> 21 & 0x3FF) << 1, 21)
    if layout == IMM_SHAMT6:
        return w >> 20 & 0x3F
    if layout == IMM_SHAMT5:
        return w >> 20 & 0x1F
    if layout == IMM_CSR:
        return w >> 20
    assert layout == IMM_NONE
    return 0


def decode_word(w: int, bits: int, length: int) -> Decoded:
    for mask, match, insn in _TABLE.get(w & 0x7F, ()):
        if w & mask == match:
            rm = w >> 12 & 7
            if "RM" in insn.template and rm in (5, 6):
                break
            return Decoded(insn, w >> 7 & 31, w >> 15 & 31, w >> 20 & 31, w >> 27, immediate(insn.imm, w), rm,
                           bits, length)
    raise IllegalInstruction(bits)


def decode(bits: int) -> Decoded:
    """Decode an instruction given its first 32 bits (the upper half is ignored for a compressed one)."""
    if bits & 3 != 3:
        half = bits & 0xFFFF
        return decode_word(expand_compressed(half), half, 2)
    return decode_word(bits & 0xFFFFFFFF, bits & 0xFFFFFFFF, 4)


# ------------------------------------------------------------------ RVC expansion


def _r(f7: int, rs2: int, rs1: int, f3: int, rd: int, op: int) -> int:
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op


def _i(imm: int, rs1: int, f3: int, rd: int, op: int) -> int:
    return (imm & 0xFFF) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op


def _s(imm: int, rs2: int, rs1: int, f3: int, op: int) -> int:
    return (imm >> 5 & 0x7F) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 0x1F) << 7 | op


def _b(imm: int, rs2: int, rs1: int, f3: int) -> int:
    return ((imm >> 12 & 1) << 31 | (imm >> 5 & 0x3F) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12
            | (imm >> 1 & 0xF) << 8 | (imm >> 11 & 1) << 7 | 0x63)


def _j(imm: int, rd: int) -> int:
    return ((imm >> 20 & 1) << 31 | (imm >> 1 & 0x3FF) << 21 | (imm >> 11 & 1) << 20 | (imm >> 12 & 0xFF) << 12
            | rd << 7 | 0x6F)


def _bits(h: int, *spec: tuple[int, int, int]) -> int:
    """Gather immediate bits: each (hi, lo, dest) takes h[hi:lo] to position dest upwards."""
    value = 0
    for hi, lo, dest in spec:
        value |= (h >> lo & ((1 << (hi - lo + 1)) - 1)) << dest
    return value


def expand_compressed(h: int) -> int:
    """The 32-bit instruction a 16-bit RVC one stands for (RV64C); IllegalInstruction if reserved."""
    quadrant, f3 = h & 3, h >> 13
    rd = h >> 7 & 31
    rs2 = h >> 2 & 31
    rdp, rs2p = 8 + (h >> 2 & 7), 8 + (h >> 2 & 7)
    rs1p = 8 + (h >> 7 & 7)
    imm6 = _sx(_bits(h, (12, 12, 5), (6, 2, 0)), 6)
    if quadrant == 0:
        uimm_d = _bits(h, (12, 10, 3), (6, 5, 6))
        uimm_w = _bits(h, (12, 10, 3), (6, 6, 2), (5, 5, 6))
        if f3 == 0:
            nzuimm = _bits(h, (12, 11, 4), (10, 7, 6), (6, 6, 2), (5, 5, 3))
            if nzuimm == 0:
                raise IllegalInstruction(h)
            return _i(nzuimm, 2, 0, rdp, 0x13)
        loads = {1: (uimm_d, 3, 0x07), 2: (uimm_w, 2, 0x03), 3: (uimm_d, 3, 0x03)}
        stores = {5: (uimm_d, 3, 0x27), 6: (uimm_w, 2, 0x23), 7: (uimm_d, 3, 0x23)}
        if f3 in loads:
            imm, width, op = loads[f3]
            return _i(imm, rs1p, width, rdp, op)
        if f3 in stores:
            imm, width, op = stores[f3]
            return _s(imm, rs2p, rs1p, width, op)
        raise IllegalInstruction(h)
    if quadrant == 1:
        if f3 == 0:
            return _i(imm6, rd, 0, rd, 0x13)                      # c.addi (c.nop)
        if f3 == 1:
            if rd == 0:
                raise IllegalInstruction(h)
            return _i(imm6, rd, 0, rd, 0x1B)                      # c.addiw
        if f3 == 2:
            return _i(imm6, 0, 0, rd, 0x13)                       # c.li
        if f3 == 3:
            if rd == 2:
                imm = _sx(_bits(h, (12, 12, 9), (6, 6, 4), (5, 5, 6), (4, 3, 7), (2, 2, 5)), 10)
                if imm == 0:
                    raise IllegalInstruction(h)
                return _i(imm, 2, 0, 2, 0x13)                     # c.addi16sp
            if imm6 == 0:
                raise IllegalInstruction(h)
            return (imm6 << 12) & 0xFFFFF000 | rd << 7 | 0x37     # c.lui
        if f3 == 4:
            kind = h >> 10 & 3
            shamt = _bits(h, (12, 12, 5), (6, 2, 0))
            if kind == 0:
                return _i(shamt, rs1p, 5, rs1p, 0x13)             # c.srli
            if kind == 1:
                return _i(0x400 | shamt, rs1p, 5, rs1p, 0x13)     # c.srai
            if kind == 2:
                return _i(imm6, rs1p, 7, rs1p, 0x13)              # c.andi
            sub = (h >> 12 & 1) << 2 | (h >> 5 & 3)
            ops = {0: (0x20, 0, 0x33), 1: (0, 4, 0x33), 2: (0, 6, 0x33), 3: (0, 7, 0x33),
                   4: (0x20, 0, 0x3B), 5: (0, 0, 0x3B)}
            if sub not in ops:
                raise IllegalInstruction(h)
            f7, f3r, op = ops[sub]
            return _r(f7, rs2p, rs1p, f3r, rs1p, op)
        if f3 == 5:
            imm = _sx(_bits(h, (12, 12, 11), (11, 11, 4), (10, 9, 8), (8, 8, 10), (7, 7, 6), (6, 6, 7),
                            (5, 3, 1), (2, 2, 5)), 12)
            return _j(imm, 0)                                     # c.j
        imm = _sx(_bits(h, (12, 12, 8), (11, 10, 3), (6, 5, 6), (4, 3, 1), (2, 2, 5)), 9)
        return _b(imm, 0, rs1p, 0 if f3 == 6 else 1)              # c.beqz / c.bnez
    if quadrant == 2:
        if f3 == 0:
            return _i(_bits(h, (12, 12, 5), (6, 2, 0)), rd, 1, rd, 0x13)   # c.slli
        if f3 in (1, 3):
            if f3 == 3 and rd == 0:
                raise IllegalInstruction(h)
            uimm = _bits(h, (12, 12, 5), (6, 5, 3), (4, 2, 6))
            return _i(uimm, 2, 3, rd, 0x07 if f3 == 1 else 0x03)   # c.fldsp / c.ldsp
        if f3 == 2:
            if rd == 0:
                raise IllegalInstruction(h)
            return _i(_bits(h, (12, 12, 5), (6, 4, 2), (3, 2, 6)), 2, 2, rd, 0x03)   # c.lwsp
        if f3 == 4:
            if not h >> 12 & 1:
                if rs2 == 0:
                    if rd == 0:
                        raise IllegalInstruction(h)
                    return _i(0, rd, 0, 0, 0x67)                  # c.jr
                return _r(0, rs2, 0, 0, rd, 0x33)                 # c.mv
            if rs2 == 0:
                if rd == 0:
                    return 0x00100073                             # c.ebreak
                return _i(0, rd, 0, 1, 0x67)                      # c.jalr
            return _r(0, rs2, rd, 0, rd, 0x33)                    # c.add
        if f3 == 6:
            return _s(_bits(h, (12, 9, 2), (8, 7, 6)), rs2, 2, 2, 0x23)       # c.swsp
        return _s(_bits(h, (12, 10, 3), (9, 7, 6)), rs2, 2, 3, 0x27 if f3 == 5 else 0x23)   # c.fsdsp / c.sdsp
    raise IllegalInstruction(h)
