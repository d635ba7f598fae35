"""Numeric literals of the WebAssembly text format, parsed exactly: integers
with their range rules, and floats (decimal or hexadecimal, `inf`, `nan`,
`nan:0x...`) rounded once, directly to binary32 or binary64.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .numeric import f32_from_bits, f64_from_bits

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_INT_RE = re.compile(rf"^[+-]?(?:0x{_HEX}|{_DEC})$")
_DEC_FLOAT_RE = re.compile(rf"^([+-]?)({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?$")
_HEX_FLOAT_RE = re.compile(rf"^([+-]?)0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?$")
_NAN_RE = re.compile(rf"^([+-]?)nan(?::0x({_HEX}))?$")

FORMATS = {32: (23, 8), 64: (52, 11)}


class LiteralError(ValueError):
    pass


def parse_int(text: str, bits: int, signed_ok: bool = True) -> int:
    """An integer literal for an N-bit immediate, as its unsigned canonical value."""
    if not _INT_RE.match(text):
        raise LiteralError(f"unknown operator or malformed integer {text!r}")
    negative = text.startswith("-")
    body = text.lstrip("+-").replace("_", "")
    value = int(body, 16) if body.startswith("0x") else int(body)
    if negative:
        if not signed_ok or value > 1 << (bits - 1):
            raise LiteralError(f"constant out of range: {text}")
        value = -value
    elif value >= 1 << bits:
        raise LiteralError(f"constant out of range: {text}")
    return value & ((1 << bits) - 1)


def parse_uint(text: str, bits: int = 32) -> int:
    """An unsigned integer (indices, offsets, alignments, lane numbers)."""
    if not re.match(rf"^(?:0x{_HEX}|{_DEC})$", text):
        raise LiteralError(f"malformed unsigned integer {text!r}")
    body = text.replace("_", "")
    value = int(body, 16) if body.startswith("0x") else int(body)
    if value >= 1 << bits:
        raise LiteralError(f"constant out of range: {text}")
    return value


def round_to_bits(value: Fraction, bits: int) -> int:
    """Round a non-negative rational to the nearest binary32/64 (ties to even): its bit pattern."""
    mant_bits, exp_bits = FORMATS[bits]
    bias = (1 << (exp_bits - 1)) - 1
    if value == 0:
        return 0
    e = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** e > value:
        e -= 1
    e = max(e, 1 - bias)  # subnormals share the smallest exponent
    scaled = value / Fraction(2) ** (e - mant_bits)
    m = scaled.numerator // scaled.denominator
    rest = scaled - m
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and m & 1):
        m += 1
    if m >> (mant_bits + 1):
        m >>= 1
        e += 1
    if e > bias:
        return ((1 << exp_bits) - 1) << mant_bits  # overflow: infinity
    if m >> mant_bits == 0:  # subnormal
        return m
    return ((e + bias) << mant_bits) | (m & ((1 << mant_bits) - 1))


def scaled_value(digits: int, base: int, exp: int) -> Fraction:
    """digits * base**exp exactly, or a stand-in far beyond binary64's range either way
    (so absurd exponents stay cheap: they round to zero or overflow all the same)."""
    magnitude = len(str(digits)) + exp if base == 10 else digits.bit_length() + exp
    limit = 800 if base == 10 else 2700  # past 2**±1100, yet exact arithmetic stays cheap
    if digits == 0:
        return Fraction(0)
    if abs(magnitude) <= limit:
        return Fraction(digits) * Fraction(base) ** exp
    return Fraction(1, 1 << 10000) if magnitude < 0 else Fraction(1 << 10000)


def float_bits(text: str, bits: int) -> int:
    """A float literal as the bit pattern of a binary32 or binary64."""
    mant_bits, exp_bits = FORMATS[bits]
    sign_bit = 1 << (bits - 1)
    sign = sign_bit if text.startswith("-") else 0
    body = text.lstrip("+-")
    if body == "inf":
        return sign | (((1 << exp_bits) - 1) << mant_bits)
    m = _NAN_RE.match(text)
    if m:
        payload = int(m.group(2).replace("_", ""), 16) if m.group(2) else 1 << (mant_bits - 1)
        if payload == 0 or payload >> mant_bits:
            raise LiteralError(f"malformed NaN payload {text!r}")
        return sign | (((1 << exp_bits) - 1) << mant_bits) | payload
    m = _DEC_FLOAT_RE.match(text)
    if m:
        whole = m.group(2).replace("_", "")
        frac = (m.group(3) or "").replace("_", "")
        exp = int((m.group(4) or "0").replace("_", ""))
        value = scaled_value(int(whole + frac), 10, exp - len(frac))
    else:
        m = _HEX_FLOAT_RE.match(text)
        if not m:
            raise LiteralError(f"malformed float {text!r}")
        whole = m.group(2).replace("_", "")
        frac = (m.group(3) or "").replace("_", "")
        exp = int((m.group(4) or "0").replace("_", ""))
        value = scaled_value(int(whole + frac, 16), 2, exp - 4 * len(frac))
    rounded = round_to_bits(value, bits)
    if rounded == ((1 << exp_bits) - 1) << mant_bits:
        raise LiteralError(f"constant out of range: {text}")
    return sign | rounded


def parse_f32(text: str) -> float:
    return f32_from_bits(float_bits(text, 32))


def parse_f64(text: str) -> float:
    return f64_from_bits(float_bits(text, 64))
