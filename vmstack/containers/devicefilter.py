"""cgroup v2 device rules: linux.resources.devices compiled into an eBPF program of type
BPF_PROG_TYPE_CGROUP_DEVICE, loaded with bpf(2) and attached to the container's cgroup directory
(v2 has no devices.allow file: the kernel asks the program at every open and mknod of a device node).

The rules keep their cgroup v1 meaning (as runc's emulator of the v1 controller gives them): they are
first reduced, the way the kernel's v1 controller takes writes to devices.allow and devices.deny, to a
default (allow or deny everything: a new cgroup allows, an `a` rule resets) and a list of exceptions
to it; a rule agreeing with the default removes the exception with the same type and numbers (those
access letters), one disagreeing adds to it. Then under deny-by-default an access is allowed when an
exception covers it whole (a device opened rw under an `r` exception is not), and under
allow-by-default denied when it shares a letter with one. Each exception becomes a few instructions
that jump to the next one's on a mismatch; the program ends with the default."""

from __future__ import annotations

import ctypes
import os
import struct

from vmstack.containers import libc

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # the attach type
BPF_F_ALLOW_MULTI = 2  # the programs of the cgroup and of its ancestors must all allow
DEVICE_TYPES = {"c": 2, "b": 1}  # BPF_DEVCG_DEV_CHAR, BPF_DEVCG_DEV_BLOCK
ACCESS_BITS = {"m": 1, "r": 2, "w": 4}  # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

# eBPF opcodes (linux/bpf.h, linux/bpf_common.h)
LDX_MEM_W = 0x61  # dst = *(u32 *)(src + off)
ALU64_AND_K = 0x57
ALU64_RSH_K = 0x77
MOV64_X = 0xBF
MOV64_K = 0xB7
JNE_K = 0x55  # if dst != imm: pc += off
JEQ_K = 0x15
EXIT = 0x95
R0, R1, R2, R3, R4, R5, R6 = range(7)  # r0 result, r1 the context, r2-r6 scratch


class DeviceFilterError(Exception):
    """A rule cannot be compiled, or the kernel refused the program."""


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One struct bpf_insn: opcode, dst and src registers, 16-bit offset, 32-bit immediate."""
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


def _access_mask(access: str) -> int:
    mask = 0
    for letter in access or "rwm":
        if letter not in ACCESS_BITS:
            raise DeviceFilterError(f"invalid device access {access!r}")
        mask |= ACCESS_BITS[letter]
    return mask


def reduce_rules(rules: list[dict[str, Any]]) -> tuple[bool, dict[tuple[int, int, int], int]]:
    """The rules as v1 keeps them: (allow by default, {(device type, major, minor): access mask} of the
    exceptions), -1 standing for any major or minor."""
    default_allow, exceptions = True, {}
    for rule in rules:
        kind, allow = rule.get("type") or "a", bool(rule.get("allow"))
        if kind == "a":
            default_allow, exceptions = allow, {}
            continue
        if kind not in DEVICE_TYPES:
            raise DeviceFilterError(f"invalid device type {kind!r}")
        key = (DEVICE_TYPES[kind], *(-1 if rule.get(n) is None else rule[n] for n in ("major", "minor")))
        mask = _access_mask(rule.get("access") or "")
        if allow == default_allow:
            left = exceptions.pop(key, 0) & ~mask
            if left:
                exceptions[key] = left
        else:
            exceptions[key] = exceptions.get(key, 0) | mask
    return default_allow, exceptions


def _exception_block(key: tuple[int, int, int], mask: int, default_allow: bool) -> list[tuple[int, int, int, bool]]:
    """An exception's instructions as (code, dst, imm, jumps to the next exception on a mismatch)."""
    kind, major, minor = key
    block = [(JNE_K, R3, kind, True)]
    block += [(JNE_K, register, number, True) for register, number in ((R5, major), (R6, minor)) if number != -1]
    # an allow exception: no access bit asked outside its mask; a deny exception: some bit in it
    block += [(MOV64_X, R2, 0, False), (ALU64_AND_K, R2, mask if default_allow else ~mask & 0x7, False),
              (JEQ_K if default_allow else JNE_K, R2, 0, True),
              (MOV64_K, R0, 0 if default_allow else 1, False), (EXIT, 0, 0, False)]
    return block


