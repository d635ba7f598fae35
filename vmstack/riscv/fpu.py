"""IEEE-754 binary32/binary64 arithmetic on raw bit patterns, exact in every rounding mode, as the RISC-V
F and D extensions define it: canonical NaNs, tininess detected after rounding, accrued flags.

Every operation returns ``(result bits, flags)``. Finite operands are taken apart into an exact integer
significand and exponent (value = m * 2**e), the result is computed exactly with integers (a quotient or
square root carries a sticky bit for what it dropped) and ``round_pack`` rounds once. Round-to-nearest
has a fast path (``double_fast``, ``single_fast``) through Python floats, IEEE binary64 arithmetic rounding
to nearest, for normal operands and results, with the inexact flag from an exact test.
"""

from __future__ import annotations

import math
import struct
from typing import NamedTuple

NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
RNE, RTZ, RDN, RUP, RMM = range(5)


class Format(NamedTuple):
    bits: int
    precision: int   # significand bits, the hidden one included
    bias: int
    emax: int

    @property
    def emin(self) -> int:
        return 1 - self.bias

    @property
    def sign(self) -> int:
        return 1 << (self.bits - 1)


SINGLE = Format(32, 24, 127, 127)
DOUBLE = Format(64, 53, 1023, 1023)
CANONICAL_NAN = {32: 0x7FC00000, 64: 0x7FF8000000000000}

ZERO, FINITE, INF, NAN = range(4)


def unpack(fmt: Format, bits: int) -> tuple[int, int, int, int]:
    """(class, sign, m, e) with value (-1)**sign * m * 2**e for FINITE; for NAN, m is 1 when signalling."""
    p = fmt.precision
    sign = bits >> (fmt.bits - 1) & 1
    exp = bits >> (p - 1) & ((1 << (fmt.bits - p)) - 1)
    frac = bits & ((1 << (p - 1)) - 1)
    if exp == (1 << (fmt.bits - p)) - 1:
        if frac:
            return NAN, sign, 0 if frac >> (p - 2) else 1, 0
        return INF, sign, 0, 0
    if exp == 0:
        if frac == 0:
            return ZERO, sign, 0, 0
        return FINITE, sign, frac, fmt.emin - (p - 1)
    return FINITE, sign, frac | 1 << (p - 1), exp - fmt.bias - (p - 1)


def is_signalling(fmt: Format, bits: int) -> bool:
    p = fmt.precision
    exp_all = (1 << (fmt.bits - p)) - 1
    return bits >> (p - 1) & exp_all == exp_all and bits & ((1 << (p - 1)) - 1) != 0 and not bits >> (p - 2) & 1


def is_nan(fmt: Format, bits: int) -> bool:
    p = fmt.precision
    exp_all = (1 << (fmt.bits - p)) - 1
    return bits >> (p - 1) & exp_all == exp_all and bits & ((1 << (p - 1)) - 1) != 0


def _rounds_up(rm: int, negative: int, odd: int, rem: int, half: int) -> bool:
    if rm == RNE:
        return rem > half or (rem == half and odd == 1)
    if rm == RTZ:
        return False
    if rm == RDN:
        return bool(negative)
    if rm == RUP:
        return not negative
    return rem >= half  # RMM


def infinity(fmt: Format, sign: int) -> int:
    return sign << (fmt.bits - 1) | ((1 << (fmt.bits - fmt.precision)) - 1) << (fmt.precision - 1)


def round_pack(fmt: Format, sign: int, m: int, e: int, rm: int) -> tuple[int, int]:
    """Round (-1)**sign * m * 2**e (m > 0) to fmt; return (bits, flags)."""
    p, emin = fmt.precision, fmt.emin
    top = e + m.bit_length() - 1          # exponent of the leading bit
    q = max(top, emin) - (p - 1)          # exponent of the result's last significand bit
    flags = 0
    if e < q:
        shift = q - e
        mant, rem = m >> shift, m & ((1 << shift) - 1)
        if rem:
            flags = NX
            half = 1 << (shift - 1)
            if _rounds_up(rm, sign, mant & 1, rem, half):
                mant += 1
            if top < emin and _tiny_after_rounding(p, sign, m, e, top, rm, emin):
                flags |= UF
    else:
        mant = m << (e - q)
    if mant >> p:
        mant >>= 1
        q += 1
    if mant >> (p - 1):
        exp = q + p - 1
        if exp > fmt.emax:
            return _overflow(fmt, sign, rm), OF | NX
        return sign << (fmt.bits - 1) | (exp + fmt.bias) << (p - 1) | mant & ((1 << (p - 1)) - 1), flags
    return sign << (fmt.bits - 1) | mant, flags


