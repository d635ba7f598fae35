"""The RV64GC user ISA (plus Zba, Zbb, Zbs), each instruction written once: its encoding and its semantics.

``INSTRUCTIONS`` is the one table. An entry names the instruction, its fixed encoding bits (fields given
in hex: ``op`` bits 6:0, ``f3`` 14:12, ``f7`` 31:25, ``f6`` 31:26, ``f5`` 31:27, ``f2`` 26:25, ``rs2``
24:20, ``rs1`` 19:15, ``rd`` 11:7, ``f12`` 31:20), the layout of its immediate, how it ends a block
(``KIND_*``) and its semantics as a short Python source template. The decoder (``decode``) derives its
matcher from the encodings and the translator (``translate``) pastes templates into generated code,
replacing these tokens:

    X1 X2        the values of integer registers rs1, rs2 (unsigned 64-bit ints)
    XD = e       write integer register rd (a write to x0 is dropped)
    F1 F2 F3     raw 64-bit patterns of FP registers rs1, rs2, rs3; FD = e writes FP register rd
    IMM          the sign-extended immediate (shift amount, CSR number... as the layout says)
    RS1          the rs1 field as a number (csrr*i immediates)
    RM           the rounding-mode field (7: dynamic, the helper reads frm)
    PC NPC       this instruction's address and the next one's
    K            this instruction's index in its block (instret inside a block is cpu.instret + K)
    NEXT = e     (jumps) the address to continue at
    ld1..ld8(a), st1..st8(a, v)   memory access through the accessors the Memory provides

The translator keeps a double in an FP register as a Python float where it can: the instructions that
compute on doubles have a ``float_template`` too, in which ``D1 D2`` are the operands as floats, ``DD = e``
writes the result as a float, ``ldd(a)``/``std(a, v)`` move a float from/to memory and ``FP_FAST`` is
true when the result needs no flag test (inexact accrued, rounding to nearest-even; see ``_float_path``).

Templates stay plain Python, so the same text serves the translator and any later compiled tier.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from . import fpu
from .faults import IllegalInstruction, MisalignedAccess
from .memory import MemoryFault

M = "0xFFFFFFFFFFFFFFFF"
S = "0x8000000000000000"

KIND_PLAIN, KIND_BRANCH, KIND_JUMP, KIND_TRAP, KIND_FENCE_I = range(5)

# immediate layouts
IMM_NONE, IMM_I, IMM_S, IMM_B, IMM_U, IMM_J, IMM_SHAMT6, IMM_SHAMT5, IMM_CSR = range(9)


class Instruction(NamedTuple):
    name: str
    fixed: str        # "op=33 f3=0 f7=00"
    imm: int          # IMM_* layout
    template: str     # semantics; for KIND_BRANCH the condition to take the branch
    kind: int = KIND_PLAIN
    float_template: str = ""   # (some D instructions) the same semantics on FP registers held as floats


def signed(x: str) -> str:
    """Source for x (an unsigned 64-bit value) read as a signed one."""
    return f"(({x}) ^ {S}) - {S}"


def sext32(x: str) -> str:
    """Source for the low 32 bits of x sign-extended to an unsigned 64-bit value (through the temporary
    ``sx``: one test and at most one or, cheaper in CPython than sign-extending arithmetic)."""
    return f"(sx | 0xFFFFFFFF00000000 if (sx := ({x}) & 0xFFFFFFFF) > 0x7FFFFFFF else sx)"


def sext(x: str, bits: int, narrow: bool = False) -> str:
    """Source for the low ``bits`` of x sign-extended to 64 (``narrow``: x has no higher bits set), as
    ``sext32`` does it."""
    low = x if narrow else f"({x}) & {hex((1 << bits) - 1)}"
    return f"(sx | {hex(((1 << 64) - 1) ^ ((1 << bits) - 1))} if (sx := {low}) > {hex((1 << (bits - 1)) - 1)} else sx)"


EA = f"(X1 + IMM) & {M}"


def _loads() -> list[Instruction]:
    out = []
    for name, f3, width, sign in (("lb", 0, 1, True), ("lh", 1, 2, True), ("lw", 2, 4, True),
                                  ("ld", 3, 8, False), ("lbu", 4, 1, False), ("lhu", 5, 2, False),
                                  ("lwu", 6, 4, False)):
        value = f"ld{width}({EA})"
        out.append(Instruction(name, f"op=03 f3={f3}", IMM_I, f"XD = {sext(value, 8 * width, narrow=True) if sign else value}"))
    for name, f3, width in (("sb", 0, 1), ("sh", 1, 2), ("sw", 2, 4), ("sd", 3, 8)):
        out.append(Instruction(name, f"op=23 f3={f3}", IMM_S, f"st{width}({EA}, X2)"))
    return out


def _branches() -> list[Instruction]:
    conds = (("beq", 0, "X1 == X2"), ("bne", 1, "X1 != X2"), ("blt", 4, f"(X1 ^ {S}) < (X2 ^ {S})"),
             ("bge", 5, f"(X1 ^ {S}) >= (X2 ^ {S})"), ("bltu", 6, "X1 < X2"), ("bgeu", 7, "X1 >= X2"))
    return [Instruction(name, f"op=63 f3={f3}", IMM_B, cond, KIND_BRANCH) for name, f3, cond in conds]


def _alu() -> list[Instruction]:
    """Register-register and register-immediate integer operations (I, M, Zba, Zbb, Zbs)."""
    sh = "(X2 & 63)"
    rr = {  # name: (op, f3, f7, template)
        "add": (0x33, 0, 0x00, f"XD = (X1 + X2) & {M}"),
        "sub": (0x33, 0, 0x20, f"XD = (X1 - X2) & {M}"),
        "sll": (0x33, 1, 0x00, f"XD = (X1 << {sh}) & {M}"),
        "slt": (0x33, 2, 0x00, f"XD = 1 if (X1 ^ {S}) < (X2 ^ {S}) else 0"),
        "sltu": (0x33, 3, 0x00, "XD = 1 if X1 < X2 else 0"),
        "xor": (0x33, 4, 0x00, "XD = X1 ^ X2"),
        "srl": (0x33, 5, 0x00, f"XD = X1 >> {sh}"),
        "sra": (0x33, 5, 0x20, f"XD = ({signed('X1')}) >> {sh} & {M}"),
        "or": (0x33, 6, 0x00, "XD = X1 | X2"),
        "and": (0x33, 7, 0x00, "XD = X1 & X2"),
        "mul": (0x33, 0, 0x01, f"XD = (X1 * X2) & {M}"),
        "mulh": (0x33, 1, 0x01, f"XD = (({signed('X1')}) * ({signed('X2')}) >> 64) & {M}"),
        "mulhsu": (0x33, 2, 0x01, f"XD = (({signed('X1')}) * X2 >> 64) & {M}"),
        "mulhu": (0x33, 3, 0x01, "XD = (X1 * X2) >> 64"),
        "div": (0x33, 4, 0x01, "XD = div_signed(X1, X2, 64)"),
        "divu": (0x33, 5, 0x01, f"XD = X1 // X2 if X2 else {M}"),
        "rem": (0x33, 6, 0x01, "XD = rem_signed(X1, X2, 64)"),
        "remu": (0x33, 7, 0x01, "XD = X1 % X2 if X2 else X1"),
        "sh1add": (0x33, 2, 0x10, f"XD = ((X1 << 1) + X2) & {M}"),
        "sh2add": (0x33, 4, 0x10, f"XD = ((X1 << 2) + X2) & {M}"),
        "sh3add": (0x33, 6, 0x10, f"XD = ((X1 << 3) + X2) & {M}"),
        "andn": (0x33, 7, 0x20, f"XD = X1 & (X2 ^ {M})"),
        "orn": (0x33, 6, 0x20, f"XD = X1 | (X2 ^ {M})"),
        "xnor": (0x33, 4, 0x20, f"XD = X1 ^ X2 ^ {M}"),
        "max": (0x33, 6, 0x05, f"XD = X1 if (X1 ^ {S}) > (X2 ^ {S}) else X2"),
        "maxu": (0x33, 7, 0x05, "XD = X1 if X1 > X2 else X2"),
        "min": (0x33, 4, 0x05, f"XD = X1 if (X1 ^ {S}) < (X2 ^ {S}) else X2"),
        "minu": (0x33, 5, 0x05, "XD = X1 if X1 < X2 else X2"),
        "rol": (0x33, 1, 0x30, f"XD = ((X1 << {sh}) | (X1 >> (64 - {sh}))) & {M}"),
        "ror": (0x33, 5, 0x30, f"XD = ((X1 >> {sh}) | (X1 << (64 - {sh}))) & {M}"),
        "bclr": (0x33, 1, 0x24, f"XD = X1 & ~(1 << {sh}) & {M}"),
        "bext": (0x33, 5, 0x24, f"XD = (X1 >> {sh}) & 1"),
        "binv": (0x33, 1, 0x34, f"XD = X1 ^ (1 << {sh})"),
        "bset": (0x33, 1, 0x14, f"XD = X1 | (1 << {sh})"),
        # 32-bit forms (OP-32)
        "addw": (0x3B, 0, 0x00, f"XD = {sext32('X1 + X2')}"),
        "subw": (0x3B, 0, 0x20, f"XD = {sext32('X1 - X2')}"),
        "sllw": (0x3B, 1, 0x00, f"XD = {sext32('X1 << (X2 & 31)')}"),
        "srlw": (0x3B, 5, 0x00, f"XD = {sext32('(X1 & 0xFFFFFFFF) >> (X2 & 31)')}"),
        "sraw": (0x3B, 5, 0x20, f"XD = (({sext32('X1')}) ^ {S}) - {S} >> (X2 & 31) & {M}"),
        "mulw": (0x3B, 0, 0x01, f"XD = {sext32('X1 * X2')}"),
        "divw": (0x3B, 4, 0x01, "XD = div_signed(X1, X2, 32)"),
        "divuw": (0x3B, 5, 0x01, f"XD = {sext32('(X1 & 0xFFFFFFFF) // (X2 & 0xFFFFFFFF)')} if X2 & 0xFFFFFFFF else {M}"),
        "remw": (0x3B, 6, 0x01, "XD = rem_signed(X1, X2, 32)"),
        "remuw": (0x3B, 7, 0x01, (f"XD = {sext32('(X1 & 0xFFFFFFFF) % (X2 & 0xFFFFFFFF)')} if X2 & 0xFFFFFFFF "
                                  f"else {sext32('X1')}")),
        "add.uw": (0x3B, 0, 0x04, f"XD = ((X1 & 0xFFFFFFFF) + X2) & {M}"),
        "sh1add.uw": (0x3B, 2, 0x10, f"XD = (((X1 & 0xFFFFFFFF) << 1) + X2) & {M}"),
        "sh2add.uw": (0x3B, 4, 0x10, f"XD = (((X1 & 0xFFFFFFFF) << 2) + X2) & {M}"),
        "sh3add.uw": (0x3B, 6, 0x10, f"XD = (((X1 & 0xFFFFFFFF) << 3) + X2) & {M}"),
        "rolw": (0x3B, 1, 0x30, "XD = rotate_left32(X1, X2 & 31)"),
        "rorw": (0x3B, 5, 0x30, "XD = rotate_left32(X1, -X2 & 31)"),
    }
    out = [Instruction(name, f"op={op:x} f3={f3} f7={f7:x}", IMM_NONE, t) for name, (op, f3, f7, t) in rr.items()]
    ri = [  # name, fixed bits, layout, template
        ("addi", "op=13 f3=0", IMM_I, f"XD = (X1 + IMM) & {M}"),
        ("slti", "op=13 f3=2", IMM_I, f"XD = 1 if ({signed('X1')}) < IMM else 0"),
        ("sltiu", "op=13 f3=3", IMM_I, f"XD = 1 if X1 < (IMM & {M}) else 0"),
        ("xori", "op=13 f3=4", IMM_I, f"XD = X1 ^ (IMM & {M})"),
        ("ori", "op=13 f3=6", IMM_I, f"XD = X1 | (IMM & {M})"),
        ("andi", "op=13 f3=7", IMM_I, "XD = X1 & IMM"),
        ("slli", "op=13 f3=1 f6=00", IMM_SHAMT6, f"XD = (X1 << IMM) & {M}"),
        ("srli", "op=13 f3=5 f6=00", IMM_SHAMT6, "XD = X1 >> IMM"),
        ("srai", "op=13 f3=5 f6=10", IMM_SHAMT6, f"XD = ({signed('X1')}) >> IMM & {M}"),
        ("clz", "op=13 f3=1 f12=600", IMM_NONE, "XD = 64 - X1.bit_length()"),
        ("ctz", "op=13 f3=1 f12=601", IMM_NONE, "XD = (X1 & -X1).bit_length() - 1 if X1 else 64"),
        ("cpop", "op=13 f3=1 f12=602", IMM_NONE, "XD = X1.bit_count()"),
        ("sext.b", "op=13 f3=1 f12=604", IMM_NONE, f"XD = {sext('X1', 8)}"),
        ("sext.h", "op=13 f3=1 f12=605", IMM_NONE, f"XD = {sext('X1', 16)}"),
        ("rori", "op=13 f3=5 f6=18", IMM_SHAMT6, f"XD = ((X1 >> IMM) | (X1 << (64 - IMM))) & {M}"),
        ("orc.b", "op=13 f3=5 f12=287", IMM_NONE, "XD = or_combine_bytes(X1)"),
        ("rev8", "op=13 f3=5 f12=6b8", IMM_NONE, "XD = int.from_bytes(X1.to_bytes(8, 'little'), 'big')"),
        ("bclri", "op=13 f3=1 f6=12", IMM_SHAMT6, f"XD = X1 & ~(1 << IMM) & {M}"),
        ("bseti", "op=13 f3=1 f6=0a", IMM_SHAMT6, "XD = X1 | (1 << IMM)"),
        ("binvi", "op=13 f3=1 f6=1a", IMM_SHAMT6, "XD = X1 ^ (1 << IMM)"),
        ("bexti", "op=13 f3=5 f6=12", IMM_SHAMT6, "XD = (X1 >> IMM) & 1"),
        ("addiw", "op=1b f3=0", IMM_I, f"XD = {sext32('X1 + IMM')}"),
        ("slliw", "op=1b f3=1 f7=00", IMM_SHAMT5, f"XD = {sext32('X1 << IMM')}"),
        ("srliw", "op=1b f3=5 f7=00", IMM_SHAMT5, f"XD = (X1 & 0xFFFFFFFF) >> IMM if IMM else {sext32('X1')}"),
        ("sraiw", "op=1b f3=5 f7=20", IMM_SHAMT5, f"XD = (({sext32('X1')}) ^ {S}) - {S} >> IMM & {M}"),
        ("slli.uw", "op=1b f3=1 f6=02", IMM_SHAMT6, f"XD = ((X1 & 0xFFFFFFFF) << IMM) & {M}"),
        ("clzw", "op=1b f3=1 f12=600", IMM_NONE, "XD = 32 - (X1 & 0xFFFFFFFF).bit_length()"),
        ("ctzw", "op=1b f3=1 f12=601", IMM_NONE,
         "XD = (X1 & -X1 & 0xFFFFFFFF).bit_length() - 1 if X1 & 0xFFFFFFFF else 32"),
        ("cpopw", "op=1b f3=1 f12=602", IMM_NONE, "XD = (X1 & 0xFFFFFFFF).bit_count()"),
        ("roriw", "op=1b f3=5 f7=30", IMM_SHAMT5, "XD = rotate_left32(X1, -IMM & 31)"),
        ("zext.h", "op=3b f3=4 f7=04 rs2=0", IMM_NONE, "XD = X1 & 0xFFFF"),
    ]
    out += [Instruction(*entry) for entry in ri]
    return out


def _control() -> list[Instruction]:
    return [
        Instruction("lui", "op=37", IMM_U, f"XD = IMM & {M}"),
        Instruction("auipc", "op=17", IMM_U, f"XD = (PC + IMM) & {M}"),
        Instruction("jal", "op=6f", IMM_J, f"NEXT = (PC + IMM) & {M}\nXD = NPC", KIND_JUMP),
        Instruction("jalr", "op=67 f3=0", IMM_I, "NEXT = (X1 + IMM) & 0xFFFFFFFFFFFFFFFE\nXD = NPC", KIND_JUMP),
        Instruction("fence", "op=0f f3=0", IMM_NONE, "pass"),
        Instruction("fence.i", "op=0f f3=1", IMM_NONE, "cpu.memory.invalidate_all()", KIND_FENCE_I),
        Instruction("ecall", "op=73 f3=0 f12=000 rs1=0 rd=0", IMM_NONE, "cpu.env.ecall(cpu)", KIND_TRAP),
        Instruction("ebreak", "op=73 f3=0 f12=001 rs1=0 rd=0", IMM_NONE, "cpu.env.ebreak(cpu)", KIND_TRAP),
        # Zicsr: XD gets the old value; rs1 = x0 (or a zero immediate) for the set/clear forms reads only
        Instruction("csrrw", "op=73 f3=1", IMM_CSR, "XD = csr_access(cpu, IMM, K, 0, X1, True)"),
        Instruction("csrrs", "op=73 f3=2", IMM_CSR, "XD = csr_access(cpu, IMM, K, 1, X1, RS1 != 0)"),
        Instruction("csrrc", "op=73 f3=3", IMM_CSR, "XD = csr_access(cpu, IMM, K, 2, X1, RS1 != 0)"),
        Instruction("csrrwi", "op=73 f3=5", IMM_CSR, "XD = csr_access(cpu, IMM, K, 0, RS1, True)"),
        Instruction("csrrsi", "op=73 f3=6", IMM_CSR, "XD = csr_access(cpu, IMM, K, 1, RS1, RS1 != 0)"),
        Instruction("csrrci", "op=73 f3=7", IMM_CSR, "XD = csr_access(cpu, IMM, K, 2, RS1, RS1 != 0)"),
    ]


AMO_OPS = {  # f5: (name, new value from old value `o` and operand `v`, both unsigned of the access width)
    0x01: ("amoswap", "v"), 0x00: ("amoadd", "o + v"), 0x04: ("amoxor", "o ^ v"), 0x0C: ("amoand", "o & v"),
    0x08: ("amoor", "o | v"), 0x10: ("amomin", "min(o ^ T, v ^ T) ^ T"), 0x14: ("amomax", "max(o ^ T, v ^ T) ^ T"),
    0x18: ("amominu", "min(o, v)"), 0x1C: ("amomaxu", "max(o, v)"),
}


def _atomics() -> list[Instruction]:
    out = []
    for f3, suffix, width in ((2, "w", 4), (3, "d", 8)):
        fix = sext32 if width == 4 else (lambda x: x)
        out.append(Instruction(f"lr.{suffix}", f"op=2f f3={f3} f5=02 rs2=0", IMM_NONE,
                               f"XD = {fix(f'load_reserved(cpu, X1, {width})')}"))
        out.append(Instruction(f"sc.{suffix}", f"op=2f f3={f3} f5=03", IMM_NONE,
                               f"XD = store_conditional(cpu, X1, {width}, X2)"))
        for f5, (name, _) in AMO_OPS.items():
            out.append(Instruction(f"{name}.{suffix}", f"op=2f f3={f3} f5={f5:x}", IMM_NONE,
                                   f"XD = {fix(f'{name}_{width}(cpu, X1, X2)')}"))
    return out



BOX = "0xFFFFFFFF00000000"


def _accrued_inexact_path(op: str, call: str) -> str:
    """fadd/fsub/fmul/fdiv.d as an expression: once inexact is accrued and frm (or the static rm) rounds to
    nearest-even, a result of Python floats that is normal and at least twice the smallest normal raises
    no flag, so needs no test (a NaN, infinite or zero operand gives a result outside that range); any
    other case, or another mode, is ``call`` (the helper). ``1 + RM % 7 * 256`` folds to 1 for rm 0 and 7
    and to a number fcsr & 0xE1 cannot equal for the static directed modes."""
    operator = {"add": "+", "sub": "-", "mul": "*", "div": "/"}.get(op)
    if operator is None:
        return call
    nonzero_divisor = "F2 & 0x7FFFFFFFFFFFFFFF and " if op == "div" else ""   # Python raises on x / 0.0
    result = f"(fp_r := bits_of(float_bytes((fp_t := floats_of(pair_bytes(F1, F2)))[0] {operator} fp_t[1]))[0])"
    return (f"fp_r if cpu.fcsr & 0xE1 == 1 + RM % 7 * 256 and {nonzero_divisor}0x0010000000000000 < {result} "
            f"& 0x7FF0000000000000 < 0x7FF0000000000000 else {call}")


SMALLEST_QUIET, LARGEST = repr(2.0 ** -1021), repr(sys.float_info.max)   # the fast path's range


def _float_path(op: str, call: str) -> str:
    """The float template of fadd/fsub/fmul/fdiv/fsqrt.d: under FP_FAST a result of Python floats in
    [2**-1021, the largest double] raises no flag (as in ``_accrued_inexact_path``), nor does the root of
    a positive number; any other case is ``call`` (the helper) on the operands' bits."""
    if op == "sqrt":
        return f"DD = sqrt(D1) if FP_FAST and D1 > 0.0 else float_of_bits({call})"
    operator = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
    nonzero_divisor = "D2 and " if op == "div" else ""
    in_range = (f"({SMALLEST_QUIET} <= (fp_r := D1 {operator} D2) <= {LARGEST} "
                f"or -{LARGEST} <= fp_r <= -{SMALLEST_QUIET})")   # cheaper than abs() in CPython
    return f"DD = fp_r if FP_FAST and {nonzero_divisor}{in_range} else float_of_bits({call})"


