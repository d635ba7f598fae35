"""Random instruction sequences over RV64GC + Zba/Zbb/Zbs, as assembly for a static ELF that runs them
one after another and writes the state after each one to stdout.

Each sequence gets its own 1 KiB record in .data: a 256-byte scratch buffer (random bytes, the only
memory the sequence touches, addressed through s11 which no sequence writes), then room for the 32 x
registers, the 32 f registers and fcsr. The sequence's prologue loads every register and fcsr from an
initial-state table; its epilogue stores them into the record. After the last sequence one write(2)
sends all records, so the output is the final state of every sequence, comparable byte for byte.
Control flow stays inside a sequence (forward branches, jal and jalr to a local label); memory accesses
stay in the scratch buffer; LR/SC/AMO addresses are aligned; frm is only ever set to a valid mode.
"""

from __future__ import annotations

import random
import struct

BASE = "s11"          # x27: the scratch pointer, never a destination
RECORD = 1024
SCRATCH = 256
X_AT, F_AT, FCSR_AT = 256, 512, 768
XREGS = [f"x{i}" for i in range(32)]
DEST_X = [f"x{i}" for i in range(1, 32) if i != 27]
FREGS = [f"f{i}" for i in range(32)]
ROUNDING = ["rne", "rtz", "rdn", "rup", "rmm", "dyn"]

INT_SPECIAL = [0, 1, 2, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0xFFFFFFFF80000000, 0xFFFFFFFF7FFFFFFF, 31, 32, 63, 64, 0x100000000]
DOUBLE_SPECIAL = [0x0, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
                  0x7FF4000000000000, 0xFFF8000000000001, 0x0000000000000001, 0x000FFFFFFFFFFFFF,
                  0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0x3FF0000000000000, 0xBFF0000000000000,
                  0x3FE0000000000000, 0x4330000000000000, 0x43E0000000000000, 0xC3E0000000000000,
                  0x41DFFFFFFFC00000, 0x41F0000000000000, 0x3FF8000000000000, 0x4000000000000000]
SINGLE_SPECIAL = [0x0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FA00000, 0xFFC00001, 0x1, 0x7FFFFF,
                  0x800000, 0x7F7FFFFF, 0x3F800000, 0xBF800000, 0x3F000000, 0x4B000000, 0x5F000000, 0xDF000000,
                  0x4F000000, 0x4F800000, 0x3FC00000, 0x40000000, 0x00800001, 0x33800000]

R_INT = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "addw", "subw", "sllw", "srlw", "sraw", "mulw", "divw", "divuw", "remw", "remuw", "sh1add", "sh2add", "sh3add", "add.uw", "sh1add.uw", "sh2add.uw", "sh3add.uw", "andn", "orn", "xnor", "max", "maxu", "min", "minu", "rol", "ror", "rolw", "rorw", "bclr", "bext", "binv", "bset"]
I_INT = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"]
SHIFT6 = ["slli", "srli", "srai", "rori", "bclri", "bseti", "binvi", "bexti", "slli.uw"]
SHIFT5 = ["slliw", "srliw", "sraiw", "roriw"]
UNARY_INT = ["clz", "ctz", "cpop", "clzw", "ctzw", "cpopw", "sext.b", "sext.h", "zext.h", "orc.b", "rev8"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "ld": 8, "lbu": 1, "lhu": 2, "lwu": 4}
STORES = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}
AMOS = ["amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu"]
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
FP_R_RM = ["fadd", "fsub", "fmul", "fdiv"]
FP_R4 = ["fmadd", "fmsub", "fnmsub", "fnmadd"]
FP_R = ["fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax"]
FP_CMP = ["feq", "flt", "fle"]
COMPRESSED = ["c.addi {d}, {nz6}", "c.li {d}, {i6}", "c.slli {d}, {sh1}", "c.mv {d}, {rs}", "c.add {d}, {rs}",
              "c.addiw {d}, {i6}", "c.lui {d}, {lui6}",
              "c.srli {dp}, {sh1}", "c.srai {dp}, {sh1}", "c.andi {dp}, {i6}", "c.sub {dp}, {sp}", "c.xor {dp}, {sp}",
              "c.or {dp}, {sp}", "c.and {dp}, {sp}", "c.subw {dp}, {sp}", "c.addw {dp}, {sp}"]


