"""The flattened device tree of a configured `virt` board (built with the `fdt` library).

The tree follows QEMU's virt machine node for node where vmstack has the device (memory, cpus with
their interrupt controllers, CLINT, PLIC, UART, eight virtio-mmio slots, the test syscon with its
poweroff and reboot nodes, the goldfish RTC) and adds /chosen with bootargs, the initrd and
stdout-path, so that unmodified OpenSBI, U-Boot and Linux find the board as they would on QEMU.
"""

from __future__ import annotations

from dataclasses import dataclass

import fdt

from ..devices.clint import CLINT_SIZE, TIMEBASE_FREQUENCY
from ..devices.plic import PLIC_SIZE
from ..devices.rtc import RTC_SIZE
from ..devices.syscon import FINISHER_PASS, FINISHER_RESET, SYSCON_SIZE
from ..devices.virtio_mmio import VIRTIO_MMIO_SIZE
from . import virt_map as board

PHANDLE_PLIC, PHANDLE_TEST = 0x100, 0x101


def _phandle_intc(hart: int) -> int:
    return 0x10 + hart


@dataclass(frozen=True)
class BoardDescription:
    """What the device tree tells the guest about the board."""

    memory_size: int
    harts: int = 1
    isa: str = "rv64imafdc_zicsr_zifencei"
    mmu_type: str = "riscv,sv48"
    bootargs: str = ""
    initrd: tuple[int, int] | None = None      # start and end physical addresses


def _cells(value: int) -> tuple[int, int]:
    return value >> 32, value & 0xFFFFFFFF


def _reg(base: int, size: int) -> fdt.PropWords:
    return fdt.PropWords("reg", *_cells(base), *_cells(size))


def _node(name: str, *props: fdt.Property | fdt.Node) -> fdt.Node:
    node = fdt.Node(name)
    for prop in props:
        node.append(prop)
    return node


def _device(name: str, base: int, size: int, compatible: tuple[str, ...], irq: int | None,
            *extra: fdt.Property) -> fdt.Node:
    props = [_reg(base, size), fdt.PropStrings("compatible", *compatible), *extra]
    if irq is not None:
        props += [fdt.PropWords("interrupts", irq), fdt.PropWords("interrupt-parent", PHANDLE_PLIC)]
    return _node(f"{name}@{base:x}", *props)


def _cpus(desc: BoardDescription) -> fdt.Node:
    cpus = _node("cpus", fdt.PropWords("#address-cells", 1), fdt.PropWords("#size-cells", 0),
                 fdt.PropWords("timebase-frequency", TIMEBASE_FREQUENCY))
    for hart in range(desc.harts):
        intc = _node("interrupt-controller", fdt.PropWords("#interrupt-cells", 1),
                     fdt.Property("interrupt-controller"), fdt.PropStrings("compatible", "riscv,cpu-intc"),
                     fdt.PropWords("phandle", _phandle_intc(hart)))
        cpus.append(_node(f"cpu@{hart:x}", fdt.PropStrings("device_type", "cpu"), fdt.PropWords("reg", hart),
                          fdt.PropStrings("status", "okay"), fdt.PropStrings("compatible", "riscv"),
                          fdt.PropStrings("riscv,isa", desc.isa), fdt.PropStrings("mmu-type", desc.mmu_type),
                          intc))
    return cpus


def _soc(desc: BoardDescription) -> fdt.Node:
    def per_hart(*irqs: int) -> list[int]:
        return [cell for hart in range(desc.harts) for irq in irqs for cell in (_phandle_intc(hart), irq)]

    soc = _node("soc", fdt.PropWords("#address-cells", 2), fdt.PropWords("#size-cells", 2),
                fdt.PropStrings("compatible", "simple-bus"), fdt.Property("ranges"))
    soc.append(_device("rtc", board.RTC, RTC_SIZE, ("google,goldfish-rtc",), board.RTC_IRQ))
    soc.append(_device("serial", board.UART0, board.UART_SIZE, ("ns16550a",), board.UART0_IRQ,
                       fdt.PropWords("clock-frequency", board.UART_CLOCK)))
    soc.append(_device("test", board.TEST_SYSCON, SYSCON_SIZE, ("sifive,test1", "sifive,test0", "syscon"),
                       None, fdt.PropWords("phandle", PHANDLE_TEST)))
    for slot in reversed(range(board.VIRTIO_SLOTS)):   # QEMU lists them last first; Linux probes in order
        soc.append(_device("virtio_mmio", board.virtio_slot(slot), VIRTIO_MMIO_SIZE, ("virtio,mmio",),
                           board.VIRTIO_IRQ_BASE + slot))
    soc.append(_device("plic", board.PLIC, PLIC_SIZE, ("sifive,plic-1.0.0", "riscv,plic0"), None,
                       fdt.PropWords("phandle", PHANDLE_PLIC), fdt.PropWords("riscv,ndev", board.PLIC_SOURCES),
                       fdt.PropWords("interrupts-extended", *per_hart(board.IRQ_M_EXT, board.IRQ_S_EXT)),
                       fdt.Property("interrupt-controller"), fdt.PropWords("#address-cells", 0),
                       fdt.PropWords("#interrupt-cells", 1)))
    soc.append(_device("clint", board.CLINT, CLINT_SIZE, ("sifive,clint0", "riscv,clint0"), None,
                       fdt.PropWords("interrupts-extended", *per_hart(board.IRQ_M_SOFT, board.IRQ_M_TIMER))))
    return soc


def _chosen(desc: BoardDescription) -> fdt.Node:
    chosen = _node("chosen", fdt.PropStrings("stdout-path", f"/soc/serial@{board.UART0:x}"))
    if desc.bootargs:
        chosen.append(fdt.PropStrings("bootargs", desc.bootargs))
    if desc.initrd is not None:
        start, end = desc.initrd
        chosen.append(fdt.PropWords("linux,initrd-start", *_cells(start)))
        chosen.append(fdt.PropWords("linux,initrd-end", *_cells(end)))
    return chosen


def virt_device_tree(desc: BoardDescription) -> bytes:
    """The DTB (version 17) describing the board."""
    tree = fdt.FDT()
    for prop in (fdt.PropWords("#address-cells", 2), fdt.PropWords("#size-cells", 2),
                 fdt.PropStrings("compatible", "riscv-virtio"), fdt.PropStrings("model", "riscv-virtio,vmstack")):
        tree.root.append(prop)
    tree.root.append(_chosen(desc))
    for value, name, compatible in ((FINISHER_PASS, "poweroff", "syscon-poweroff"),
                                    (FINISHER_RESET, "reboot", "syscon-reboot")):
        tree.root.append(_node(name, fdt.PropWords("value", value), fdt.PropWords("offset", 0),
                               fdt.PropWords("regmap", PHANDLE_TEST), fdt.PropStrings("compatible", compatible)))
    tree.root.append(_node(f"memory@{board.DRAM_BASE:x}", fdt.PropStrings("device_type", "memory"),
                           _reg(board.DRAM_BASE, desc.memory_size)))
    tree.root.append(_cpus(desc))
    tree.root.append(_soc(desc))
    return tree.to_dtb(version=17)
