"""Random WebAssembly modules for differential testing: a seeded generator of well-typed WAT.

Each module has a memory, mutable globals of every numeric type, a table of helper functions and
an exported ``run`` whose body is a random mix of expression trees and statements: every scalar
instruction (trapping ones included), loads and stores (some out of bounds), locals, blocks with
early exits, ifs, bounded loops, selects, direct and indirect calls (some with the wrong index or
signature), memory.grow/fill/copy and special float values (NaNs with payloads, signed zeros,
infinities, values just past the integer conversion limits). With ``nan_bits``, ``run`` also takes
four integers whose bits stand in for most float constants (through reinterpret): NaNs with payloads,
signalling ones, zeros, infinities and negatives that LLVM cannot fold away at compile time.
"""

from __future__ import annotations

import random

TYPES = ("i32", "i64", "f32", "f64")

INT_BINARY = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s",
              "shr_u", "rotl", "rotr"]
INT_UNARY = ["clz", "ctz", "popcnt", "extend8_s", "extend16_s"]
INT_COMPARE = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
FLOAT_BINARY = ["add", "sub", "mul", "div", "min", "max", "copysign"]
FLOAT_UNARY = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"]
FLOAT_COMPARE = ["eq", "ne", "lt", "gt", "le", "ge"]

SPECIAL_F32 = ["nan", "-nan", "nan:0x200000", "-nan:0x1", "nan:0x7fffff", "inf", "-inf", "0", "-0", "0x1p-149",
               "3.4028234e38", "2147483648", "-2147483904", "4294967296", "9.2233720e18", "-1", "0.5", "-0.5",
               "1.5", "2.5"]
SPECIAL_F64 = ["nan", "-nan", "nan:0x4000000000000", "nan:0x1", "-nan:0xfffffffffffff", "inf", "-inf", "0", "-0",
               "0x1p-1074", "1.7976931348623157e308", "2147483647.9", "-2147483648.9", "4294967295.5",
               "9223372036854775807", "-9223372036854777856", "18446744073709551616", "-1", "0.5", "-2.5"]
SPECIAL_INT = {"i32": ["0", "1", "-1", "0x7fffffff", "0x80000000", "31", "32", "0xffff", "65536"],
               "i64": ["0", "1", "-1", "0x7fffffffffffffff", "0x8000000000000000", "63", "64", "0xffffffff"]}

NAN_BITS = {  # the bit patterns ``random_args`` gives the float sources of a nan_bits module
    "f64": [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF4000000000123,
            0x7FFC00000000ABCD, 0x0000000000000000, 0x8000000000000000, 0x7FF0000000000000,
            0xFFF0000000000000, 0xBFF0000000000000, 0x4000000000000000, 0x3FF8000000000000],
    "f32": [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFA00123, 0x7FE0ABCD, 0x00000000, 0x80000000,
            0x7F800000, 0xFF800000, 0xBF800000, 0x40000000, 0x3FC00000],
}
SOURCE_TYPES = {"f64": "i64", "f32": "i32"}  # the integer parameter each float source arrives in
SOURCES = ("f64", "f64", "f32", "f32")  # a nan_bits module's float sources, its last parameters

MEMORY_PAGES = 1
HELPER_TYPES = [("i32", "i32"), ("i64", "f64"), ("f32", "i32"), ("f64", "f64")]  # (param, result)