def _float_ops() -> list[Instruction]:
    """F and D. A single lives NaN-boxed in a 64-bit register: unbox() reads it (an improperly boxed
    value reads as the canonical NaN), accrue_s/accrue_d take an fpu result (bits, flags), add the flags
    to fcsr and box a single; accrue_x does the same for a result bound for an integer register."""
    out = []
    for sfx, fmt, fbit, width in (("s", "SINGLE", 0, 4), ("d", "DOUBLE", 1, 8)):
        def u(reg: str, sfx: str = sfx) -> str:
            return f"unbox({reg})" if sfx == "s" else reg
        acc = f"accrue_{sfx}"
        rnd = "rounding(cpu, RM)"
        f7 = {name: base | fbit for name, base in (("add", 0x00), ("sub", 0x04), ("mul", 0x08), ("div", 0x0C),
                                                   ("sqrt", 0x2C), ("sgnj", 0x10), ("minmax", 0x14),
                                                   ("cmp", 0x50), ("class", 0x70), ("to_int", 0x60),
                                                   ("from_int", 0x68), ("mv_x", 0x70), ("mv_f", 0x78))}
        sign, magnitude = ("0x80000000", "0x7FFFFFFF") if sfx == "s" else (S, "0x7FFFFFFFFFFFFFFF")
        box = f" | {BOX}" if sfx == "s" else ""
        double = sfx == "d"
        out += [
            Instruction(f"fl{sfx[0] if double else 'w'}", f"op=07 f3={2 + fbit}", IMM_I, f"FD = ld{width}({EA}){box}",
                        float_template=f"DD = ldd({EA})" if double else ""),
            Instruction(f"fs{sfx[0] if double else 'w'}", f"op=27 f3={2 + fbit}", IMM_S, f"st{width}({EA}, F2)",
                        float_template=f"std({EA}, D2)" if double else ""),
        ]
        for op in ("add", "sub", "mul", "div", "sqrt"):   # the helpers try Python floats first
            call = f"{fmt.lower()}_{op}(cpu, RM, F1, {'0' if op == 'sqrt' else 'F2'})"
            out.append(Instruction(f"f{op}.{sfx}", f"op=53 f7={f7[op]:x}" + (" rs2=0" if op == "sqrt" else ""),
                                   IMM_NONE, f"FD = {_accrued_inexact_path(op, call) if double else call}",
                                   float_template=_float_path(op, call.replace("F1", "bits_of_float(D1)").replace(
                                       "F2", "bits_of_float(D2)")) if double else ""))
        for name, op, negate_product, negate_addend in (("fmadd", 0x43, False, False), ("fmsub", 0x47, False, True),
                                                        ("fnmsub", 0x4B, True, False), ("fnmadd", 0x4F, True, True)):
            out.append(Instruction(f"{name}.{sfx}", f"op={op:x} f2={fbit}", IMM_NONE,
                                   f"FD = {acc}(cpu, fpu.fused_multiply_add({fmt}, {rnd}, {u('F1')}, {u('F2')}, "
                                   f"{u('F3')}, {negate_product}, {negate_addend}))"))
        for f3, name, sign_src, sign_float in ((0, "fsgnj", u("F2"), "D2"), (1, "fsgnjn", f"~{u('F2')}", "-D2"),
                                               (2, "fsgnjx", f"{u('F1')} ^ {u('F2')}", "")):
            out.append(Instruction(f"{name}.{sfx}", f"op=53 f7={f7['sgnj']:x} f3={f3}", IMM_NONE,
                                   f"FD = {u('F1')} & {magnitude} | ({sign_src}) & {sign}{box}",
                                   float_template=f"DD = copysign(D1, {sign_float})" if double and sign_float else ""))
        for f3, name in ((0, "fmin"), (1, "fmax")):
            out.append(Instruction(f"{name}.{sfx}", f"op=53 f7={f7['minmax']:x} f3={f3}", IMM_NONE,
                                   f"FD = {acc}(cpu, fpu.minmax({fmt}, {name == 'fmax'}, {u('F1')}, {u('F2')}))"))
        for f3, name in ((2, "eq"), (1, "lt"), (0, "le")):
            out.append(Instruction(f"f{name}.{sfx}", f"op=53 f7={f7['cmp']:x} f3={f3}", IMM_NONE,
                                   f"XD = accrue_x(cpu, fpu.compare({fmt}, '{name}', {u('F1')}, {u('F2')}))"))
        out.append(Instruction(f"fclass.{sfx}", f"op=53 f7={f7['class']:x} f3=1 rs2=0", IMM_NONE,
                               f"XD = fpu.classify({fmt}, {u('F1')})"))
        for rs2, isfx, bits, is_signed, int_value in ((0, "w", 32, True, signed(sext32("X1"))),
                                                      (1, "wu", 32, False, "X1 & 0xFFFFFFFF"),
                                                      (2, "l", 64, True, signed("X1")), (3, "lu", 64, False, "X1")):
            result = f"accrue_x(cpu, fpu.to_int({fmt}, {rnd}, {u('F1')}, {bits}, {is_signed}))"
            out.append(Instruction(f"fcvt.{isfx}.{sfx}", f"op=53 f7={f7['to_int']:x} rs2={rs2}", IMM_NONE,
                                   f"XD = {sext32(result) if bits == 32 else result}"))
            out.append(Instruction(f"fcvt.{sfx}.{isfx}", f"op=53 f7={f7['from_int']:x} rs2={rs2}", IMM_NONE,
                                   f"FD = {acc}(cpu, fpu.from_int({fmt}, {rnd}, {int_value}))"))
        out.append(Instruction(f"fmv.x.{'w' if sfx == 's' else 'd'}", f"op=53 f7={f7['mv_x']:x} f3=0 rs2=0",
                               IMM_NONE, f"XD = {sext32('F1')}" if sfx == "s" else "XD = F1"))
        out.append(Instruction(f"fmv.{'w' if sfx == 's' else 'd'}.x", f"op=53 f7={f7['mv_f']:x} f3=0 rs2=0",
                               IMM_NONE, f"FD = X1 & 0xFFFFFFFF{box}" if sfx == "s" else "FD = X1"))
    out.append(Instruction("fcvt.s.d", "op=53 f7=20 rs2=1", IMM_NONE,
                           "FD = accrue_s(cpu, fpu.convert(DOUBLE, SINGLE, rounding(cpu, RM), F1))"))
    out.append(Instruction("fcvt.d.s", "op=53 f7=21 rs2=0", IMM_NONE,
                           "FD = accrue_d(cpu, fpu.convert(SINGLE, DOUBLE, rounding(cpu, RM), unbox(F1)))"))
    return out