class SequenceWriter:
    def __init__(self, rng: random.Random, name: str) -> None:
        self.rng = rng
        self.name = name
        self.lines: list[str] = []
        self.labels = 0

    def reg(self) -> str:
        return self.rng.choice(XREGS)

    def dest(self) -> str:
        return self.rng.choice(DEST_X)

    def freg(self) -> str:
        return self.rng.choice(FREGS)

    def emit(self, text: str) -> None:
        self.lines.append("    " + text)

    def instruction(self) -> None:
        r = self.rng
        kind = r.choices(["r", "i", "sh", "un", "lui", "ld", "st", "amo", "lrsc", "br", "jal", "jalr", "fp",
                          "fpmem", "csr", "c", "fence"],
                         weights=[14, 6, 4, 3, 1, 4, 3, 2, 1, 2, 1, 1, 26, 3, 2, 5, 1])[0]
        d, a, b = self.dest(), self.reg(), self.reg()
        if kind == "r":
            self.emit(f"{r.choice(R_INT)} {d}, {a}, {b}")
        elif kind == "i":
            self.emit(f"{r.choice(I_INT)} {d}, {a}, {r.randint(-2048, 2047)}")
        elif kind == "sh":
            if r.random() < 0.6:
                self.emit(f"{r.choice(SHIFT6)} {d}, {a}, {r.randint(0, 63)}")
            else:
                self.emit(f"{r.choice(SHIFT5)} {d}, {a}, {r.randint(0, 31)}")
        elif kind == "un":
            name = r.choice(UNARY_INT)
            if name == "ctzw":  # qemu 7.2 counts past bit 31 when the low word is 0: zero-extend first
                self.emit(f"add.uw {d}, {a}, x0")
                a = d
            self.emit(f"{name} {d}, {a}")
        elif kind == "lui":
            self.emit(f"{r.choice(['lui', 'auipc'])} {d}, {r.randint(0, 0xFFFFF)}")
        elif kind == "ld":
            name = r.choice(list(LOADS))
            self.emit(f"{name} {d}, {r.randint(0, SCRATCH - LOADS[name])}({BASE})")
        elif kind == "st":
            name = r.choice(list(STORES))
            self.emit(f"{name} {a}, {r.randint(0, SCRATCH - STORES[name])}({BASE})")
        elif kind in ("amo", "lrsc"):
            width, sfx = r.choice([(4, "w"), (8, "d")])
            ptr = self.dest()
            self.emit(f"addi {ptr}, {BASE}, {r.randrange(0, SCRATCH, width)}")
            order = r.choice(["", ".aq", ".rl", ".aqrl"])
            if kind == "amo":
                self.emit(f"{r.choice(AMOS)}.{sfx}{order} {d}, {b}, ({ptr})")
            else:
                if r.random() < 0.8:
                    self.emit(f"lr.{sfx}{order} {r.choice([x for x in DEST_X if x != ptr])}, ({ptr})")
                self.emit(f"sc.{sfx}{order} {self.dest()}, {b}, ({ptr})")
        elif kind == "br":
            self.forward(f"{r.choice(BRANCHES)} {a}, {b},")
        elif kind == "jal":
            self.forward(f"jal {d},")
        elif kind == "jalr":   # through a register holding a label's address
            ptr = self.dest()
            self.forward(f"la {ptr},", then=f"jalr {d}, 0({ptr})")
        elif kind == "fence":
            self.emit(r.choice(["fence", "fence.i", "fence rw, rw", "fence.tso", "nop", "c.nop"]))
        elif kind == "fp":
            self.float_op()
        elif kind == "fpmem":
            width, name = r.choice([(4, "flw"), (8, "fld"), (4, "fsw"), (8, "fsd")])
            self.emit(f"{name} {self.freg()}, {r.randint(0, SCRATCH - width)}({BASE})")
        elif kind == "csr":
            self.csr_op(d, a)
        else:
            self.compressed()

    def forward(self, prefix: str, then: str = "") -> None:
        """A branch or jump to a label a few instructions ahead (skipped code is ordinary code); ``then``
        follows the instruction naming the label (a jalr after the la)."""
        self.labels += 1
        label = f".L{self.name}_{self.labels}"
        self.emit(f"{prefix} {label}")
        if then:
            self.emit(then)
        for _ in range(self.rng.randint(0, 3)):
            self.instruction_plain()
        self.lines.append(f"{label}:")

    def instruction_plain(self) -> None:
        r = self.rng
        if r.random() < 0.5:
            self.emit(f"{r.choice(R_INT)} {self.dest()}, {self.reg()}, {self.reg()}")
        else:
            self.float_op()

    def float_op(self) -> None:
        r = self.rng
        sfx = r.choice(["s", "d"])
        fd, f1, f2, f3 = self.freg(), self.freg(), self.freg(), self.freg()
        rm = r.choice(ROUNDING)
        kind = r.choices(["rr", "r4", "sqrt", "r", "cmp", "class", "to_int", "from_int", "cvt", "mv"],
                         weights=[8, 5, 2, 3, 3, 1, 4, 3, 2, 2])[0]
        if kind == "rr":
            self.emit(f"{r.choice(FP_R_RM)}.{sfx} {fd}, {f1}, {f2}, {rm}")
        elif kind == "r4":
            self.emit(f"{r.choice(FP_R4)}.{sfx} {fd}, {f1}, {f2}, {f3}, {rm}")
        elif kind == "sqrt":
            self.emit(f"fsqrt.{sfx} {fd}, {f1}, {rm}")
        elif kind == "r":
            self.emit(f"{r.choice(FP_R)}.{sfx} {fd}, {f1}, {f2}")
        elif kind == "cmp":
            self.emit(f"{r.choice(FP_CMP)}.{sfx} {self.dest()}, {f1}, {f2}")
        elif kind == "class":
            self.emit(f"fclass.{sfx} {self.dest()}, {f1}")
        elif kind == "to_int":
            self.emit(f"fcvt.{r.choice(['w', 'wu', 'l', 'lu'])}.{sfx} {self.dest()}, {f1}, {rm}")
        elif kind == "from_int":
            source = r.choice(["w", "wu", "l", "lu"])
            exact = sfx == "d" and source in ("w", "wu")
            self.emit(f"fcvt.{sfx}.{source} {fd}, {self.reg()}" + ("" if exact else f", {rm}"))
        elif kind == "cvt":
            self.emit(f"fcvt.s.d {fd}, {f1}, {rm}" if sfx == "s" else f"fcvt.d.s {fd}, {f1}")
        else:
            w = "w" if sfx == "s" else "d"
            self.emit(r.choice([f"fmv.x.{w} {self.dest()}, {f1}", f"fmv.{w}.x {fd}, {self.reg()}"]))

    def csr_op(self, d: str, a: str) -> None:
        r = self.rng
        self.emit(r.choice([f"csrrw {d}, fflags, {a}", f"csrrs {d}, fflags, {a}", f"csrrc {d}, fflags, {a}",
                            f"csrrs {d}, fcsr, x0", f"csrrs {d}, frm, x0", f"csrrwi {d}, frm, {r.randint(0, 4)}",
                            f"csrrwi {d}, fcsr, {r.randint(0, 31)}", f"csrrci {d}, fflags, {r.randint(0, 31)}",
                            f"csrrsi {d}, fflags, {r.randint(0, 31)}", f"csrrc {d}, frm, x0"]))

    def compressed(self) -> None:
        r = self.rng
        comp = [f"x{i}" for i in range(8, 16) if i != 27]
        if r.random() < 0.25:  # compressed loads/stores relative to the scratch pointer copied to a C register
            ptr = r.choice(comp)
            self.emit(f"c.mv {ptr}, {BASE}")
            width, name, is_float = r.choice([(4, "c.lw", False), (8, "c.ld", False), (4, "c.sw", False),
                                              (8, "c.sd", False), (8, "c.fld", True), (8, "c.fsd", True)])
            target = f"f{r.randint(8, 15)}" if is_float else r.choice(comp)
            self.emit(f"{name} {target}, {r.randrange(0, 8 * width, width)}({ptr})")
            return
        nonzero6 = r.choice([i for i in range(-32, 32) if i])
        fields = {"d": self.dest(), "rs": r.choice([x for x in DEST_X if x != "x0"]), "dp": r.choice(comp),
                  "sp": r.choice(comp), "nz6": nonzero6, "i6": r.randint(-32, 31), "sh1": r.randint(1, 63),
                  "lui6": r.choice([i for i in range(1, 32)] + [i for i in range(0xFFFE0, 0x100000)])}
        template = r.choice(COMPRESSED)
        if template.startswith("c.lui") and fields["d"] == "x2":
            fields["d"] = "x3"
        self.emit(template.format(**fields))


