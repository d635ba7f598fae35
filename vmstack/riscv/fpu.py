"""IEEE-754 binary32/binary64 arithmetic on raw bit patterns, exact in every rounding mode, as the RISC-V
F and D extensions define it: canonical NaNs, tininess detected after rounding, accrued flags.

Every operation returns ``(result bits, flags)``. Finite operands are taken apart into an exact integer
significand and exponent (value = m * 2**e), the result is computed exactly with integers (a quotient or
square root carries a sticky bit for what it dropped) and ``round_pack`` rounds once. Round-to-nearest
has a fast path (``FAST``) through Python floats, IEEE binary64 arithmetic rounding to nearest, for
normal operands and results, with the inexact flag from an exact test.
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

_MAGNITUDE = {32: 0x7FFFFFFF, 64: 0x7FFFFFFFFFFFFFFF}


def _order_key(fmt: Format, bits: int) -> int:
    """An integer ordered as the (non-NaN) value: the magnitude, negated when the sign is set; -0 and
    +0 both 0."""
    magnitude = bits & _MAGNITUDE[fmt.bits]
    return magnitude if bits == magnitude else -magnitude


def compare(fmt: Format, op: str, a: int, b: int) -> tuple[int, int]:
    """feq (quiet), flt and fle (signalling): (0 or 1, flags)."""
    if is_nan(fmt, a) or is_nan(fmt, b):
        signalling = op != "eq" or is_signalling(fmt, a) or is_signalling(fmt, b)
        return 0, NV if signalling else 0
    ka, kb = _order_key(fmt, a), _order_key(fmt, b)
    return (1 if (ka == kb if op == "eq" else ka < kb if op == "lt" else ka <= kb) else 0), 0


def minmax(fmt: Format, want_max: bool, a: int, b: int) -> tuple[int, int]:
    """fmin/fmax: a NaN operand yields the other one (two NaNs the canonical NaN), -0 < +0."""
    flags = NV if is_signalling(fmt, a) or is_signalling(fmt, b) else 0
    a_nan, b_nan = is_nan(fmt, a), is_nan(fmt, b)
    if a_nan and b_nan:
        return CANONICAL_NAN[fmt.bits], flags
    if a_nan or b_nan:
        return (b if a_nan else a), flags
    ka, kb = _order_key(fmt, a), _order_key(fmt, b)
    if ka == kb:  # equal values: only the zeros differ
        return (a if (a >> (fmt.bits - 1)) != want_max else b), flags
    return (a if (ka > kb) == want_max else b), flags


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


# ------------------------------------------------------------------ the fast path: round to nearest-even
#
# FAST[fmt.bits][op](a, b) computes with Python floats (IEEE binary64, round to nearest-even) when the
# operands and the result are normal numbers: it returns the result's bits, plus INEXACT (bit 64) when
# rounding lost something, or -1 to send the operation to the exact path. Singles are computed in
# double, which holds more than twice their precision, so rounding that to single rounds once.

INEXACT = 1 << 64
_DD = struct.Struct("<dd")
_QQ = struct.Struct("<QQ")
_D = struct.Struct("<d")
_Q = struct.Struct("<Q")
_FF = struct.Struct("<ff")
_II = struct.Struct("<II")
_F = struct.Struct("<f")
_I = struct.Struct("<I")


def _exact_multiple(product: int, m: int) -> bool:
    """Whether product == m * 2**k for some k >= 0 (significands of an exact product or quotient)."""
    shift = product.bit_length() - m.bit_length()
    return shift >= 0 and product == m << shift


def _fast_ops(fmt: Format) -> dict:
    p = fmt.precision
    exp_mask = ((1 << (fmt.bits - p)) - 1) << (p - 1)
    frac, hidden = (1 << (p - 1)) - 1, 1 << (p - 1)
    pair_float, pair_bits = (_DD, _QQ) if fmt is DOUBLE else (_FF, _II)
    one_float, one_bits = (_D, _Q) if fmt is DOUBLE else (_F, _I)
    to_floats, from_float = (lambda a, b: pair_float.unpack(pair_bits.pack(a, b))), one_float.pack
    to_bits = one_bits.unpack
    single = fmt is SINGLE

    def result(r: float) -> int:
        """The bits of r rounded to fmt, or -1 unless normal and at least twice the smallest normal (below
        that, r may have been rounded as a subnormal, and tininess is judged on the unbounded rounding)."""
        try:
            bits = to_bits(from_float(r))[0]
        except OverflowError:
            return -1
        e = bits & exp_mask
        return -1 if e <= hidden or e == exp_mask else bits

    def add(a: int, b: int) -> int:
        ea, eb = a & exp_mask, b & exp_mask
        if not ea or not eb or ea == exp_mask or eb == exp_mask:
            return -1
        x, y = to_floats(a, b)
        r = x + y
        bits = result(r)
        if bits < 0:
            return bits
        t = r - x
        exact = (x - (r - t)) + (y - t) == 0.0 and (not single or to_floats(bits, 0)[0] == r)
        return bits if exact else bits | INEXACT

    def sub(a: int, b: int) -> int:
        return add(a, b ^ fmt.sign)

    def mul(a: int, b: int) -> int:
        ea, eb = a & exp_mask, b & exp_mask
        if not ea or not eb or ea == exp_mask or eb == exp_mask:
            return -1
        x, y = to_floats(a, b)
        bits = result(x * y)
        if bits < 0:
            return bits
        product = (a & frac | hidden) * (b & frac | hidden)
        exact = not product & ((1 << (product.bit_length() - p)) - 1)
        return bits if exact else bits | INEXACT

    def div(a: int, b: int) -> int:
        ea, eb = a & exp_mask, b & exp_mask
        if not ea or not eb or ea == exp_mask or eb == exp_mask:
            return -1
        x, y = to_floats(a, b)
        bits = result(x / y)
        if bits < 0:
            return bits
        exact = _exact_multiple((bits & frac | hidden) * (b & frac | hidden), a & frac | hidden)
        return bits if exact else bits | INEXACT

    def sqrt_(a: int, _: int) -> int:
        ea = a & exp_mask
        if not ea or ea == exp_mask or a & fmt.sign:
            return -1
        bits = result(math.sqrt(to_floats(a, 0)[0]))
        if bits < 0:
            return bits
        root = bits & frac | hidden
        return bits if _exact_multiple(root * root, a & frac | hidden) else bits | INEXACT

    return {"add": add, "sub": sub, "mul": mul, "div": div, "sqrt": sqrt_}


FAST = {32: _fast_ops(SINGLE)}   # doubles: one-call helpers of their own (user_isa.FLOAT_HELPERS)
