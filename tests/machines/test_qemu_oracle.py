"""What the console must show, as qemu-system-riscv64 (the oracle) shows it for Debian's firmware."""

import os
import shutil

import pytest

from .console import FW_JUMP, UBOOT_SMODE, Console, qemu_virt

pytestmark = pytest.mark.skipif(not shutil.which("qemu-system-riscv64") or not os.path.exists(FW_JUMP),
                                reason="needs qemu-system-misc and opensbi")


def test_opensbi_banner():
    with Console(qemu_virt()) as console:
        assert console.expect(b"Domain0 Next Address      : 0x0000000080200000", 30), console.transcript
        assert b"OpenSBI v" in console.transcript
        assert b"Platform Name             : riscv-virtio,qemu" in console.transcript


@pytest.mark.skipif(not os.path.exists(UBOOT_SMODE), reason="needs u-boot-qemu")
def test_uboot_prompt_answers_version():
    with Console(qemu_virt("-kernel", UBOOT_SMODE)) as console:
        assert console.expect(b"=> ", 60), console.transcript
        console.type(b"version\n")
        assert console.expect(b"riscv64-linux-gnu-gcc", 30), console.transcript
        assert b"U-Boot 20" in console.transcript.split(b"version", 1)[1]
