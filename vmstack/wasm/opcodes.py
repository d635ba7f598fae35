"""The WebAssembly 2.0 instruction table: one entry per instruction, giving its
binary encoding, its immediates and, for instructions with a fixed stack
signature, the types it pops and pushes.

Every part of ``vmstack.wasm`` reads this one table: the binary decoder and the
text assembler (encoding and immediates), the validator (signatures), and the
execution tiers (names). Adding an instruction starts here.

``OPCODES[name] = Op(name, prefix, code, imms, sig)`` where ``prefix`` is
``None`` for single-byte opcodes or ``0xFC`` / ``0xFD``, ``code`` is the byte or
the LEB128 sub-opcode, ``imms`` is a tuple of immediate kinds and ``sig`` is
``(pops, pushes)`` or ``None`` when the validator handles the instruction
specially (control, variables, parametric, references, tables, calls).

Immediate kinds: ``blocktype``, ``label``, ``labels`` (br_table vector + default),
``func``, ``type``, ``table``, ``local``, ``global``, ``memarg``, ``mem``
(a reserved memory index, 0x00), ``data``, ``elem``, ``i32``, ``i64``, ``f32``,
``f64``, ``v128``, ``lane``, ``lanes16`` (shuffle), ``reftype``, ``valtypes``
(typed select), ``table2`` (table.copy: dst, src), ``mem2`` (memory.copy).
"""

from __future__ import annotations

from typing import NamedTuple


class Op(NamedTuple):
    name: str
    prefix: int | None
    code: int
    imms: tuple[str, ...]
    sig: tuple[tuple[str, ...], tuple[str, ...]] | None


OPCODES: dict[str, Op] = {}
BY_CODE: dict[tuple[int | None, int], Op] = {}
# natural alignment (log2 of access size) of memory instructions
NATURAL_ALIGN: dict[str, int] = {}


def _op(name: str, prefix: int | None, code: int, imms: tuple[str, ...] = (), sig=None) -> None:
    op = Op(name, prefix, code, imms, sig)
    OPCODES[name] = op
    BY_CODE[(prefix, code)] = op