def random_bits_double(r: random.Random) -> int:
    choice = r.random()
    if choice < 0.4:
        return r.choice(DOUBLE_SPECIAL) ^ (r.getrandbits(1) << 63)
    if choice < 0.55:  # a single NaN-boxed or not
        single = r.choice(SINGLE_SPECIAL) ^ (r.getrandbits(1) << 31) if r.random() < 0.6 else r.getrandbits(32)
        return (0xFFFFFFFF00000000 if r.random() < 0.9 else r.getrandbits(32) << 32) | single
    if choice < 0.8:  # ordinary numbers of moderate size
        return struct.unpack("<Q", struct.pack("<d", r.uniform(-1e6, 1e6) * 2.0 ** r.randint(-30, 30)))[0]
    if choice < 0.9:  # a boxed single of moderate size
        return 0xFFFFFFFF00000000 | struct.unpack("<I", struct.pack("<f", r.uniform(-1e4, 1e4)))[0]
    return r.getrandbits(64)


def random_int(r: random.Random) -> int:
    choice = r.random()
    if choice < 0.3:
        return r.choice(INT_SPECIAL)
    if choice < 0.6:
        return r.randint(-300, 300) & 0xFFFFFFFFFFFFFFFF
    return r.getrandbits(64)


def program(seed: int, count: int, length: int) -> str:
    """Assembly source of an ELF running ``count`` random sequences of about ``length`` instructions."""
    r = random.Random(seed)
    text = [".option rvc", ".globl _start", ".text", "_start:"]
    data = [".data", ".balign 4096", "records:"]
    init = [".balign 8", "initial:"]
    for k in range(count):
        words_x = [random_int(r) for _ in range(32)]
        words_f = [random_bits_double(r) for _ in range(32)]
        fcsr = r.randint(0, 4) << 5 | r.randint(0, 31)
        init.append(f"init{k}: .dword " + ", ".join(hex(v) for v in words_x + words_f + [fcsr]))
        data.append(f"rec{k}: .byte " + ", ".join(str(r.getrandbits(8)) for _ in range(SCRATCH)))
        data.append(f"    .zero {RECORD - SCRATCH}")
        text += [f"    la {BASE}, init{k}", f"    ld x1, {64 * 8}({BASE})", "    fscsr x1"]
        text += [f"    fld f{i}, {8 * (32 + i)}({BASE})" for i in range(32)]
        text += [f"    ld x{i}, {8 * i}({BASE})" for i in range(1, 32) if i != 27]
        text.append(f"    la {BASE}, rec{k}")
        writer = SequenceWriter(r, f"s{k}")
        while len(writer.lines) < length:
            writer.instruction()
        text += writer.lines
        text += [f"    sd x{i}, {X_AT + 8 * i}({BASE})" for i in range(1, 32)]
        text += [f"    fsd f{i}, {F_AT + 8 * i}({BASE})" for i in range(32)]
        text += ["    frcsr x1", f"    sd x1, {FCSR_AT}({BASE})"]
    text += ["    li a0, 1", "    la a1, records", f"    li a2, {count * RECORD}", "    li a7, 64", "    ecall",
             "    li a0, 0", "    li a7, 93", "    ecall"]
    return "\n".join(text + data + init) + "\n"


def sequence_source(source: str, k: int) -> str:
    """The random part of sequence k in a program's source, for a failure message."""
    lines = source.split("\n")
    start = lines.index(f"    la {BASE}, rec{k}") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(f"    sd x1, {X_AT + 8}("))
    return "\n".join(lines[start:end])
