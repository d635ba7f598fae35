"""Drive a machine's serial console from a test: wait for text, type a line, collect the transcript.

Used with qemu-system-riscv64 (the oracle) and with `vmstack boot` alike: both talk on stdin/stdout.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from typing import Self

FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
UBOOT_SMODE = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"


def qemu_virt(*args: str, memory: str = "256M") -> list[str]:
    return ["qemu-system-riscv64", "-machine", "virt", "-m", memory, "-nographic", "-monitor", "none",
            "-bios", FW_JUMP, *args]


class Console:
    """A machine started as a child process with its console on pipes."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.transcript = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def expect(self, text: bytes, timeout: float) -> bool:
        """Read until ``text`` shows (True) or timeout/exit (False)."""
        deadline = time.monotonic() + timeout
        while text not in self.transcript:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return False
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                return text in self.transcript
            self.transcript += chunk
        return True

    def expect_line(self, start: bytes, timeout: float) -> bool:
        """Read until a whole line beginning with ``start`` has arrived."""
        deadline = time.monotonic() + timeout
        if not self.expect(start, timeout):
            return False
        while b"\n" not in self.transcript.split(start, 1)[1]:
            if not self.expect(b"\0never\0", min(0.2, deadline - time.monotonic())) and time.monotonic() > deadline:
                return False
        return True

    def type(self, line: bytes) -> None:
        for byte in line:                       # one at a time, as typed, so no UART FIFO overflows
            self.process.stdin.write(bytes([byte]))
            self.process.stdin.flush()
            time.sleep(0.01)

    def wait(self, timeout: float) -> int | None:
        """The exit status, reading the rest of the output; None (and the process killed) on timeout."""
        self.expect(b"\0never\0", timeout)
        try:
            return self.process.wait(1)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.selector.close()
        self.process.stdout.close()
        self.process.stdin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
