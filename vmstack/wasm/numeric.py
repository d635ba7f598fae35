"""Scalar numeric semantics of WebAssembly (i32, i64, f32, f64).

Representation (see module.py): integers are unsigned canonical Python ints;
f32 and f64 are Python floats. An f32 NaN keeps its full bit pattern, signalling
or quiet: its 23-bit mantissa sits in the top 23 bits of the double's 52-bit
mantissa (shifted left by 29) and the sign is kept, so neg/abs/copysign and
loads/stores preserve payloads exactly.
"""

from __future__ import annotations

import struct

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")


def f64_from_bits(bits: int) -> float:
    return _F64.unpack(_U64.pack(bits))[0]


def f64_to_bits(value: float) -> int:
    return _U64.unpack(_F64.pack(value))[0]


def f32_from_bits(bits: int) -> float:
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x007FFFFF:
        sign = (bits >> 31) << 63
        return f64_from_bits(sign | (0x7FF << 52) | ((bits & 0x007FFFFF) << 29))
    return _F32.unpack(_U32.pack(bits))[0]


def f32_to_bits(value: float) -> int:
    if value != value:
        bits = f64_to_bits(value)
        mantissa = (bits >> 29) & 0x007FFFFF
        return ((bits >> 63) << 31) | 0x7F800000 | (mantissa or 0x00400000)
    return _U32.unpack(_F32.pack(value))[0]
