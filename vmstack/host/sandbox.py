"""Path resolution strictly beneath a directory the guest was given.

A guest path is walked one component at a time with directory file
descriptors (never as a string handed to the host), so `..` cannot climb above
the preopened directory, absolute paths are refused, and symlinks are followed
only while their targets stay inside. Escapes raise PermissionError (EPERM),
the answer wasmtime gives.
"""

from __future__ import annotations

import errno
import os

MAX_SYMLINKS = 40


def _escape(path: str) -> PermissionError:
    return PermissionError(errno.EPERM, "path escapes the sandbox", path)


def resolve(dirfd: int, path: str, follow_final: bool = False) -> tuple[int, str]:
    """Walk ``path`` beneath ``dirfd``. Returns ``(parent_fd, name)``: a new descriptor of the
    directory holding the final component (the caller closes it) and that component's name,
    usable with ``dir_fd=parent_fd``. Raises OSError (EPERM for an escape)."""
    if path.startswith("/"):
        raise _escape(path)
    if "\0" in path:
        raise OSError(errno.EILSEQ, "NUL in path", path)
    parts = path.split("/")
    stack = [os.dup(dirfd)]
    links = 0
    try:
        while parts:
            part = parts.pop(0)
            last = not parts
            if part in ("", "."):
                if last:
                    return stack.pop(), "."
                continue
            if part == "..":
                if len(stack) == 1:
                    raise _escape(path)
                os.close(stack.pop())
                if last:
                    return stack.pop(), "."
                continue
            target = _symlink_target(stack[-1], part)
            if target is not None and (not last or follow_final):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                if target.startswith("/"):
                    raise _escape(path)
                parts = target.split("/") + parts
                if not parts[-1]:
                    parts[-1] = "."
                continue
            if last:
                return stack.pop(), part
            stack.append(os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=stack[-1]))
        return stack.pop(), "."
    finally:
        for fd in stack:
            os.close(fd)


def _symlink_target(dirfd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dirfd)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOENT):
            return None
        raise
