"""`vmstack boot` with Debian's firmware: the console must show what QEMU's shows; bad input fails cleanly."""

import os
import re
import subprocess
import sys

import pytest

from .console import FW_JUMP, UBOOT_SMODE, Console, qemu_virt

needs_opensbi = pytest.mark.skipif(not os.path.exists(FW_JUMP), reason="needs Debian's opensbi")
BANNER_END = b"Boot HART MEDELEG"


def vmstack_boot(*args: str) -> list[str]:
    return [sys.executable, "-m", "vmstack", "boot", *args]


def banner_fields(transcript: bytes) -> dict[str, str]:
    text = transcript.decode(errors="replace")
    return {key.strip(): value.strip() for key, value in re.findall(r"^([A-Z][\w ]+?)\s+: (.*?)\r?$", text, re.MULTILINE)}


@needs_opensbi
def test_opensbi_banner_as_on_qemu():
    with Console(vmstack_boot("--bios", "default", "--max-insns", "60000000")) as ours:
        assert ours.expect_line(BANNER_END, 240), ours.transcript
    with Console(qemu_virt()) as theirs:
        assert theirs.expect_line(BANNER_END, 60)
    our_fields, their_fields = banner_fields(ours.transcript), banner_fields(theirs.transcript)
    assert b"OpenSBI v1." in ours.transcript
    assert set(our_fields) == set(their_fields)
    # the board as the firmware found it (QEMU has the H extension, so the ISA and delegations differ)
    for key in ("Platform IPI Device", "Platform Timer Device", "Platform Console Device", "Platform Reboot Device",
                "Platform Shutdown Device", "Firmware Base", "Domain0 Next Address", "Domain0 Next Arg1",
                "Domain0 Next Mode", "Boot HART Priv Version", "Boot HART PMP Count",
                "Domain0 Region00", "Domain0 Region01", "Domain0 Region02"):
        assert our_fields[key] == their_fields[key], key


@needs_opensbi
@pytest.mark.skipif(not os.path.exists(UBOOT_SMODE), reason="needs Debian's u-boot-qemu")
def test_uboot_prompt_answers_version():
    with Console(vmstack_boot("--bios", "default", "--kernel", UBOOT_SMODE, "--max-insns", "200000000")) as ours:
        assert ours.expect(b"=> ", 400), ours.transcript[-2000:]
        ours.type(b"version\n")
        assert ours.expect(b"riscv64-linux-gnu-gcc", 120), ours.transcript[-2000:]
        assert b"U-Boot 20" in ours.transcript.split(b"version", 1)[1]


@pytest.mark.parametrize("args, message", [
    (["--bios", "/nonexistent/fw.bin"], "firmware /nonexistent/fw.bin: No such file or directory"),
    (["--bios", "none", "--kernel", "/nonexistent/Image"], "kernel /nonexistent/Image: No such file or directory"),
    (["--bios", "none", "--kernel", __file__, "--memory", "1M"], "--memory 1M is too little"),
    (["--bios", "none", "--kernel", __file__, "--drive", "/nonexistent.img"], "--drive /nonexistent.img"),
    (["--bios", "none"], "nothing to run"),
    (["--bios", "none", "--kernel", __file__, "--net", "bogus"], "expected tap:NAME or none"),
    (["--bios", "none", "--kernel", __file__, "--device", "bogus"], "--device bogus: unknown device"),
    (["--bios", "none", "--kernel", __file__, "--device", "virtio-rng-device,path=x"], "unknown option 'path=x'"),
    (["--bios", "none", "--kernel", __file__, "--device", "virtconsole,path=/nonexistent/out"],
     "--device virtconsole,path=/nonexistent/out: No such file or directory"),
    (["--bios", "none", "--kernel", __file__, "--serial", "bogus"], "--serial bogus: expected one of stdio, none"),
])
def test_bad_input_one_line(args, message):
    result = subprocess.run(vmstack_boot(*args), check=False, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_garbage_kernel_reports_the_guest_crash(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff" * 4096)
    result = subprocess.run(vmstack_boot("--bios", "none", "--kernel", str(garbage), "--max-insns", "100000"),
                            check=False, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 134
    assert "trap cause 0x2 at pc 0x80000000" in result.stderr and "Traceback" not in result.stderr