def _tiny_after_rounding(p: int, sign: int, m: int, e: int, top: int, rm: int, emin: int) -> bool:
    """Whether rounding to p bits with an unbounded exponent leaves the value below 2**emin."""
    if top < emin - 1:
        return True
    shift = top - (p - 1) - e
    if shift <= 0:
        return True
    mant, rem = m >> shift, m & ((1 << shift) - 1)
    return not (rem and _rounds_up(rm, sign, mant & 1, rem, 1 << (shift - 1)) and (mant + 1) >> p)


def _overflow(fmt: Format, sign: int, rm: int) -> int:
    to_inf = rm in (RNE, RMM) or (rm == RDN and sign) or (rm == RUP and not sign)
    if to_inf:
        return infinity(fmt, sign)
    return infinity(fmt, sign) - 1


def _nan_result(fmt: Format, *operands: int) -> tuple[int, int]:
    flags = NV if any(is_signalling(fmt, b) for b in operands) else 0
    return CANONICAL_NAN[fmt.bits], flags


def _exact_sum(fmt: Format, rm: int, s1: int, m1: int, e1: int, s2: int, m2: int, e2: int) -> tuple[int, int]:
    e = min(e1, e2)
    total = (-1 if s1 else 1) * (m1 << (e1 - e)) + (-1 if s2 else 1) * (m2 << (e2 - e))
    if total == 0:
        return (fmt.sign if rm == RDN else 0), 0
    return round_pack(fmt, 1 if total < 0 else 0, abs(total), e, rm)


def add(fmt: Format, rm: int, a: int, b: int) -> tuple[int, int]:
    ca, sa, ma, ea = unpack(fmt, a)
    cb, sb, mb, eb = unpack(fmt, b)
    if ca == NAN or cb == NAN:
        return _nan_result(fmt, a, b)
    if ca == INF or cb == INF:
        if ca == INF and cb == INF and sa != sb:
            return CANONICAL_NAN[fmt.bits], NV
        return (a if ca == INF else b), 0
    if ca == ZERO and cb == ZERO:
        if sa == sb:
            return a, 0
        return (fmt.sign if rm == RDN else 0), 0
    if ca == ZERO:
        return b, 0
    if cb == ZERO:
        return a, 0
    return _exact_sum(fmt, rm, sa, ma, ea, sb, mb, eb)


def sub(fmt: Format, rm: int, a: int, b: int) -> tuple[int, int]:
    if is_nan(fmt, b):
        return _nan_result(fmt, a, b)
    return add(fmt, rm, a, b ^ fmt.sign)


def mul(fmt: Format, rm: int, a: int, b: int) -> tuple[int, int]:
    ca, sa, ma, ea = unpack(fmt, a)
    cb, sb, mb, eb = unpack(fmt, b)
    sign = sa ^ sb
    if ca == NAN or cb == NAN:
        return _nan_result(fmt, a, b)
    if ca == INF or cb == INF:
        if ca == ZERO or cb == ZERO:
            return CANONICAL_NAN[fmt.bits], NV
        return infinity(fmt, sign), 0
    if ca == ZERO or cb == ZERO:
        return sign << (fmt.bits - 1), 0
    return round_pack(fmt, sign, ma * mb, ea + eb, rm)


def div(fmt: Format, rm: int, a: int, b: int) -> tuple[int, int]:
    ca, sa, ma, ea = unpack(fmt, a)
    cb, sb, mb, eb = unpack(fmt, b)
    sign = sa ^ sb
    if ca == NAN or cb == NAN:
        return _nan_result(fmt, a, b)
    if ca == INF:
        if cb == INF:
            return CANONICAL_NAN[fmt.bits], NV
        return infinity(fmt, sign), 0
    if cb == INF:
        return sign << (fmt.bits - 1), 0
    if cb == ZERO:
        if ca == ZERO:
            return CANONICAL_NAN[fmt.bits], NV
        return infinity(fmt, sign), DZ
    if ca == ZERO:
        return sign << (fmt.bits - 1), 0
    shift = max(0, fmt.precision + 2 + mb.bit_length() - ma.bit_length())
    q, r = divmod(ma << shift, mb)
    return round_pack(fmt, sign, q << 1 | (r != 0), ea - eb - shift - 1, rm)