def _build() -> None:
    i32, i64, f32, f64 = "i32", "i64", "f32", "f64"

    # control
    _op("unreachable", None, 0x00)
    _op("nop", None, 0x01, (), ((), ()))
    _op("block", None, 0x02, ("blocktype",))
    _op("loop", None, 0x03, ("blocktype",))
    _op("if", None, 0x04, ("blocktype",))
    _op("else", None, 0x05)
    _op("end", None, 0x0B)
    _op("br", None, 0x0C, ("label",))
    _op("br_if", None, 0x0D, ("label",))
    _op("br_table", None, 0x0E, ("labels",))
    _op("return", None, 0x0F)
    _op("call", None, 0x10, ("func",))
    _op("call_indirect", None, 0x11, ("type", "table"))
    # parametric
    _op("drop", None, 0x1A)
    _op("select", None, 0x1B, ("valtypes",))  # plain select: valtypes immediate is None
    BY_CODE[(None, 0x1C)] = Op("select", None, 0x1C, ("valtypes",), None)  # typed select
    # variables
    _op("local.get", None, 0x20, ("local",))
    _op("local.set", None, 0x21, ("local",))
    _op("local.tee", None, 0x22, ("local",))
    _op("global.get", None, 0x23, ("global",))
    _op("global.set", None, 0x24, ("global",))
    _op("table.get", None, 0x25, ("table",))
    _op("table.set", None, 0x26, ("table",))

    # memory
    loads = [
        ("i32.load", i32, 2), ("i64.load", i64, 3), ("f32.load", f32, 2), ("f64.load", f64, 3),
        ("i32.load8_s", i32, 0), ("i32.load8_u", i32, 0), ("i32.load16_s", i32, 1),
        ("i32.load16_u", i32, 1), ("i64.load8_s", i64, 0), ("i64.load8_u", i64, 0),
        ("i64.load16_s", i64, 1), ("i64.load16_u", i64, 1), ("i64.load32_s", i64, 2),
        ("i64.load32_u", i64, 2),
    ]
    for k, (name, t, align) in enumerate(loads):
        _op(name, None, 0x28 + k, ("memarg",), ((i32,), (t,)))
        NATURAL_ALIGN[name] = align
    stores = [
        ("i32.store", i32, 2), ("i64.store", i64, 3), ("f32.store", f32, 2), ("f64.store", f64, 3),
        ("i32.store8", i32, 0), ("i32.store16", i32, 1), ("i64.store8", i64, 0),
        ("i64.store16", i64, 1), ("i64.store32", i64, 2),
    ]
    for k, (name, t, align) in enumerate(stores):
        _op(name, None, 0x36 + k, ("memarg",), ((i32, t), ()))
        NATURAL_ALIGN[name] = align
    _op("memory.size", None, 0x3F, ("mem",), ((), (i32,)))
    _op("memory.grow", None, 0x40, ("mem",), ((i32,), (i32,)))

    # constants
    _op("i32.const", None, 0x41, ("i32",), ((), (i32,)))
    _op("i64.const", None, 0x42, ("i64",), ((), (i64,)))
    _op("f32.const", None, 0x43, ("f32",), ((), (f32,)))
    _op("f64.const", None, 0x44, ("f64",), ((), (f64,)))

    # numeric
    def group(t: str, start: int, names: list[str], sig) -> None:
        for k, n in enumerate(names):
            _op(f"{t}.{n}", None, start + k, (), sig)

    icmp = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
    fcmp = ["eq", "ne", "lt", "gt", "le", "ge"]
    _op("i32.eqz", None, 0x45, (), ((i32,), (i32,)))
    group(i32, 0x46, icmp, ((i32, i32), (i32,)))
    _op("i64.eqz", None, 0x50, (), ((i64,), (i32,)))
    group(i64, 0x51, icmp, ((i64, i64), (i32,)))
    group(f32, 0x5B, fcmp, ((f32, f32), (i32,)))
    group(f64, 0x61, fcmp, ((f64, f64), (i32,)))
    iun = ["clz", "ctz", "popcnt"]
    ibin = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor",
            "shl", "shr_s", "shr_u", "rotl", "rotr"]
    fun = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"]
    fbin = ["add", "sub", "mul", "div", "min", "max", "copysign"]
    group(i32, 0x67, iun, ((i32,), (i32,)))
    group(i32, 0x6A, ibin, ((i32, i32), (i32,)))
    group(i64, 0x79, iun, ((i64,), (i64,)))
    group(i64, 0x7C, ibin, ((i64, i64), (i64,)))
    group(f32, 0x8B, fun, ((f32,), (f32,)))
    group(f32, 0x92, fbin, ((f32, f32), (f32,)))
    group(f64, 0x99, fun, ((f64,), (f64,)))
    group(f64, 0xA0, fbin, ((f64, f64), (f64,)))
    conversions = [
        ("i32.wrap_i64", i64, i32), ("i32.trunc_f32_s", f32, i32), ("i32.trunc_f32_u", f32, i32),
        ("i32.trunc_f64_s", f64, i32), ("i32.trunc_f64_u", f64, i32), ("i64.extend_i32_s", i32, i64),
        ("i64.extend_i32_u", i32, i64), ("i64.trunc_f32_s", f32, i64), ("i64.trunc_f32_u", f32, i64),
        ("i64.trunc_f64_s", f64, i64), ("i64.trunc_f64_u", f64, i64), ("f32.convert_i32_s", i32, f32),
        ("f32.convert_i32_u", i32, f32), ("f32.convert_i64_s", i64, f32), ("f32.convert_i64_u", i64, f32),
        ("f32.demote_f64", f64, f32), ("f64.convert_i32_s", i32, f64), ("f64.convert_i32_u", i32, f64),
        ("f64.convert_i64_s", i64, f64), ("f64.convert_i64_u", i64, f64), ("f64.promote_f32", f32, f64),
        ("i32.reinterpret_f32", f32, i32), ("i64.reinterpret_f64", f64, i64),
        ("f32.reinterpret_i32", i32, f32), ("f64.reinterpret_i64", i64, f64),
        ("i32.extend8_s", i32, i32), ("i32.extend16_s", i32, i32), ("i64.extend8_s", i64, i64),
        ("i64.extend16_s", i64, i64), ("i64.extend32_s", i64, i64),
    ]
    for k, (name, a, r) in enumerate(conversions):
        _op(name, None, 0xA7 + k, (), ((a,), (r,)))

    # references
    _op("ref.null", None, 0xD0, ("reftype",))
    _op("ref.is_null", None, 0xD1)
    _op("ref.func", None, 0xD2, ("func",))

    # 0xFC prefix: saturating truncation, bulk memory, tables
    sat = [("i32.trunc_sat_f32_s", f32, i32), ("i32.trunc_sat_f32_u", f32, i32),
           ("i32.trunc_sat_f64_s", f64, i32), ("i32.trunc_sat_f64_u", f64, i32),
           ("i64.trunc_sat_f32_s", f32, i64), ("i64.trunc_sat_f32_u", f32, i64),
           ("i64.trunc_sat_f64_s", f64, i64), ("i64.trunc_sat_f64_u", f64, i64)]
    for k, (name, a, r) in enumerate(sat):
        _op(name, 0xFC, k, (), ((a,), (r,)))
    _op("memory.init", 0xFC, 8, ("data", "mem"), ((i32, i32, i32), ()))
    _op("data.drop", 0xFC, 9, ("data",), ((), ()))
    _op("memory.copy", 0xFC, 10, ("mem2",), ((i32, i32, i32), ()))
    _op("memory.fill", 0xFC, 11, ("mem",), ((i32, i32, i32), ()))
    _op("table.init", 0xFC, 12, ("elem", "table"))
    _op("elem.drop", 0xFC, 13, ("elem",), ((), ()))
    _op("table.copy", 0xFC, 14, ("table2",))
    _op("table.grow", 0xFC, 15, ("table",))
    _op("table.size", 0xFC, 16, ("table",), ((), (i32,)))
    _op("table.fill", 0xFC, 17, ("table",))

    _build_simd()


