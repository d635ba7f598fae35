"""Benchmark the system VM: time for a boot to reach a console milestone, vmstack versus QEMU.

Milestones: OpenSBI's banner done (fw_jump.bin alone), U-Boot's `=>` prompt (qemu-riscv64_smode),
and, when the kernel recipe is built, Linux at our /init. For each: wall seconds under
qemu-system-riscv64 and under vmstack (through its Python API, so the guest instructions retired
are counted too), the ratio, and vmstack's guest MIPS. Prints a Markdown table.

    python3 bench/boot_system.py [--milestones opensbi,uboot,linux]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "guests" / "kernel")]

from vmstack.machines.virt import BoardConfig, Machine

FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
INIT_LINE = b"init: hello from vmstack's /init"


def milestones() -> dict[str, tuple[dict, bytes]]:
    import build as kernel_recipe

    table = {"opensbi": ({}, b"Boot HART MEDELEG"), "uboot": ({"kernel": UBOOT}, b"=> ")}
    image, initrd = kernel_recipe.kernel_image(), kernel_recipe.initramfs()   # the current recipe's, built if absent
    table["linux"] = ({"kernel": str(image), "initrd": str(initrd), "append": "console=ttyS0"}, INIT_LINE)
    return table


def time_qemu(options: dict, marker: bytes) -> float:
    command = ["qemu-system-riscv64", "-machine", "virt", "-m", "256M", "-nographic", "-monitor", "none",
               "-bios", FW_JUMP]
    for key in ("kernel", "initrd", "append"):
        if key in options:
            command += [f"-{key}", options[key]]
    start = time.monotonic()
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as qemu:
        seen = b""
        while marker not in seen:
            chunk = qemu.stdout.read1(4096)
            if not chunk:
                break
            seen += chunk
        elapsed = time.monotonic() - start
        qemu.kill()
    return elapsed


def time_vmstack(options: dict, marker: bytes) -> tuple[float, int]:
    seen = bytearray()
    machine: Machine | None = None

    def console(data: bytes) -> None:
        seen.extend(data)
        if marker in seen[-len(marker) - len(data):]:
            machine.power_event = ("poweroff", 0)
            machine.cpu.stop = True

    start = time.monotonic()
    machine = Machine(BoardConfig(bios=FW_JUMP, max_insns=2_000_000_000, **options), console)
    machine.run()
    return time.monotonic() - start, machine.cpu.instret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--milestones", default="opensbi,uboot,linux")
    wanted = parser.parse_args().milestones.split(",")
    print("| milestone | qemu-system-riscv64 s | vmstack s | ratio | guest instructions | vmstack MIPS |")
    print("|---|---|---|---|---|---|")
    for name, (options, marker) in milestones().items():
        if name not in wanted:
            continue
        qemu = time_qemu(options, marker)
        ours, instructions = time_vmstack(options, marker)
        print(f"| {name} | {qemu:.2f} | {ours:.1f} | {ours / qemu:.0f}x | {instructions / 1e6:.1f} M | "
              f"{instructions / ours / 1e6:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