def sqrt(fmt: Format, rm: int, a: int) -> tuple[int, int]:
    ca, sa, ma, ea = unpack(fmt, a)
    if ca == NAN:
        return _nan_result(fmt, a)
    if ca == ZERO:
        return a, 0
    if sa:
        return CANONICAL_NAN[fmt.bits], NV
    if ca == INF:
        return a, 0
    if ea & 1:
        ma <<= 1
        ea -= 1
    shift = max(0, 2 * (fmt.precision + 2) - ma.bit_length() + 1) // 2
    scaled = ma << (2 * shift)
    root = math.isqrt(scaled)
    return round_pack(fmt, 0, root << 1 | (root * root != scaled), ea // 2 - shift - 1, rm)


def fused_multiply_add(fmt: Format, rm: int, a: int, b: int, c: int, negate_product: bool,
                       negate_addend: bool) -> tuple[int, int]:
    """(+-)(a * b) (+-) c rounded once (fmadd, fmsub, fnmsub, fnmadd)."""
    ca, sa, ma, ea = unpack(fmt, a)
    cb, sb, mb, eb = unpack(fmt, b)
    cc, sc, mc, ec = unpack(fmt, c)
    sp = sa ^ sb ^ negate_product
    sc ^= negate_addend
    if (ca == INF and cb == ZERO) or (ca == ZERO and cb == INF):
        return CANONICAL_NAN[fmt.bits], NV
    if ca == NAN or cb == NAN or cc == NAN:
        return _nan_result(fmt, a, b, c)
    if ca == INF or cb == INF:
        if cc == INF and sc != sp:
            return CANONICAL_NAN[fmt.bits], NV
        return infinity(fmt, sp), 0
    if cc == INF:
        return infinity(fmt, sc), 0
    if ca == ZERO or cb == ZERO:
        if cc == ZERO:
            if sp == sc:
                return sp << (fmt.bits - 1), 0
            return (fmt.sign if rm == RDN else 0), 0
        return c ^ (fmt.sign if negate_addend else 0), 0
    if cc == ZERO:
        return round_pack(fmt, sp, ma * mb, ea + eb, rm)
    return _exact_sum(fmt, rm, sp, ma * mb, ea + eb, sc, mc, ec)


# ------------------------------------------------------------------ comparisons, min/max, class

_UNPACK_F = {32: struct.Struct("<f"), 64: struct.Struct("<d")}
_PACK_I = {32: struct.Struct("<I"), 64: struct.Struct("<Q")}


def to_float(fmt: Format, bits: int) -> float:
    return _UNPACK_F[fmt.bits].unpack(_PACK_I[fmt.bits].pack(bits))[0]


def compare(fmt: Format, op: str, a: int, b: int) -> tuple[int, int]:
    """feq (quiet), flt and fle (signalling): (0 or 1, flags)."""
    if is_nan(fmt, a) or is_nan(fmt, b):
        signalling = op != "eq" or is_signalling(fmt, a) or is_signalling(fmt, b)
        return 0, NV if signalling else 0
    x, y = to_float(fmt, a), to_float(fmt, b)
    return int(x == y if op == "eq" else x < y if op == "lt" else x <= y), 0


def minmax(fmt: Format, want_max: bool, a: int, b: int) -> tuple[int, int]:
    flags = NV if is_signalling(fmt, a) or is_signalling(fmt, b) else 0
    a_nan, b_nan = is_nan(fmt, a), is_nan(fmt, b)
    if a_nan and b_nan:
        return CANONICAL_NAN[fmt.bits], flags
    if a_nan or b_nan:
        return (b if a_nan else a), flags
    x, y = to_float(fmt, a), to_float(fmt, b)
    if x == y:  # equal values: only the zeros differ, -0 < +0
        a_neg = a >> (fmt.bits - 1)
        return (a if a_neg != want_max else b), flags
    return (a if (x > y) == want_max else b), flags


def classify(fmt: Format, a: int) -> int:
    cls, sign, m, _ = unpack(fmt, a)
    if cls == NAN:
        return 1 << (8 if m else 9)
    if cls == INF:
        return 1 << (0 if sign else 7)
    if cls == ZERO:
        return 1 << (3 if sign else 4)
    subnormal = a >> (fmt.precision - 1) & ((1 << (fmt.bits - fmt.precision)) - 1) == 0
    if sign:
        return 1 << (2 if subnormal else 1)
    return 1 << (5 if subnormal else 6)


# ------------------------------------------------------------------ conversions


def to_int(fmt: Format, rm: int, a: int, bits: int, is_signed: bool) -> tuple[int, int]:
    """fcvt.{w,wu,l,lu}.{s,d}: the integer as an unsigned bits-wide value, saturating; (value, flags)."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)
    mask = (1 << bits) - 1
    cls, sign, m, e = unpack(fmt, a)
    if cls == NAN:
        return hi & mask, NV
    if cls == INF:
        return (lo if sign else hi) & mask, NV
    if cls == ZERO:
        return 0, 0
    flags = 0
    if e >= 0:
        n = m << e
    else:
        n, rem = m >> -e, m & ((1 << -e) - 1)
        if rem:
            flags = NX
            if _rounds_up(rm, sign, n & 1, rem, 1 << (-e - 1)):
                n += 1
    if sign:
        n = -n
    if n < lo or n > hi:
        return (lo if sign else hi) & mask, NV
    return n & mask, flags


def from_int(fmt: Format, rm: int, n: int) -> tuple[int, int]:
    """fcvt.{s,d}.{w,wu,l,lu}: n a Python int already read with the right signedness."""
    if n == 0:
        return 0, 0
    return round_pack(fmt, 1 if n < 0 else 0, abs(n), 0, rm)


def convert(src: Format, dst: Format, rm: int, a: int) -> tuple[int, int]:
    """fcvt.s.d and fcvt.d.s."""
    cls, sign, m, e = unpack(src, a)
    if cls == NAN:
        return CANONICAL_NAN[dst.bits], NV if m else 0
    if cls == INF:
        return infinity(dst, sign), 0
    if cls == ZERO:
        return sign << (dst.bits - 1), 0
    return round_pack(dst, sign, m, e, rm)


# ------------------------------------------------------------------ the fast path: doubles, round to nearest

_D = struct.Struct("<d")
_Q = struct.Struct("<Q")
_EXP = 0x7FF0000000000000
_FRAC = 0x000FFFFFFFFFFFFF
_HIDDEN = 1 << 52


def _exact_multiple(product: int, m: int) -> bool:
    """Whether product == m * 2**k for some k >= 0 (significands of an exact product or quotient)."""
    shift = product.bit_length() - m.bit_length()
    return shift >= 0 and product == m << shift


def double_fast(op: str, a: int, b: int) -> tuple[int, int] | None:
    """a op b (add, sub, mul, div; sqrt ignores b) on double patterns rounded to nearest-even, or None
    when an operand or the result is not a normal number (the exact path handles those)."""
    ea, eb = a & _EXP, b & _EXP
    if not ea or ea == _EXP or ((not eb or eb == _EXP) and op != "sqrt"):
        return None
    x = _D.unpack(_Q.pack(a))[0]
    y = _D.unpack(_Q.pack(b))[0]
    if op == "add" or op == "sub":
        if op == "sub":
            y = -y
        r = x + y
        if r - r != 0.0:        # overflow
            return None
        t = r - x
        exact = (x - (r - t)) + (y - t) == 0.0
        bits = _Q.unpack(_D.pack(r))[0]
    else:
        if op == "mul":
            r = x * y
        elif op == "div":
            r = x / y
        elif x < 0:
            return None
        else:
            r = math.sqrt(x)
        bits = _Q.unpack(_D.pack(r))[0]
        er = bits & _EXP
        if not er or er == _EXP:
            return None
        ma, mr = a & _FRAC | _HIDDEN, bits & _FRAC | _HIDDEN
        if op == "mul":
            product = ma * (b & _FRAC | _HIDDEN)
            exact = product & ((1 << (product.bit_length() - 53)) - 1) == 0
        elif op == "div":
            exact = _exact_multiple(mr * (b & _FRAC | _HIDDEN), ma)
        else:
            exact = _exact_multiple(mr * mr, ma)
    er = bits & _EXP
    if not er or er == _EXP:
        return None
    return bits, 0 if exact else NX


_F = struct.Struct("<f")
_I = struct.Struct("<I")


def single_fast(op: str, a: int, b: int) -> tuple[int, int] | None:
    """As double_fast for singles: computed in double, which holds more than twice a single's precision,
    so rounding that result to single rounds the exact value correctly."""
    ea, eb = a & 0x7F800000, b & 0x7F800000
    if not ea or ea == 0x7F800000 or ((not eb or eb == 0x7F800000) and op != "sqrt"):
        return None
    x = _F.unpack(_I.pack(a))[0]
    y = _F.unpack(_I.pack(b))[0]
    exact = True
    if op == "add" or op == "sub":
        if op == "sub":
            y = -y
        r = x + y
        t = r - x
        exact = (x - (r - t)) + (y - t) == 0.0
    elif op == "mul":
        r = x * y
    elif op == "div":
        r = x / y
    elif x < 0:
        return None
    else:
        r = math.sqrt(x)
    try:
        bits = _I.unpack(_F.pack(r))[0]
    except OverflowError:
        return None
    es = bits & 0x7F800000
    if not es or es == 0x7F800000:
        return None
    if _F.unpack(_I.pack(bits))[0] != r:
        exact = False
    elif op == "div":
        exact = _exact_multiple((bits & 0x7FFFFF | 0x800000) * (b & 0x7FFFFF | 0x800000), a & 0x7FFFFF | 0x800000)
    elif op == "sqrt":
        ms = bits & 0x7FFFFF | 0x800000
        exact = _exact_multiple(ms * ms, a & 0x7FFFFF | 0x800000)
    return bits, 0 if exact else NX