class Generator:
    """Writes one random module; ``depth`` bounds expression nesting."""

    def __init__(self, seed: int, depth: int = 4, nan_bits: bool = False) -> None:
        self.rng = random.Random(seed)
        self.depth = depth
        self.nan_bits = nan_bits
        self.sources: dict[str, list[int]] = {}  # float type → the run parameters holding its bits
        self.locals: dict[str, list[int]] = {}
        self.labels = 0

    # ---- expressions

    def const(self, t: str) -> str:
        r = self.rng
        if t in ("f32", "f64") and self.sources.get(t) and r.random() < 0.7:
            return f"({t}.reinterpret_{SOURCE_TYPES[t]} (local.get {r.choice(self.sources[t])}))"
        if t in ("f32", "f64"):
            specials = SPECIAL_F32 if t == "f32" else SPECIAL_F64
            value = r.choice(specials) if r.random() < 0.6 else repr(r.uniform(-1e6, 1e6))
            return f"({t}.const {value})"
        if r.random() < 0.5:
            return f"({t}.const {r.choice(SPECIAL_INT[t])})"
        bits = int(t[1:])
        return f"({t}.const {r.randrange(-(1 << (bits - 1)), 1 << (bits - 1))})"

    def address(self) -> str:
        """An address expression: mostly in bounds, sometimes near or past the end (always in bounds
        for a nan_bits module, whose floats are to be seen rather than stopped by a trap)."""
        r = self.rng
        if self.nan_bits:
            return f"(i32.const {r.randrange(0, 0xfff0, 8)})"
        if r.random() < 0.85:
            return f"(i32.and {self.expr('i32', 1)} (i32.const 0xfff8))"
        return f"(i32.const {r.choice([65528, 65535, 65536, 70000, -1])})"

    def expr(self, t: str, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if self.nan_bits and t in ("i32", "i64"):  # integers only as conditions: nothing that traps
            depth = min(depth, 1)
            if depth and t == "i32":
                ft = r.choice(["f32", "f64"])
                return f"({ft}.{r.choice(FLOAT_COMPARE)} {self.expr(ft, 2)} {self.expr(ft, 2)})"
            depth = 0
        if depth <= 0 or r.random() < 0.15:
            choice = r.random()
            if choice < 0.5:
                return self.const(t)
            if choice < 0.8 and self.locals.get(t):
                return f"(local.get {r.choice(self.locals[t])})"
            return f"(global.get $g_{t})"
        d = depth - 1
        kind = r.random()
        if t in ("i32", "i64"):
            if kind < 0.35:
                return f"({t}.{r.choice(INT_BINARY)} {self.expr(t, d)} {self.expr(t, d)})"
            if kind < 0.45:
                return f"({t}.{r.choice(INT_UNARY)} {self.expr(t, d)})"
            if kind < 0.55 and t == "i32":
                other = r.choice(TYPES)
                if other in ("i32", "i64"):
                    op = r.choice(INT_COMPARE + ["eqz"])
                    args = self.expr(other, d) if op == "eqz" else f"{self.expr(other, d)} {self.expr(other, d)}"
                    return f"({other}.{op} {args})"
                return f"({other}.{r.choice(FLOAT_COMPARE)} {self.expr(other, d)} {self.expr(other, d)})"
            if kind < 0.65:
                return self.conversion_to(t, d)
            if kind < 0.72:
                return self.load(t, d)
        else:
            if kind < 0.4:
                return f"({t}.{r.choice(FLOAT_BINARY)} {self.expr(t, d)} {self.expr(t, d)})"
            if kind < 0.55:
                return f"({t}.{r.choice(FLOAT_UNARY)} {self.expr(t, d)})"
            if kind < 0.65:
                return self.conversion_to(t, d)
            if kind < 0.72:
                return self.load(t, d)
        if kind < 0.78:
            return f"(select {self.expr(t, d)} {self.expr(t, d)} {self.expr('i32', d)})"
        if kind < 0.84:
            return f"(if (result {t}) {self.expr('i32', d)} (then {self.expr(t, d)}) (else {self.expr(t, d)}))"
        if kind < 0.9:
            return (f"(block (result {t}) (br_if 0 {self.expr(t, d)} {self.expr('i32', d)}) (drop) "
                    f"{self.expr(t, d)})")
        if kind < 0.95:
            return self.call(t, d)
        return self.const(t)

    def conversion_to(self, t: str, d: int) -> str:
        r = self.rng
        if t == "i32":
            choices = ["i32.wrap_i64 i64"] + [f"i32.trunc{sat}_{f}_{s} {f}" for sat in ("", "_sat")
                                              for f in ("f32", "f64") for s in "su"] + ["i32.reinterpret_f32 f32"]
        elif t == "i64":
            choices = ["i64.extend_i32_s i32", "i64.extend_i32_u i32", "i64.reinterpret_f64 f64",
                       "i64.extend32_s i64"] + [f"i64.trunc{sat}_{f}_{s} {f}" for sat in ("", "_sat")
                                                for f in ("f32", "f64") for s in "su"]
        elif t == "f32":
            choices = ["f32.demote_f64 f64", "f32.reinterpret_i32 i32"] + [
                f"f32.convert_{i}_{s} {i}" for i in ("i32", "i64") for s in "su"]
        else:
            choices = ["f64.promote_f32 f32", "f64.reinterpret_i64 i64"] + [
                f"f64.convert_{i}_{s} {i}" for i in ("i32", "i64") for s in "su"]
        op, source = r.choice(choices).split()
        return f"({op} {self.expr(source, d)})"

    def load(self, t: str, d: int) -> str:
        r = self.rng
        ops = {"i32": ["load", "load8_s", "load8_u", "load16_s", "load16_u"],
               "i64": ["load", "load8_s", "load16_u", "load32_s", "load32_u"],
               "f32": ["load"], "f64": ["load"]}[t]
        offset = r.choice([0, 0, 4, 8] if self.nan_bits else [0, 0, 4, 8, 65535])
        return f"({t}.{r.choice(ops)} offset={offset} {self.address()})"

    def call(self, t: str, d: int) -> str:
        r = self.rng
        candidates = [k for k, (_, result) in enumerate(HELPER_TYPES) if result == t]
        if not candidates:
            return self.const(t)
        k = r.choice(candidates)
        param = HELPER_TYPES[k][0]
        if r.random() < 0.5:
            return f"(call $h{k} {self.expr(param, d)})"
        index = r.choice([k, k, k, r.randrange(len(HELPER_TYPES) + 1)])  # a wrong or missing entry now and then
        return f"(call_indirect (type $t{k}) {self.expr(param, d)} (i32.const {index}))"

    # ---- statements

    def statement(self, depth: int) -> str:
        r = self.rng
        t = r.choice(("f32", "f64")) if self.nan_bits else r.choice(TYPES)
        kind = r.random()
        if self.nan_bits and 0.72 <= kind < 0.83:  # no unreachable, no memory.grow, no bulk memory
            kind = 0.3
        if kind < 0.3 and self.locals.get(t):
            return f"(local.set {r.choice(self.locals[t])} {self.expr(t)})"
        if kind < 0.45:
            bits = {"i32": ["store", "store8", "store16"], "i64": ["store", "store32"],
                    "f32": ["store"], "f64": ["store"]}[t]
            return f"({t}.{r.choice(bits)} offset={r.choice([0, 16])} {self.address()} {self.expr(t)})"
        if kind < 0.55:
            return f"(global.set $g_{t} {self.expr(t)})"
        if kind < 0.65 and depth > 0:
            counter = self.locals["i32"][0]
            body = " ".join(self.statement(depth - 1) for _ in range(r.randint(1, 3)))
            return (f"(local.set {counter} (i32.const {r.randint(1, 6)})) "
                    f"(loop $l{depth} {body} (local.set {counter} (i32.sub (local.get {counter}) (i32.const 1))) "
                    f"(br_if $l{depth} (i32.gt_s (local.get {counter}) (i32.const 0))))")
        if kind < 0.72 and depth > 0:
            body = " ".join(self.statement(depth - 1) for _ in range(r.randint(1, 3)))
            return f"(if {self.expr('i32', 2)} (then {body}))"
        if kind < 0.76:
            return f"(drop (memory.grow (i32.const {r.choice([0, 1, 2, 70000])})))"
        if kind < 0.8:
            op = r.choice(["memory.fill", "memory.copy"])
            return f"({op} {self.address()} {self.expr('i32', 1)} (i32.and {self.expr('i32', 1)} (i32.const 255)))"
        if kind < 0.83:
            return f"(if {self.expr('i32', 1)} (then (unreachable)))"
        return f"(drop {self.expr(t)})"

    # ---- the module

    def module(self) -> str:
        r = self.rng
        params = [r.choice(TYPES) for _ in range(r.randint(0, 4))]
        if self.nan_bits:
            for t in SOURCES:
                self.sources.setdefault(t, []).append(len(params))
                params.append(SOURCE_TYPES[t])
        local_types = ["i32"] + [r.choice(TYPES) for _ in range(r.randint(0, 4))]
        self.locals = {t: [] for t in TYPES}
        for i, t in enumerate(params + local_types):
            self.locals[t].append(i)
        self.locals["i32"].sort(key=lambda i: i != len(params))  # the loop counter first
        result = r.choice(TYPES)
        body = " ".join(self.statement(2) for _ in range(r.randint(2, 8)))
        helpers = []
        saved = self.locals
        saved_sources, self.sources = self.sources, {}  # not in the helpers, nor in constant expressions
        for k, (param, res) in enumerate(HELPER_TYPES):
            self.locals = {t: [] for t in TYPES}
            self.locals[param].append(0)
            helpers.append(f"(type $t{k} (func (param {param}) (result {res})))\n"
                           f"(func $h{k} (type $t{k}) {self.expr(res, 2)})")
        globals_ = "\n".join(f"(global $g_{t} (export \"g_{t}\") (mut {t}) {self.const(t)})" for t in TYPES)
        self.locals, self.sources = saved, saved_sources
        data = bytes(r.randrange(256) for _ in range(64)).hex()
        data_text = "".join(f"\\{data[i:i + 2]}" for i in range(0, len(data), 2))
        return f"""(module
  (memory (export "memory") {MEMORY_PAGES} 4)
  (data (i32.const 0) "{data_text}")
  {globals_}
  {chr(10).join(helpers)}
  (table {len(HELPER_TYPES) + 1} funcref)
  (elem (i32.const 0) {" ".join(f"$h{k}" for k in range(len(HELPER_TYPES)))})
  (func (export "run") {"(param " + " ".join(params) + ")" if params else ""} (result {result})
    (local {" ".join(local_types)})
    {body}
    {self.expr(result)}))
""", params


def random_module(seed: int, nan_bits: bool = False) -> tuple[str, list[str]]:
    """The WAT of random module ``seed`` and the parameter types of its ``run`` (see Generator)."""
    return Generator(seed, nan_bits=nan_bits).module()


def random_args(seed: int, params: list[str], nan_bits: bool = False) -> list:
    """Arguments for ``run``: internal values (unsigned ints, floats); for a nan_bits module, the
    last four (its float sources) are bit patterns from NAN_BITS."""
    rng = random.Random(seed * 7919 + 1)
    values = []
    sources = SOURCES if nan_bits else ()
    for t in params[:len(params) - len(sources)]:
        if t == "i32":
            values.append(rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, rng.randrange(1 << 32)]))
        elif t == "i64":
            values.append(rng.choice([0, 1, (1 << 64) - 1, 1 << 63, rng.randrange(1 << 64)]))
        else:
            values.append(rng.choice([0.0, -0.0, 1.5, -2.5, float("inf"), float("nan"), rng.uniform(-1e9, 1e9)]))
    return values + [rng.choice(NAN_BITS[t]) for t in sources]
