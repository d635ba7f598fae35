"""The host terminal as a board's serial console: raw mode (output processing kept), non-blocking input, Ctrl-A x to quit.

As in QEMU's -nographic: Ctrl-A x ends the VM, Ctrl-A Ctrl-A sends one Ctrl-A to the guest. When
stdin is not a terminal (tests, pipes) it is read as is, without raw mode; end of input is not an error.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from typing import Self

ESCAPE, QUIT = 0x01, ord("x")


class QuitRequested(Exception):
    """The user typed Ctrl-A x."""


class HostTerminal:
    """stdin/stdout of this process as the guest's console line."""

    def __init__(self, stdin: int | None = None, stdout: int | None = None) -> None:
        self.stdin = sys.stdin.fileno() if stdin is None else stdin
        self.stdout = sys.stdout.fileno() if stdout is None else stdout
        self.saved: list | None = None
        self.escaped = False
        self.at_eof = False

    def __enter__(self) -> Self:
        if os.isatty(self.stdin):
            self.saved = termios.tcgetattr(self.stdin)
            tty.setraw(self.stdin)
            mode = termios.tcgetattr(self.stdin)
            mode[1] |= termios.OPOST          # keep output processing (newline -> CR LF), as QEMU does
            termios.tcsetattr(self.stdin, termios.TCSADRAIN, mode)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            termios.tcsetattr(self.stdin, termios.TCSADRAIN, self.saved)
            self.saved = None

    def write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.stdout, data):]

    def read_available(self) -> bytes:
        """What was typed since the last call (nothing if nothing); raises QuitRequested on Ctrl-A x."""
        if self.at_eof or not select.select([self.stdin], [], [], 0)[0]:
            return b""
        raw = os.read(self.stdin, 256)
        if not raw:
            self.at_eof = True
            return b""
        out = bytearray()
        for byte in raw:
            if self.escaped:
                self.escaped = False
                if byte == QUIT:
                    raise QuitRequested()
                if byte == ESCAPE:
                    out.append(ESCAPE)
            elif byte == ESCAPE:
                self.escaped = True
            else:
                out.append(byte)
        return bytes(out)
