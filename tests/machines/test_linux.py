"""The project's Linux kernel (guests/kernel, built once and cached) booting to our /init.

/init prints a line, reads the first sector of the virtio-blk disk, stamps the second, reads the
virtio-rng (/dev/hwrng), writes a line on the virtio console (/dev/hvc1) and powers off; the test checks
the console, the virtio console's output file and the disk image afterwards. qemu-system-riscv64 is
the oracle.
"""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from ..guests.builders import load_recipe
from .console import FW_JUMP, Console, qemu_virt

kernel_recipe = load_recipe("kernel")

pytestmark = pytest.mark.skipif(
    not (os.path.exists(FW_JUMP) and kernel_recipe.LINUX_TARBALL.exists() and shutil.which("riscv64-linux-gnu-gcc")),
    reason="needs opensbi, linux-source-6.1 and gcc-riscv64-linux-gnu")

GREETING = b"the test wrote this sector"
BOOTARGS = "console=ttyS0 earlycon=sbi panic=-1"


@pytest.fixture(scope="module")
def guest():
    return kernel_recipe.kernel_image(), kernel_recipe.initramfs()


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes((GREETING + b"\n").ljust(512, b"\0") + bytes(512 * 7))
    return path


def check_boot(console: Console, disk: Path, virtio_console: Path, timeout: float) -> None:
    assert console.expect(b"init: hello from vmstack's /init", timeout), console.transcript[-3000:]
    assert console.expect(b"init: done, powering off", 60), console.transcript[-3000:]
    assert b"init: disk says: " + GREETING in console.transcript
    assert b"Linux version 6.1" in console.transcript
    assert b"riscv-timer: Timer interrupt in S-mode is available via sstc extension" in console.transcript
    assert console.wait(60) == 0
    assert disk.read_bytes()[512:512 + 22] == b"vmstack-init was here\n"
    random = re.search(rb"init: hwrng gave 32 bytes:((?: [0-9a-f]{2}){32})\r?\n", console.transcript)
    assert random, console.transcript[-3000:]
    assert len(set(random.group(1).split())) > 8           # 32 bytes from the host's random source
    assert b"init: virtio console written" in console.transcript
    assert virtio_console.read_bytes() == b"init: hello on the virtio console\r\n"    # through the hvc tty


@pytest.mark.skipif(not shutil.which("qemu-system-riscv64"), reason="needs qemu-system-misc")
def test_boots_to_init_on_qemu(guest, disk, tmp_path):
    image, initrd = guest
    output = tmp_path / "virtio-console.txt"
    command = qemu_virt("-kernel", str(image), "-initrd", str(initrd), "-append", BOOTARGS, "-no-reboot",
                        "-drive", f"file={disk},format=raw,if=none,id=hd0", "-device", "virtio-blk-device,drive=hd0",
                        "-device", "virtio-rng-device", "-device", "virtio-serial-device",
                        "-chardev", f"file,id=vc0,path={output}", "-device", "virtconsole,chardev=vc0")
    with Console(command) as console:
        check_boot(console, disk, output, 120)


def test_boots_to_init_on_vmstack(guest, disk, tmp_path):
    """The same boot on vmstack (about 72 million guest instructions; minutes, not seconds, in Python)."""
    image, initrd = guest
    output = tmp_path / "virtio-console.txt"
    command = [sys.executable, "-m", "vmstack", "boot", "--bios", "default", "--kernel", str(image),
               "--initrd", str(initrd), "--append", BOOTARGS, "--drive", str(disk), "--max-insns", "400000000",
               "--device", "virtio-rng-device", "--device", f"virtconsole,path={output}", "--no-reboot"]
    with Console(command) as console:
        check_boot(console, disk, output, 900)