def _build_simd() -> None:
    i32, i64, f32, f64, v = "i32", "i64", "f32", "f64", "v128"
    P = 0xFD
    un = ((v,), (v,))
    bin_ = ((v, v), (v,))
    test = ((v,), (i32,))
    shift = ((v, i32), (v,))

    mem_ops = [
        (0, "v128.load", ((i32,), (v,)), 4), (1, "v128.load8x8_s", ((i32,), (v,)), 3),
        (2, "v128.load8x8_u", ((i32,), (v,)), 3), (3, "v128.load16x4_s", ((i32,), (v,)), 3),
        (4, "v128.load16x4_u", ((i32,), (v,)), 3), (5, "v128.load32x2_s", ((i32,), (v,)), 3),
        (6, "v128.load32x2_u", ((i32,), (v,)), 3), (7, "v128.load8_splat", ((i32,), (v,)), 0),
        (8, "v128.load16_splat", ((i32,), (v,)), 1), (9, "v128.load32_splat", ((i32,), (v,)), 2),
        (10, "v128.load64_splat", ((i32,), (v,)), 3), (11, "v128.store", ((i32, v), ()), 4),
        (92, "v128.load32_zero", ((i32,), (v,)), 2), (93, "v128.load64_zero", ((i32,), (v,)), 3),
    ]
    for code, name, sig, align in mem_ops:
        _op(name, P, code, ("memarg",), sig)
        NATURAL_ALIGN[name] = align
    for k, bits in enumerate((8, 16, 32, 64)):
        _op(f"v128.load{bits}_lane", P, 84 + k, ("memarg", "lane"), ((i32, v), (v,)))
        _op(f"v128.store{bits}_lane", P, 88 + k, ("memarg", "lane"), ((i32, v), ()))
        NATURAL_ALIGN[f"v128.load{bits}_lane"] = k
        NATURAL_ALIGN[f"v128.store{bits}_lane"] = k
    _op("v128.const", P, 12, ("v128",), ((), (v,)))
    _op("i8x16.shuffle", P, 13, ("lanes16",), bin_)
    _op("i8x16.swizzle", P, 14, (), bin_)
    for k, (shape, t) in enumerate([("i8x16", i32), ("i16x8", i32), ("i32x4", i32),
                                    ("i64x2", i64), ("f32x4", f32), ("f64x2", f64)]):
        _op(f"{shape}.splat", P, 15 + k, (), ((t,), (v,)))
    lanes = [
        (21, "i8x16.extract_lane_s", ((v,), (i32,))), (22, "i8x16.extract_lane_u", ((v,), (i32,))),
        (23, "i8x16.replace_lane", ((v, i32), (v,))),
        (24, "i16x8.extract_lane_s", ((v,), (i32,))), (25, "i16x8.extract_lane_u", ((v,), (i32,))),
        (26, "i16x8.replace_lane", ((v, i32), (v,))),
        (27, "i32x4.extract_lane", ((v,), (i32,))), (28, "i32x4.replace_lane", ((v, i32), (v,))),
        (29, "i64x2.extract_lane", ((v,), (i64,))), (30, "i64x2.replace_lane", ((v, i64), (v,))),
        (31, "f32x4.extract_lane", ((v,), (f32,))), (32, "f32x4.replace_lane", ((v, f32), (v,))),
        (33, "f64x2.extract_lane", ((v,), (f64,))), (34, "f64x2.replace_lane", ((v, f64), (v,))),
    ]
    for code, name, sig in lanes:
        _op(name, P, code, ("lane",), sig)
    icmp = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
    fcmp = ["eq", "ne", "lt", "gt", "le", "ge"]
    for k, n in enumerate(icmp):
        _op(f"i8x16.{n}", P, 35 + k, (), bin_)
        _op(f"i16x8.{n}", P, 45 + k, (), bin_)
        _op(f"i32x4.{n}", P, 55 + k, (), bin_)
    for k, n in enumerate(fcmp):
        _op(f"f32x4.{n}", P, 65 + k, (), bin_)
        _op(f"f64x2.{n}", P, 71 + k, (), bin_)
    _op("v128.not", P, 77, (), un)
    _op("v128.and", P, 78, (), bin_)
    _op("v128.andnot", P, 79, (), bin_)
    _op("v128.or", P, 80, (), bin_)
    _op("v128.xor", P, 81, (), bin_)
    _op("v128.bitselect", P, 82, (), ((v, v, v), (v,)))
    _op("v128.any_true", P, 83, (), test)
    _op("f32x4.demote_f64x2_zero", P, 94, (), un)
    _op("f64x2.promote_low_f32x4", P, 95, (), un)

    table = {
        96: ("i8x16.abs", un), 97: ("i8x16.neg", un), 98: ("i8x16.popcnt", un),
        99: ("i8x16.all_true", test), 100: ("i8x16.bitmask", test),
        101: ("i8x16.narrow_i16x8_s", bin_), 102: ("i8x16.narrow_i16x8_u", bin_),
        103: ("f32x4.ceil", un), 104: ("f32x4.floor", un), 105: ("f32x4.trunc", un),
        106: ("f32x4.nearest", un), 107: ("i8x16.shl", shift), 108: ("i8x16.shr_s", shift),
        109: ("i8x16.shr_u", shift), 110: ("i8x16.add", bin_), 111: ("i8x16.add_sat_s", bin_),
        112: ("i8x16.add_sat_u", bin_), 113: ("i8x16.sub", bin_), 114: ("i8x16.sub_sat_s", bin_),
        115: ("i8x16.sub_sat_u", bin_), 116: ("f64x2.ceil", un), 117: ("f64x2.floor", un),
        118: ("i8x16.min_s", bin_), 119: ("i8x16.min_u", bin_), 120: ("i8x16.max_s", bin_),
        121: ("i8x16.max_u", bin_), 122: ("f64x2.trunc", un), 123: ("i8x16.avgr_u", bin_),
        124: ("i16x8.extadd_pairwise_i8x16_s", un), 125: ("i16x8.extadd_pairwise_i8x16_u", un),
        126: ("i32x4.extadd_pairwise_i16x8_s", un), 127: ("i32x4.extadd_pairwise_i16x8_u", un),
        128: ("i16x8.abs", un), 129: ("i16x8.neg", un), 130: ("i16x8.q15mulr_sat_s", bin_),
        131: ("i16x8.all_true", test), 132: ("i16x8.bitmask", test),
        133: ("i16x8.narrow_i32x4_s", bin_), 134: ("i16x8.narrow_i32x4_u", bin_),
        135: ("i16x8.extend_low_i8x16_s", un), 136: ("i16x8.extend_high_i8x16_s", un),
        137: ("i16x8.extend_low_i8x16_u", un), 138: ("i16x8.extend_high_i8x16_u", un),
        139: ("i16x8.shl", shift), 140: ("i16x8.shr_s", shift), 141: ("i16x8.shr_u", shift),
        142: ("i16x8.add", bin_), 143: ("i16x8.add_sat_s", bin_), 144: ("i16x8.add_sat_u", bin_),
        145: ("i16x8.sub", bin_), 146: ("i16x8.sub_sat_s", bin_), 147: ("i16x8.sub_sat_u", bin_),
        148: ("f64x2.nearest", un), 149: ("i16x8.mul", bin_), 150: ("i16x8.min_s", bin_),
        151: ("i16x8.min_u", bin_), 152: ("i16x8.max_s", bin_), 153: ("i16x8.max_u", bin_),
        155: ("i16x8.avgr_u", bin_), 156: ("i16x8.extmul_low_i8x16_s", bin_),
        157: ("i16x8.extmul_high_i8x16_s", bin_), 158: ("i16x8.extmul_low_i8x16_u", bin_),
        159: ("i16x8.extmul_high_i8x16_u", bin_),
        160: ("i32x4.abs", un), 161: ("i32x4.neg", un), 163: ("i32x4.all_true", test),
        164: ("i32x4.bitmask", test), 167: ("i32x4.extend_low_i16x8_s", un),
        168: ("i32x4.extend_high_i16x8_s", un), 169: ("i32x4.extend_low_i16x8_u", un),
        170: ("i32x4.extend_high_i16x8_u", un), 171: ("i32x4.shl", shift),
        172: ("i32x4.shr_s", shift), 173: ("i32x4.shr_u", shift), 174: ("i32x4.add", bin_),
        177: ("i32x4.sub", bin_), 181: ("i32x4.mul", bin_), 182: ("i32x4.min_s", bin_),
        183: ("i32x4.min_u", bin_), 184: ("i32x4.max_s", bin_), 185: ("i32x4.max_u", bin_),
        186: ("i32x4.dot_i16x8_s", bin_), 188: ("i32x4.extmul_low_i16x8_s", bin_),
        189: ("i32x4.extmul_high_i16x8_s", bin_), 190: ("i32x4.extmul_low_i16x8_u", bin_),
        191: ("i32x4.extmul_high_i16x8_u", bin_),
        192: ("i64x2.abs", un), 193: ("i64x2.neg", un), 195: ("i64x2.all_true", test),
        196: ("i64x2.bitmask", test), 199: ("i64x2.extend_low_i32x4_s", un),
        200: ("i64x2.extend_high_i32x4_s", un), 201: ("i64x2.extend_low_i32x4_u", un),
        202: ("i64x2.extend_high_i32x4_u", un), 203: ("i64x2.shl", shift),
        204: ("i64x2.shr_s", shift), 205: ("i64x2.shr_u", shift), 206: ("i64x2.add", bin_),
        209: ("i64x2.sub", bin_), 213: ("i64x2.mul", bin_), 214: ("i64x2.eq", bin_),
        215: ("i64x2.ne", bin_), 216: ("i64x2.lt_s", bin_), 217: ("i64x2.gt_s", bin_),
        218: ("i64x2.le_s", bin_), 219: ("i64x2.ge_s", bin_),
        220: ("i64x2.extmul_low_i32x4_s", bin_), 221: ("i64x2.extmul_high_i32x4_s", bin_),
        222: ("i64x2.extmul_low_i32x4_u", bin_), 223: ("i64x2.extmul_high_i32x4_u", bin_),
        224: ("f32x4.abs", un), 225: ("f32x4.neg", un), 227: ("f32x4.sqrt", un),
        228: ("f32x4.add", bin_), 229: ("f32x4.sub", bin_), 230: ("f32x4.mul", bin_),
        231: ("f32x4.div", bin_), 232: ("f32x4.min", bin_), 233: ("f32x4.max", bin_),
        234: ("f32x4.pmin", bin_), 235: ("f32x4.pmax", bin_),
        236: ("f64x2.abs", un), 237: ("f64x2.neg", un), 239: ("f64x2.sqrt", un),
        240: ("f64x2.add", bin_), 241: ("f64x2.sub", bin_), 242: ("f64x2.mul", bin_),
        243: ("f64x2.div", bin_), 244: ("f64x2.min", bin_), 245: ("f64x2.max", bin_),
        246: ("f64x2.pmin", bin_), 247: ("f64x2.pmax", bin_),
        248: ("i32x4.trunc_sat_f32x4_s", un), 249: ("i32x4.trunc_sat_f32x4_u", un),
        250: ("f32x4.convert_i32x4_s", un), 251: ("f32x4.convert_i32x4_u", un),
        252: ("i32x4.trunc_sat_f64x2_s_zero", un), 253: ("i32x4.trunc_sat_f64x2_u_zero", un),
        254: ("f64x2.convert_low_i32x4_s", un), 255: ("f64x2.convert_low_i32x4_u", un),
    }
    for code, (name, sig) in table.items():
        _op(name, P, code, (), sig)


_build()