def compile_rules(rules: list[dict[str, Any]]) -> bytes:
    """The program for OCI device rules (dicts with allow, type, major, minor, access)."""
    default_allow, exceptions = reduce_rules(rules)
    program = [_insn(LDX_MEM_W, R3, R1, 0),  # access_type: access << 16 | device type
               _insn(MOV64_X, R4, R3), _insn(ALU64_RSH_K, R4, imm=16), _insn(ALU64_AND_K, R3, imm=0xFFFF),
               _insn(LDX_MEM_W, R5, R1, 4), _insn(LDX_MEM_W, R6, R1, 8)]  # major, minor
    for key, mask in exceptions.items():
        block = _exception_block(key, mask, default_allow)
        for index, (code, dst, imm, to_next) in enumerate(block):
            src = R4 if code == MOV64_X else 0
            program.append(_insn(code, dst, src, len(block) - index - 1 if to_next else 0, imm))
    program += [_insn(MOV64_K, R0, imm=int(default_allow)), _insn(EXIT)]  # no exception matched
    return b"".join(program)


def load(program: bytes) -> int:
    """Load a device program into the kernel: its fd (the kernel's verifier log in the error)."""
    code = ctypes.create_string_buffer(program, len(program))
    license_ = ctypes.create_string_buffer(b"MIT")
    log = ctypes.create_string_buffer(1 << 16)
    attr = ctypes.create_string_buffer(128)  # union bpf_attr, the BPF_PROG_LOAD member
    struct.pack_into("<IIQQIIQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(program) // 8,
                     ctypes.addressof(code), ctypes.addressof(license_), 1, len(log), ctypes.addressof(log))
    struct.pack_into("<I", attr, 68, BPF_CGROUP_DEVICE)  # expected_attach_type
    try:
        return libc.bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")
    except OSError as error:
        verifier = log.value.decode(errors="replace").strip().splitlines()
        raise DeviceFilterError(f"loading the device filter: {error.strerror}"
                                f"{': ' + verifier[-1] if verifier else ''}") from None


def attached(target: int) -> list[int]:
    """The ids of the device programs attached to the cgroup open at fd `target` itself."""
    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(struct.pack("<IIIIQI", target, BPF_CGROUP_DEVICE, 0, 0,
                                                   ctypes.addressof(ids), len(ids)), 40)
    libc.bpf(BPF_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY)")
    return list(ids[:struct.unpack_from("<I", attr, 24)[0]])


def attach(directory: str, rules: list[dict[str, Any]]) -> None:
    """Compile `rules`, load them and attach the program to the v2 cgroup `directory`, in place of the
    device programs attached there before (`update` gives new rules)."""
    program = load(compile_rules(rules))
    try:
        target = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            before = attached(target)
            libc.bpf(BPF_PROG_ATTACH, ctypes.create_string_buffer(struct.pack(
                "<IIII", target, program, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), 32), "bpf(BPF_PROG_ATTACH)")
            for old_id in before:  # after the new one is in: no moment without a filter
                old = libc.bpf(BPF_PROG_GET_FD_BY_ID, ctypes.create_string_buffer(struct.pack("<I", old_id), 16),
                               "bpf(BPF_PROG_GET_FD_BY_ID)")
                try:
                    libc.bpf(BPF_PROG_DETACH, ctypes.create_string_buffer(struct.pack(
                        "<III", target, old, BPF_CGROUP_DEVICE), 16), "bpf(BPF_PROG_DETACH)")
                finally:
                    os.close(old)
        finally:
            os.close(target)
    except OSError as error:
        raise DeviceFilterError(f"attaching the device filter to {directory}: {error.strerror}") from None
    finally:
        os.close(program)  # the attachment keeps the program
