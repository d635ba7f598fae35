"""The host terminal: raw mode on a pty, restored afterwards; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A."""

import os
import pty
import termios

import pytest

from vmstack.devices.terminal import HostTerminal, QuitRequested


def test_raw_mode_and_escapes():
    controller, follower = pty.openpty()
    try:
        before = termios.tcgetattr(follower)
        with HostTerminal(follower, follower) as terminal:
            assert not termios.tcgetattr(follower)[3] & termios.ICANON
            os.write(controller, b"ls\x01\x01!")
            assert terminal.read_available() == b"ls\x01!"
            assert terminal.read_available() == b""
            os.write(controller, b"a\x01x")
            with pytest.raises(QuitRequested):
                terminal.read_available()
        assert termios.tcgetattr(follower) == before
    finally:
        os.close(controller)
        os.close(follower)


def test_pipe_input_until_end():
    read_end, write_end = os.pipe()
    os.write(write_end, b"version\n")
    os.close(write_end)
    terminal = HostTerminal(read_end, os.open(os.devnull, os.O_WRONLY))
    with terminal:
        assert terminal.read_available() == b"version\n"
        assert terminal.read_available() == b"" and terminal.at_eof
    os.close(read_end)
