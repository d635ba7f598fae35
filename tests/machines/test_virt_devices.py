"""The virt board's optional devices and its reboot, through the Machine API: which virtio-mmio slot holds
which device (QEMU's order), where the terminal's input goes, and what a reboot resets and keeps."""

import pytest

from vmstack.devices.syscon import FINISHER_RESET
from vmstack.devices.virtio_mmio import DEVICE_ID
from vmstack.machines import virt_map as board
from vmstack.machines.virt import BoardConfig, Machine

SPIN = (0x6F).to_bytes(4, "little")       # j .


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "spin.bin"
    path.write_bytes(SPIN)
    return str(path)


def slot_device_ids(machine: Machine) -> list[int]:
    return [machine.bus.read(board.virtio_slot(slot) + DEVICE_ID, 4) for slot in range(board.VIRTIO_SLOTS)]


def test_devices_fill_the_slots_from_the_last_after_the_drives(program, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    config = BoardConfig(kernel=program, drives=[(str(disk), False)],
                         devices=["virtio-rng-device", f"virtconsole,path={tmp_path / 'out'}"])
    machine = Machine(config, lambda data: None)
    assert slot_device_ids(machine) == [0, 0, 0, 0, 0, 3, 4, 2]    # console, rng, blk from slot 7 down
    machine.close()


def test_terminal_input_goes_to_the_uart_or_with_serial_none_to_the_virtconsole(program):
    with_uart = Machine(BoardConfig(kernel=program, devices=["virtconsole"]), lambda data: None)
    assert with_uart.console_input == with_uart.uart.receive
    typed_to_console = Machine(BoardConfig(kernel=program, devices=["virtconsole"], serial="none"), lambda data: None)
    assert typed_to_console.console_input == typed_to_console.virtio[0].receive


def test_reboot_resets_the_hart_and_devices_and_reloads_the_image(program):
    machine = Machine(BoardConfig(kernel=program, bios=None, max_insns=50_000), lambda data: None)
    hart = machine.hart
    machine.ram.write(board.DRAM_BASE, b"\0\0\0\0")              # the image overwritten...
    machine.ram.write(board.DRAM_BASE + 0x100000, b"kept")      # ...and RAM it does not cover
    machine.clint.msip[0] = 1
    machine.cpu.instret = 1000
    machine.bus.write(board.TEST_SYSCON, 4, FINISHER_RESET)
    outcome = machine.run()
    assert outcome.status == 124 and outcome.instructions >= 50_000       # ran on after the reboot
    assert machine.hart is not hart and machine.clint.msip[0] == 0
    assert machine.ram.read(board.DRAM_BASE, 4) == SPIN and machine.ram.read(board.DRAM_BASE + 0x100000, 4) == b"kept"
    assert machine.retired() == 1000 + machine.cpu.instret