INSTRUCTIONS: list[Instruction] = _control() + _loads() + _branches() + _alu() + _atomics() + _float_ops()


# ------------------------------------------------------------------ run-time helpers the templates call


def div_signed(a: int, b: int, bits: int) -> int:
    mask, top = (1 << bits) - 1, 1 << (bits - 1)
    a, b = ((a & mask) ^ top) - top, ((b & mask) ^ top) - top
    if b == 0:
        return (1 << 64) - 1
    q = abs(a) // abs(b)
    q = q if (a < 0) == (b < 0) else -q
    return ((((q & mask) ^ top) - top) & ((1 << 64) - 1))


def rem_signed(a: int, b: int, bits: int) -> int:
    mask, top = (1 << bits) - 1, 1 << (bits - 1)
    a, b = ((a & mask) ^ top) - top, ((b & mask) ^ top) - top
    if b == 0:
        return a & ((1 << 64) - 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & ((1 << 64) - 1)


def rotate_left32(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    r = ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF
    return ((r ^ 0x80000000) - 0x80000000) & ((1 << 64) - 1)


def or_combine_bytes(x: int) -> int:
    return int.from_bytes(bytes(0xFF if b else 0 for b in x.to_bytes(8, "little")), "little")


CSR_FFLAGS, CSR_FRM, CSR_FCSR, CSR_CYCLE, CSR_TIME, CSR_INSTRET = 0x001, 0x002, 0x003, 0xC00, 0xC01, 0xC02


def csr_access(cpu: Any, csr: int, k: int, op: int, value: int, write: bool) -> int:
    """Zicsr on the user CSRs: op 0 writes, 1 sets bits, 2 clears bits; returns the old value."""
    fcsr = cpu.fcsr
    if csr == CSR_FFLAGS:
        old = fcsr & 0x1F
    elif csr == CSR_FRM:
        old = fcsr >> 5 & 7
    elif csr == CSR_FCSR:
        old = fcsr & 0xFF
    elif csr in (CSR_CYCLE, CSR_INSTRET) and not write:
        return cpu.instret + k
    elif csr == CSR_TIME and not write:
        return cpu.env.read_time() & ((1 << 64) - 1)
    else:   # an environment may carry out some of its own CSRs in place (a system hart's hot ones)
        in_place = getattr(cpu.env, "csr_in_place", None)
        if in_place is None:
            raise IllegalInstruction(0)
        return in_place(csr, op, value, write)
    if write:
        new = value if op == 0 else old | value if op == 1 else old & ~value
        if csr == CSR_FFLAGS:
            cpu.fcsr = fcsr & ~0x1F | new & 0x1F
        elif csr == CSR_FRM:
            cpu.fcsr = fcsr & 0x1F | (new & 7) << 5
        else:
            cpu.fcsr = new & 0xFF
    return old


def load_reserved(cpu: Any, addr: int, width: int) -> int:
    if addr & (width - 1):
        raise MisalignedAccess(addr, 4)
    value = cpu.memory.load(addr, width)
    cpu.reservation = addr
    return value


def store_conditional(cpu: Any, addr: int, width: int, value: int) -> int:
    if addr & (width - 1):
        raise MisalignedAccess(addr, 6)
    held, cpu.reservation = cpu.reservation, None
    if held != addr:
        return 1
    cpu.memory.store(addr, width, value)
    return 0


def _atomic(expr: str, width: int) -> Callable[[Any, int, int], int]:
    mask, top = (1 << (8 * width)) - 1, 1 << (8 * width - 1)
    new_value = eval(f"lambda o, v, T: {expr}")

    def amo(cpu: Any, addr: int, value: int) -> int:
        if addr & (width - 1):
            raise MisalignedAccess(addr, 6)
        memory = cpu.memory
        try:
            old = memory.load(addr, width)
        except MemoryFault:
            raise MemoryFault(addr, "w") from None
        memory.store(addr, width, new_value(old, value & mask, top) & mask)
        return old
    return amo


ATOMIC_HELPERS = {f"{name}_{width}": _atomic(expr, width) for name, expr in AMO_OPS.values() for width in (4, 8)}


def rounding(cpu: Any, rm: int) -> int:
    """The rounding mode of an instruction's rm field; 7 reads frm (an invalid frm is illegal)."""
    if rm == 7:
        rm = cpu.fcsr >> 5 & 7
        if rm > 4:
            raise IllegalInstruction(0)
    return rm


def unbox(value: int) -> int:
    return value & 0xFFFFFFFF if value >> 32 == 0xFFFFFFFF else 0x7FC00000


def accrue_s(cpu: Any, result: tuple[int, int]) -> int:
    cpu.fcsr |= result[1]
    return result[0] | 0xFFFFFFFF00000000


def accrue_d(cpu: Any, result: tuple[int, int]) -> int:
    cpu.fcsr |= result[1]
    return result[0]


accrue_x = accrue_d


def _arithmetic(op: str, fmt: fpu.Format, fast_path: Callable[[int, int], int] | None = None
                ) -> Callable[[Any, int, int, int], int]:
    """fadd ... fsqrt: ``fast_path`` (an ``fpu.FAST`` function) when rounding to nearest-even, else (or
    for specials, subnormals, overflow, underflow) the exact one. Singles are unboxed and boxed here."""
    exact = getattr(fpu, op)
    single = fmt is fpu.SINGLE
    box = 0xFFFFFFFF00000000 if single else 0

    def arithmetic(cpu: Any, rm: int, a: int, b: int) -> int:
        if single:
            a, b = unbox(a), unbox(b)
        if fast_path is not None and (rm == 0 or (rm == 7 and not cpu.fcsr & 0xE0)):
            bits = fast_path(a, b)
            if bits >= 0:
                if bits >> 64:
                    cpu.fcsr |= fpu.NX
                    return bits & 0xFFFFFFFFFFFFFFFF | box
                return bits | box
        mode = rounding(cpu, rm)
        result = exact(fmt, mode, a) if op == "sqrt" else exact(fmt, mode, a, b)
        cpu.fcsr |= result[1]
        return result[0] | box
    return arithmetic


_EXP_D, _FRAC_D, _HIDDEN_D = 0x7FF0000000000000, (1 << 52) - 1, 1 << 52
_pair_d, _pair_q = struct.Struct("<dd").unpack, struct.Struct("<QQ").pack
_one_d, _one_q = struct.Struct("<d").pack, struct.Struct("<Q").unpack
_one_float, _one_bits = struct.Struct("<d").unpack, struct.Struct("<Q").pack


def _double_helpers() -> dict[str, Callable[[Any, int, int, int], int]]:
    """fadd.d ... fsqrt.d as one Python call each on their common case: rounding to nearest-even, normal
    operands and a normal result, computed with Python floats, the inexact flag from an exact test (the
    TwoSum error term for a sum, the significands' integer product for a product, quotient and root).
    Anything else (NaN, infinity, zero, subnormal, overflow, another rounding mode) takes ``_arithmetic``."""
    slow = {op: _arithmetic(op, fpu.DOUBLE) for op in ("add", "mul", "div", "sqrt")}
    slow_add, slow_mul, slow_div, slow_sqrt = (slow[op] for op in ("add", "mul", "div", "sqrt"))
    exp_mask, frac, hidden = _EXP_D, _FRAC_D, _HIDDEN_D
    smallest = 1 << 52   # the exponent field of the smallest normal
    sign = 1 << 63
    pair, pack_pair, pack_one, unpack_one = _pair_d, _pair_q, _one_d, _one_q

    def double_add(cpu: Any, rm: int, a: int, b: int) -> int:
        fcsr = cpu.fcsr
        ea, eb = a & exp_mask, b & exp_mask
        if ea and eb and ea != exp_mask and eb != exp_mask and (rm == 0 or rm == 7 and not fcsr & 0xE0):
            x, y = pair(pack_pair(a, b))
            r = x + y
            bits = unpack_one(pack_one(r))[0]
            e = bits & exp_mask
            if smallest < e < exp_mask:   # below 2**-1021 a result may have been rounded as a subnormal
                if fcsr & 1:   # inexact already accrued: no need to know whether this one is
                    return bits
                t = r - x
                if (x - (r - t)) + (y - t) != 0.0:
                    cpu.fcsr |= 1
                return bits
        return slow_add(cpu, rm, a, b)

    def double_sub(cpu: Any, rm: int, a: int, b: int) -> int:
        return double_add(cpu, rm, a, b ^ sign)   # as fpu.sub: a NaN's sign changes neither result nor flags

    def double_mul(cpu: Any, rm: int, a: int, b: int) -> int:
        fcsr = cpu.fcsr
        ea, eb = a & exp_mask, b & exp_mask
        if ea and eb and ea != exp_mask and eb != exp_mask and (rm == 0 or rm == 7 and not fcsr & 0xE0):
            x, y = pair(pack_pair(a, b))
            bits = unpack_one(pack_one(x * y))[0]
            e = bits & exp_mask
            if smallest < e < exp_mask:   # below 2**-1021 a result may have been rounded as a subnormal
                if fcsr & 1:
                    return bits
                product = (a & frac | hidden) * (b & frac | hidden)
                if product & ((1 << (product.bit_length() - 53)) - 1):
                    cpu.fcsr |= 1
                return bits
        return slow_mul(cpu, rm, a, b)

    def double_div(cpu: Any, rm: int, a: int, b: int) -> int:
        fcsr = cpu.fcsr
        ea, eb = a & exp_mask, b & exp_mask
        if ea and eb and ea != exp_mask and eb != exp_mask and (rm == 0 or rm == 7 and not fcsr & 0xE0):
            x, y = pair(pack_pair(a, b))
            bits = unpack_one(pack_one(x / y))[0]
            e = bits & exp_mask
            if smallest < e < exp_mask:   # below 2**-1021 a result may have been rounded as a subnormal
                if fcsr & 1:
                    return bits
                # exact when quotient * divisor == dividend, on the significands (up to a power of two)
                product, dividend = (bits & frac | hidden) * (b & frac | hidden), a & frac | hidden
                shift = product.bit_length() - 53
                if shift < 0 or product != dividend << shift:
                    cpu.fcsr |= 1
                return bits
        return slow_div(cpu, rm, a, b)

    def double_sqrt(cpu: Any, rm: int, a: int, b: int) -> int:
        fcsr = cpu.fcsr
        ea = a & exp_mask
        if ea and ea != exp_mask and not a >> 63 and (rm == 0 or rm == 7 and not fcsr & 0xE0):
            bits = unpack_one(pack_one(math.sqrt(pair(pack_pair(a, 0))[0])))[0]
            if fcsr & 1:
                return bits
            root = bits & frac | hidden
            square, radicand = root * root, a & frac | hidden
            shift = square.bit_length() - 53
            if shift < 0 or square != radicand << shift:
                cpu.fcsr |= 1
            return bits
        return slow_sqrt(cpu, rm, a, b)

    return {"double_add": double_add, "double_sub": double_sub, "double_mul": double_mul,
            "double_div": double_div, "double_sqrt": double_sqrt}


def bits_of_float(value: float) -> int:
    """The bit pattern of a double held as a Python float (exact, NaN payloads included)."""
    return _one_q(_one_d(value))[0]


def float_of_bits(bits: int) -> float:
    """A double's bit pattern as a Python float (exact, NaN payloads included)."""
    return _one_float(_one_bits(bits))[0]


FLOAT_HELPERS = {"fpu": fpu, "SINGLE": fpu.SINGLE, "DOUBLE": fpu.DOUBLE, "rounding": rounding, "unbox": unbox,
                 "accrue_s": accrue_s, "accrue_d": accrue_d, "accrue_x": accrue_x,
                 **{f"single_{op}": _arithmetic(op, fpu.SINGLE, fpu.FAST[32][op]) for op in ("add", "sub", "mul", "div", "sqrt")},
                 **_double_helpers(), "floats_of": _pair_d, "pair_bytes": _pair_q, "float_bytes": _one_d,
                 "bits_of": _one_q, "float_of": _one_float, "quad_bytes": _one_bits, "bits_of_float": bits_of_float,
                 "float_of_bits": float_of_bits, "sqrt": math.sqrt, "copysign": math.copysign}
