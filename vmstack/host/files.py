"""Reading a file the user named on the host: its bytes, or a one-line reason why it cannot be read."""

from __future__ import annotations

from pathlib import Path


def read_named_file(path: str, error: type[Exception]) -> bytes:
    """The contents of ``path``; ``error("PATH: reason")`` when it is missing, a directory or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory") from None
    except OSError as exc:
        raise error(f"{path}: {exc.strerror}") from None
