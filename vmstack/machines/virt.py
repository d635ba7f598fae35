"""The emulated RISC-V boards: `virt` (QEMU-compatible, for OpenSBI, U-Boot and Linux) and `spike`.

virt: the reset ROM at 0x1000 jumps to DRAM at 0x80000000 with a0 = hartid, a1 = the device tree;
the firmware (``bios``) is loaded there, the kernel at 0x80200000 (where fw_jump jumps), the initrd
above it and the device tree at the top of RAM, as QEMU lays them out. CLINT, PLIC, UART, the test
syscon, the goldfish RTC and eight virtio-mmio slots sit at QEMU's addresses; the slots hold the
virtio-blk drives, the virtio-net card, then the ``devices`` (virtio-rng-device, virtconsole) in order.
spike: RAM, a CLINT and the HTIF mailbox only, for bare-metal test programs.
On both, an ELF with a `tohost` symbol reports through HTIF as on Spike: 1 written there = pass.

The board runs the hart in quanta; between them it updates the timers, polls the devices' host
sides (terminal, tap) and the HTIF mailbox, and lets the hart take interrupts.
A reboot (the syscon's reset value) powers the board on again as QEMU resets it: a new hart at the
reset vector, devices in their reset state, the images and the device tree loaded afresh; the rest of
RAM keeps its contents. With ``reboot=False`` (QEMU's -no-reboot) a reboot ends the run instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..collector import paused
from ..devices.bus import Bus, BusError, GuestRam
from ..devices.clint import CLINT_SIZE, Clint, host_ticks
from ..devices.plic import PLIC_SIZE, Plic
from ..devices.rtc import RTC_SIZE, GoldfishRtc
from ..devices.syscon import SYSCON_SIZE, SifiveTest
from ..devices.uart import Uart16550
from ..devices.virtio_blk import VirtioBlk
from ..devices.virtio_console import VirtioConsole
from ..devices.virtio_mmio import VIRTIO_MMIO_SIZE, VirtioDevice, VirtioMmio
from ..devices.virtio_net import TapBackend, VirtioNet
from ..devices.virtio_rng import VirtioRng
from ..riscv.cpu import Cpu
from ..riscv.system_isa import GuestHalted, SystemHart, mode_name
from . import virt_map as board
from .fdt import BoardDescription, virt_device_tree

KERNEL_OFFSET = 0x200000            # fw_jump's next address, from DRAM's start
# The virtual clock: one 10 MHz timer tick per retired instruction (a nominal 10 MIPS hart), so a
# slow emulator is not drowned in timer interrupts; a hart in wfi skips ahead to its next deadline.
INSTRUCTIONS_PER_TICK = 1
QUANTUM = 20_000                    # guest instructions between device polls
MIN_MEMORY = 16 << 20
ISA = "rv64imafdc_zicsr_zifencei_sstc"     # Sstc: Linux then sets stimecmp itself
# --device names, as QEMU's (and their short forms) -> the device kind
DEVICE_NAMES = {"virtio-rng-device": "rng", "virtio-rng": "rng", "virtconsole": "console", "virtio-console": "console"}
SERIAL_CHOICES = ("stdio", "none")


def _discard(data: bytes) -> None:
    """The output of a device with no host side (QEMU's -serial none)."""


class BoardError(Exception):
    """A board that cannot be built from its configuration (a bad image, too little memory)."""


@dataclass
class BoardConfig:
    machine: str = "virt"
    memory: int = 256 << 20
    bios: str | None = None         # a firmware file, or None for none
    kernel: str | None = None
    initrd: str | None = None
    append: str = ""
    drives: list[tuple[str, bool]] = field(default_factory=list)    # (path, read-only)
    net: str | None = None          # "tap:NAME" or None
    max_insns: int | None = None
    clock: str = "virtual"          # "virtual": mtime follows retired instructions; "host": wall time
    reboot: bool = True             # False: a guest reboot ends the run (QEMU's -no-reboot)
    devices: list[str] = field(default_factory=list)   # "virtio-rng-device", "virtconsole[,path=FILE]"
    serial: str = "stdio"           # the UART on the host terminal ("stdio") or on nothing ("none")


@dataclass
class Outcome:
    """How a run ended: the exit status vmstack passes on and a one-line reason."""

    status: int
    reason: str
    instructions: int


class ResetRom:
    """QEMU's virt reset vector: a0 = mhartid, a1 = dtb, jump to DRAM (a2 = fw_dynamic info)."""

    def __init__(self, start: int, dtb: int) -> None:
        code = [0x00000297, 0x02828613, 0xF1402573, 0x0202B583, 0x0182B283, 0x00028067]
        words = b"".join(word.to_bytes(4, "little") for word in code)
        dynamic_info = b"".join(value.to_bytes(8, "little") for value in (0x4942534F, 2, start + KERNEL_OFFSET, 1,
                                                                           0, 0))
        self.data = words + start.to_bytes(8, "little") + dtb.to_bytes(8, "little") + dynamic_info

    def read(self, offset: int, width: int) -> int:
        return int.from_bytes(self.data[offset:offset + width].ljust(width, b"\0"), "little")

    def write(self, offset: int, width: int, value: int) -> None:
        """ROM: writes are ignored."""


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise BoardError(f"{what} {path}: {error.strerror}") from None
    if not data:
        raise BoardError(f"{what} {path}: empty file")
    return data


@dataclass
class Image:
    """A loaded program: its entry point and the address of its tohost symbol, if any."""

    entry: int
    end: int
    tohost: int | None = None
    fromhost: int | None = None


def load_image(ram: GuestRam, path: str, what: str, default_address: int) -> Image:
    """Load an ELF by its segments' physical addresses, or a raw binary at ``default_address``."""
    data = _read_file(path, what)
    if data[:4] != b"\x7fELF":
        if not ram.contains(default_address, len(data)):
            raise BoardError(f"{what} {path}: does not fit in guest memory ({len(data)} bytes at {default_address:#x})")
        ram.write(default_address, data)
        return Image(default_address, default_address + len(data))
    try:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            if elf["e_machine"] != "EM_RISCV" or elf.elfclass != 64:
                raise BoardError(f"{what} {path}: not a 64-bit RISC-V ELF")
            end = 0
            for segment in elf.iter_segments("PT_LOAD"):
                addr, body = segment["p_paddr"], segment.data()
                if not ram.contains(addr, segment["p_memsz"]):
                    raise BoardError(f"{what} {path}: segment at {addr:#x} is outside guest memory")
                ram.write(addr, body + bytes(segment["p_memsz"] - len(body)))
                end = max(end, addr + segment["p_memsz"])
            symbols = elf.get_section_by_name(".symtab")
            mailbox = [symbols.get_symbol_by_name(name) if symbols is not None else None
                       for name in ("tohost", "fromhost")]
            return Image(elf["e_entry"], end, *(found[0]["st_value"] if found else None for found in mailbox))
    except (ELFError, ValueError) as error:
        raise BoardError(f"{what} {path}: bad ELF file ({error})") from None


class Machine:
    """A board with one hart, ready to run."""

    def __init__(self, config: BoardConfig, console_out: Callable[[bytes], None],
                 clock: Callable[[], int] | None = None) -> None:
        if config.memory < MIN_MEMORY:
            raise BoardError(f"--memory {config.memory >> 20}M is too little (at least {MIN_MEMORY >> 20}M)")
        self.config = config
        self.ram = GuestRam(board.DRAM_BASE, config.memory)
        self.skipped_ticks = 0
        self.retired_before_reset = 0
        if clock is None:
            clock = host_ticks() if config.clock == "host" else self._virtual_ticks
        self.clock = clock
        self.console_out = console_out
        if config.serial not in SERIAL_CHOICES:
            raise BoardError(f"--serial {config.serial}: expected one of {', '.join(SERIAL_CHOICES)}")
        self.device_kinds = [self._device_kind(spec) for spec in config.devices]
        self.console_files: dict[str, Any] = {}     # virtconsole path= outputs, open across reboots
        self._power_on()

    @staticmethod
    def _device_kind(spec: str) -> tuple[str, str | None]:
        """(kind, output path) of a --device NAME[,path=FILE] option."""
        name, _, options = spec.partition(",")
        kind = DEVICE_NAMES.get(name)
        if kind is None:
            raise BoardError(f"--device {name}: unknown device (known: {', '.join(DEVICE_NAMES)})")
        path = None
        if options:
            key, _, path = options.partition("=")
            if kind != "console" or key != "path" or not path:
                raise BoardError(f"--device {spec}: unknown option {options!r}"
                                 f"{' (only path=FILE)' if kind == 'console' else ''}")
        return kind, path

    # ------------------------------------------------------------ building

    def _power_on(self) -> None:
        """The hart, the devices and the loaded images as at power-on (again at each reboot)."""
        config = self.config
        self.bus = Bus(self.ram)
        self.power_event: tuple[str, int] | None = None
        self.hart = SystemHart(self.bus, 0, lambda: self.clint.mtime)
        self.cpu = Cpu(self.hart.memory, self.hart)
        self.hart.attach(self.cpu)
        self.clint = Clint([self.hart.line(board.IRQ_M_SOFT)], [self.hart.line(board.IRQ_M_TIMER)], self.clock)
        self.bus.attach(board.CLINT, CLINT_SIZE, self.clint)
        self.pollers: list[Callable[[], None]] = [self.clint.update]
        self.uart: Uart16550 | None = None
        self.console_input: Callable[[bytes], None] | None = None   # where typed bytes go
        self.virtio: list[VirtioDevice] = []
        if config.machine == "virt":
            self._build_virt()
        self._load()

    def _build_virt(self) -> None:
        hart = self.hart
        self.plic = Plic(board.PLIC_SOURCES, [hart.line(board.IRQ_M_EXT), hart.line(board.IRQ_S_EXT)])
        self.bus.attach(board.PLIC, PLIC_SIZE, self.plic)
        on_terminal = self.config.serial == "stdio"
        self.uart = Uart16550(self.plic.irq(board.UART0_IRQ), self.console_out if on_terminal else _discard)
        self.bus.attach(board.UART0, board.UART_SIZE, self.uart)
        if on_terminal:
            self.console_input = self.uart.receive
        self.bus.attach(board.TEST_SYSCON, SYSCON_SIZE, SifiveTest(self._power))
        rtc = GoldfishRtc(self.plic.irq(board.RTC_IRQ))
        self.bus.attach(board.RTC, RTC_SIZE, rtc)
        self.pollers.append(rtc.update)
        for path, readonly in self.config.drives:
            try:
                self.virtio.append(VirtioBlk(path, readonly))
            except OSError as error:
                raise BoardError(f"--drive {path}: {error.strerror}") from None
        if self.config.net:
            self.virtio.append(VirtioNet(self._tap(self.config.net)))
        for kind, path in self.device_kinds:
            if kind == "rng":
                self.virtio.append(VirtioRng())
                continue
            console = VirtioConsole(self.console_out if path is None else self._console_file(path))
            if path is None and self.console_input is None:
                self.console_input = console.receive     # --serial none: the terminal types here
            self.virtio.append(console)
        if len(self.virtio) > board.VIRTIO_SLOTS:
            raise BoardError(f"at most {board.VIRTIO_SLOTS} virtio devices")
        # QEMU fills the slots from the last one down; Linux then names the first drive vda
        for slot in range(board.VIRTIO_SLOTS):
            index = board.VIRTIO_SLOTS - 1 - slot
            device = self.virtio[index] if index < len(self.virtio) else None
            transport = VirtioMmio(self.ram, self.plic.irq(board.VIRTIO_IRQ_BASE + slot), device)
            self.bus.attach(board.virtio_slot(slot), VIRTIO_MMIO_SIZE, transport)
            if device is not None:
                self.pollers.append(device.poll)

    def _console_file(self, path: str) -> Callable[[bytes], None]:
        handle = self.console_files.get(path)
        if handle is None:
            try:
                handle = self.console_files[path] = open(path, "wb", buffering=0)  # noqa: SIM115 - open until close()
            except OSError as error:
                raise BoardError(f"--device virtconsole,path={path}: {error.strerror}") from None
        return handle.write

    @staticmethod
    def _tap(spec: str) -> TapBackend | None:
        if spec == "none":
            return None
        kind, _, name = spec.partition(":")
        if kind != "tap" or not name:
            raise BoardError(f"--net {spec}: expected tap:NAME or none")
        try:
            return TapBackend(name)
        except OSError as error:
            raise BoardError(f"--net {spec}: cannot open the tap device ({error.strerror})") from None

    def _load(self) -> None:
        config, base = self.config, board.DRAM_BASE
        images = []
        if config.bios is not None:
            images.append(load_image(self.ram, config.bios, "firmware", base))
        if config.kernel is not None:
            images.append(load_image(self.ram, config.kernel, "kernel", base + (KERNEL_OFFSET if images else 0)))
        if not images:
            raise BoardError("nothing to run: give --bios and/or --kernel")
        with_mailbox = [image for image in images if image.tohost is not None]
        self.tohost = with_mailbox[0].tohost if with_mailbox else None
        self.fromhost = with_mailbox[0].fromhost if with_mailbox else None
        initrd = None
        if config.initrd is not None:
            data = _read_file(config.initrd, "initrd")
            start = base + min(config.memory // 2, 128 << 20) + KERNEL_OFFSET
            start = max(start, (images[-1].end + 0xFFFF) & ~0xFFFF)
            if not self.ram.contains(start, len(data)):
                raise BoardError(f"initrd {config.initrd}: does not fit in guest memory")
            self.ram.write(start, data)
            initrd = (start, start + len(data))
        dtb_addr = 0
        if config.machine == "virt":
            dtb = virt_device_tree(BoardDescription(config.memory, isa=ISA, bootargs=config.append, initrd=initrd))
            dtb_addr = (self.ram.end - len(dtb)) & ~0x1FFFFF if len(dtb) < 0x200000 else 0
            if dtb_addr < (initrd[1] if initrd else images[-1].end):
                raise BoardError("guest memory too small for the images and the device tree")
            self.ram.write(dtb_addr, dtb)
            self.bus.attach(board.RESET_ROM, board.RESET_ROM_SIZE, ResetRom(images[0].entry, dtb_addr))
        if config.machine == "virt" and config.bios is not None:
            self.cpu.pc = board.RESET_ROM
        else:                          # --bios none: the ELF's entry in M-mode, a0 = hartid, a1 = dtb
            self.cpu.pc = images[-1].entry
            self.cpu.x[11] = dtb_addr

    # ------------------------------------------------------------ running

    def _power(self, kind: str, status: int) -> None:
        self.power_event = (kind, status)
        self.cpu.stop = True

    def _check_htif(self) -> Outcome | None:
        try:
            value = self.ram.load(self.tohost, 8)
        except BusError:
            return None
        if not value:
            return None
        self.ram.store(self.tohost, 8, 0)
        device, command = value >> 56, value >> 48 & 0xFF
        if device == 0 and value & 1:
            code = (value & ((1 << 48) - 1)) >> 1
            return Outcome(code, "test passed" if code == 0 else f"test failed: tohost reports {code}",
                           self.retired())
        if device == 1 and command == 1:
            self.console_out(bytes([value & 0xFF]))
            if self.fromhost is not None:
                self.ram.store(self.fromhost, 8, 1 << 56 | 1 << 48)    # the console's acknowledgement
        return None

    def retired(self) -> int:
        """Guest instructions retired since power-on, across reboots."""
        return self.retired_before_reset + self.cpu.instret

    def _reboot(self) -> None:
        self.retired_before_reset += self.cpu.instret
        self._release_devices()
        self._power_on()

    def run(self, poll_input: Callable[[], bytes] | None = None) -> Outcome:
        """Run until poweroff, an HTIF exit, a guest that cannot go on, or the instruction limit."""
        # No cyclic garbage collection meanwhile: the code caches grow by many small long-lived objects
        # that its passes would walk again and again (3% of a Linux boot), and the emulator makes next to
        # no cyclic garbage (a few hundred objects in that boot); reference counting frees the rest.
        with paused():
            return self._run(poll_input)

    def _run(self, poll_input: Callable[[], bytes] | None) -> Outcome:
        limit = self.config.max_insns
        while True:
            cpu, hart = self.cpu, self.hart
            for poll in self.pollers:
                poll()
            if poll_input is not None and self.console_input is not None:
                typed = poll_input()
                if typed:
                    self.console_input(typed)
            if self.tohost is not None and (outcome := self._check_htif()) is not None:
                return outcome
            if self.power_event is not None:
                kind, status = self.power_event
                if kind == "reset" and self.config.reboot:
                    self._reboot()
                    continue
                return Outcome(status, "guest powered off" if kind == "poweroff" else "guest reset", self.retired())
            retired = self.retired()
            if limit is not None and retired >= limit:
                return Outcome(124, f"instruction limit reached at pc {cpu.pc:#x} in {mode_name(hart.mode)}-mode",
                               retired)
            hart.poll_interrupts()
            if hart.waiting:
                self._idle()
                continue
            try:
                cpu.run(QUANTUM if limit is None else max(1, min(QUANTUM, limit - retired)))
            except GuestHalted as halt:
                return Outcome(134, str(halt), self.retired())

    def _virtual_ticks(self) -> int:
        return self.retired() // INSTRUCTIONS_PER_TICK + self.skipped_ticks

    def _idle(self) -> None:
        """wfi: on the virtual clock jump to the next timer deadline (mtimecmp, or Sstc's stimecmp);
        otherwise (or with no deadline) sleep until it, at most 10 ms at a time so that input and devices
        are polled."""
        now = self.clint.mtime
        deadlines = [self.clint.mtimecmp[0], self.hart.supervisor_timer_deadline()]
        deadline = min((at for at in deadlines if at is not None and at > now), default=now)
        ticks = deadline - now
        if ticks and self.clock == self._virtual_ticks and deadline < 1 << 63:
            self.skipped_ticks += ticks
        elif ticks:
            time.sleep(min(ticks, 100_000) / 10_000_000)

    def close(self) -> None:
        self._release_devices()
        for handle in self.console_files.values():
            handle.close()
        self.console_files.clear()

    def _release_devices(self) -> None:
        for device in self.virtio:
            if isinstance(device, VirtioBlk):
                device.close()
            elif isinstance(device, VirtioNet) and device.backend is not None:
                os.close(device.backend.fd)
