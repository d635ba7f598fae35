"""The project's bare-metal suite (guests/baremetal, riscv-tests style) on vmstack and on QEMU.

Q5: U-mode attempts at mret, sret, csrw satp, csrr mstatus, wfi with TW set, sfence.vma trap as
illegal instructions to M-mode; plus traps and delegation, interrupts, paging and PMP, Sstc and the
envcfg registers, counter enables, mstatus.FS, AMO fault causes and reboot. Each program reports
through HTIF tohost; QEMU (the oracle) must agree that it passes, except where it departs from the spec.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from ..guests.builders import load_recipe

baremetal = load_recipe("baremetal")

pytestmark = pytest.mark.skipif(not shutil.which("riscv64-linux-gnu-gcc"), reason="needs gcc-riscv64-linux-gnu")

BOARDS = {"illegal_in_user": "spike", "delegation": "spike", "paging": "spike", "pmp": "spike",
          "interrupts": "virt", "sstc": "virt", "counters": "virt", "fp_state": "spike", "amo_faults": "spike",
          "amo_store_faults": "spike", "reboot": "virt"}
# Where QEMU 7.2 (the oracle) departs from the spec: the program must then fail there, as QEMU is known to.
QEMU_DEPARTS = {"amo_store_faults": "QEMU 7.2 raises load causes (4, 5, 13) for an AMO whose read faults; "
                                    "the spec (and Spike) raise the store/AMO ones (6, 7, 15)"}


# S-mode payloads run under Debian's OpenSBI (fw_jump) on virt; they print their verdict on the SBI console
SBI_PAYLOADS = ["sbi_timer"]
FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
needs_opensbi = pytest.mark.skipif(not os.path.exists(FW_JUMP), reason="needs Debian's opensbi")


def test_every_program_has_a_board():
    assert sorted([*BOARDS, *SBI_PAYLOADS]) == baremetal.NAMES


def vmstack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmstack", "boot", *args], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_passes_on_vmstack(name):
    result = vmstack("--machine", BOARDS[name], "--bios", "none", "--kernel", str(baremetal.build(name)),
                     "--max-insns", "5000000")
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("qemu-system-riscv64"), reason="needs qemu-system-misc")
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xfail(
    name in QEMU_DEPARTS, reason=QEMU_DEPARTS.get(name, ""), strict=True)) for name in sorted(BOARDS)])
def test_passes_on_qemu(name):
    result = subprocess.run(["qemu-system-riscv64", "-machine", BOARDS[name], "-bios", "none", "-nographic",
                             "-monitor", "none", "-kernel", str(baremetal.build(name))],
                            check=False, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0


def test_failure_status_from_tohost(tmp_path):
    """A program writing (3 << 1) | 1 to tohost ends vmstack with status 3."""
    source = tmp_path / "fails.S"
    source.write_text('#include "test.h"\nTEST_START\nmain: FAIL(3)\ntrap_vector: FAIL(9)\nTEST_DATA\n')
    program = tmp_path / "fails.elf"
    subprocess.run([baremetal.GCC, *baremetal.FLAGS, "-I", str(baremetal.SOURCE_DIR), "-o", str(program),
                    str(source)], check=True)
    result = vmstack("--machine", "spike", "--bios", "none", "--kernel", str(program))
    assert result.returncode == 3 and "tohost reports 3" in result.stderr


def test_no_reboot_ends_the_run_at_the_reboot():
    """QEMU's -no-reboot: the first boot's reboot ends vmstack (status 0), so the second boot's PASS never comes."""
    result = vmstack("--machine", "virt", "--bios", "none", "--kernel", str(baremetal.build("reboot")),
                     "--max-insns", "5000000", "--no-reboot")
    assert result.returncode == 0 and "guest reset after" in result.stderr, result.stderr


def check_sbi_payload(name: str, status: int, console: str) -> None:
    assert status == 0 and f"{name}: PASS" in console, console[-2000:]
    extensions = re.search(r"Boot HART ISA Extensions\s+: (\S+)", console)
    assert extensions and "sstc" in extensions.group(1).split(","), console[-2000:]   # OpenSBI found Sstc


@needs_opensbi
@pytest.mark.parametrize("name", SBI_PAYLOADS)
def test_sbi_payload_on_vmstack(name):
    result = vmstack("--bios", "default", "--kernel", str(baremetal.build(name)), "--max-insns", "30000000")
    check_sbi_payload(name, result.returncode, result.stdout + result.stderr)


@needs_opensbi
@pytest.mark.skipif(not shutil.which("qemu-system-riscv64"), reason="needs qemu-system-misc")
@pytest.mark.parametrize("name", SBI_PAYLOADS)
def test_sbi_payload_on_qemu(name):
    result = subprocess.run(["qemu-system-riscv64", "-machine", "virt", "-bios", FW_JUMP, "-nographic", "-monitor",
                             "none", "-kernel", str(baremetal.build(name))],
                            check=False, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    check_sbi_payload(name, result.returncode, result.stdout + result.stderr)
