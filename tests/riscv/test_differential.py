"""The random-instruction differential test: thousands of generated sequences over RV64GC + Zba/Zbb/Zbs,
each one's final registers, fcsr and scratch memory compared bit for bit with qemu-riscv64's."""

from __future__ import annotations

import struct

import pytest

from tests.riscv.harness import build_elf, run_elf, run_qemu
from tests.riscv.random_program import F_AT, FCSR_AT, RECORD, SCRATCH, X_AT, program, sequence_source

PROGRAMS = 15          # ELFs, each a fresh seed, all run by the interpreter
TRANSLATED = 6         # the first of them also run with every block translated at once
SEQUENCES = 200        # sequences per ELF
LENGTH = 20            # instructions per sequence (about)


def describe(expected: bytes, got: bytes) -> list[str]:
    out = []
    if expected[:SCRATCH] != got[:SCRATCH]:
        out.append("scratch memory differs")
    for name, at, count in (("x", X_AT, 32), ("f", F_AT, 32), ("fcsr", FCSR_AT, 1)):
        for i in range(count):
            want, have = (struct.unpack_from("<Q", blob, at + 8 * i)[0] for blob in (expected, got))
            if want != have:
                out.append(f"{name}{i if count > 1 else ''}: qemu {want:#x}, vmstack {have:#x}")
    return out


TIERS = {"translator": 0, "interpreter": 10 ** 9}   # Cpu.hot: entries into a block before translation


@pytest.mark.parametrize(("seed", "tier"), [(seed, "interpreter") for seed in range(PROGRAMS)]
                         + [(seed, "translator") for seed in range(TRANSLATED)])
def test_random_sequences_match_qemu(seed: int, tier: str) -> None:
    source = program(seed, SEQUENCES, LENGTH)
    elf = build_elf(source)
    qemu_status, expected = run_qemu(elf)
    assert qemu_status == 0 and len(expected) == SEQUENCES * RECORD, "qemu-riscv64 did not run the sequences"
    status, got, _ = run_elf(elf, hot=TIERS[tier])
    assert status == 0
    for k in range(SEQUENCES):
        want, have = expected[k * RECORD:(k + 1) * RECORD], got[k * RECORD:(k + 1) * RECORD]
        if want != have:
            pytest.fail(f"sequence {k} of seed {seed} differs ({tier}):\n{sequence_source(source, k)}\n"
                        + "\n".join(describe(want, have)))
