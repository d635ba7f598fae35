"""The generated device tree against dtc (it must decompile cleanly) and QEMU's own virt tree."""

import re
import shutil
import subprocess

import pytest

from vmstack.machines.fdt import BoardDescription, virt_device_tree

pytestmark = pytest.mark.skipif(not shutil.which("dtc"), reason="needs dtc (Debian device-tree-compiler)")

# QEMU devices vmstack's board does not have (PCI, flash, platform bus, PMU) and QEMU's cpu-map
NOT_EMULATED = ("/soc/pci@", "/flash@", "/platform-bus@", "/fw-cfg@", "/pmu", "/cpus/cpu-map")


def decompile(dtb: bytes, tmp_path, name: str) -> tuple[str, str]:
    path = tmp_path / name
    path.write_bytes(dtb)
    result = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True,
                            check=True)
    return result.stdout, result.stderr


def node_paths(dts: str) -> set[str]:
    paths, stack = set(), []
    for line in dts.splitlines():
        if match := re.fullmatch(r"\s*([\w,@.+-]+|/) \{", line):
            stack.append(match.group(1))
            paths.add("/" + "/".join(stack[1:]))
        elif re.fullmatch(r"\s*\};", line):
            stack.pop()
    return paths


def warnings(stderr: str) -> set[str]:
    return {match.group(1) for match in re.finditer(r"Warning \((\w+)\)", stderr)}


@pytest.fixture(scope="module")
def qemu_dtb(tmp_path_factory):
    if not shutil.which("qemu-system-riscv64"):
        pytest.skip("needs qemu-system-riscv64 (Debian qemu-system-misc)")
    path = tmp_path_factory.mktemp("qemu") / "virt.dtb"
    subprocess.run(["qemu-system-riscv64", "-machine", f"virt,dumpdtb={path}", "-m", "256M", "-nographic"],
                   capture_output=True, check=True, timeout=60)
    return path.read_bytes()


def test_nodes_match_qemu_virt(tmp_path, qemu_dtb):
    ours, our_warnings = decompile(virt_device_tree(BoardDescription(256 << 20)), tmp_path, "ours.dtb")
    theirs, their_warnings = decompile(qemu_dtb, tmp_path, "qemu.dtb")
    expected = {path for path in node_paths(theirs) if not path.startswith(NOT_EMULATED)}
    assert node_paths(ours) == expected
    assert warnings(our_warnings) <= warnings(their_warnings)
    for prop in ('reg = <0x00 0x80000000 0x00 0x10000000>', 'timebase-frequency = <0x989680>',
                 'compatible = "ns16550a"', 'interrupts-extended = <0x', 'riscv,ndev = <0x60>',
                 'stdout-path = "/soc/serial@10000000"'):
        assert prop in ours and prop in theirs


def test_chosen_bootargs_initrd_and_cpus(tmp_path):
    desc = BoardDescription(512 << 20, harts=2, mmu_type="riscv,sv39", bootargs="console=ttyS0 quiet",
                            initrd=(0x8800_0000, 0x8812_3456))
    dts, _ = decompile(virt_device_tree(desc), tmp_path, "board.dtb")
    assert 'bootargs = "console=ttyS0 quiet"' in dts
    assert "linux,initrd-start = <0x00 0x88000000>" in dts and "linux,initrd-end = <0x00 0x88123456>" in dts
    assert "reg = <0x00 0x80000000 0x00 0x20000000>" in dts
    assert {"/cpus/cpu@0", "/cpus/cpu@1"} <= node_paths(dts) and dts.count('mmu-type = "riscv,sv39"') == 2
