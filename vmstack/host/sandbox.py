"""Path resolution strictly beneath a directory the guest was given.

A guest path is walked one component at a time with directory file
descriptors (never as a string handed to the host), so `..` cannot climb above
the preopened directory, absolute paths are refused, and symlinks are followed
only while their targets stay inside. An escape raises SandboxEscape, a
PermissionError (EPERM, the answer wasmtime gives); other failures are the
host's own OSErrors (ENOENT, ENOTDIR, ELOOP, ...).
"""

from __future__ import annotations

import errno
import os
import stat

MAX_SYMLINKS = 40
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SandboxEscape(PermissionError):
    """A path (or a symlink on its way) leads outside the directory it is resolved beneath."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EPERM, "path escapes the sandbox", path)


def resolve(dirfd: int, path: str, follow_final: bool = False) -> tuple[int, str]:
    """Walk ``path`` beneath ``dirfd``. Returns ``(parent_fd, name)``: a new descriptor of the
    directory holding the final component (the caller closes it) and that component's name
    (never a symlink when ``follow_final``), usable with ``dir_fd=parent_fd``. A trailing slash
    asks for a directory: the final component, if it exists, must be one (an unfollowed symlink
    is not, so nothing ever acts on a symlink's target unasked). Raises SandboxEscape for an
    escape, OSError otherwise."""
    if not path:
        raise FileNotFoundError(errno.ENOENT, "empty path", path)
    if path.startswith("/"):
        raise SandboxEscape(path)
    if "\0" in path:
        raise OSError(errno.EILSEQ, "NUL in path", path)
    wants_dir = path.endswith("/")
    walk = _Walk(dirfd, path, follow_final)
    try:
        parent, name = walk.run()
    finally:
        walk.close()
    if wants_dir:
        _require_dir_or_absent(parent, name)
    return parent, name


class _Walk:
    """One resolution: a stack of open directories (the logical path so far) and the components left."""

    def __init__(self, dirfd: int, path: str, follow_final: bool) -> None:
        self.path = path
        self.follow_final = follow_final
        self.parts = [p for p in path.split("/") if p] or ["."]
        self.stack = [os.dup(dirfd)]
        self.links = 0

    def run(self) -> tuple[int, str]:
        while True:
            part = self.parts.pop(0)
            last = not self.parts
            if part in (".", ".."):  # "x/." still needs x to be a directory: it was opened as one
                if part == "..":
                    self._climb()
                if last:
                    return self.stack.pop(), "."
                continue
            target = _symlink_target(self.stack[-1], part)
            if target is not None and (not last or self.follow_final):
                self._follow(target)
                continue
            if last:
                return self.stack.pop(), part
            self.stack.append(os.open(part, _DIR_FLAGS, dir_fd=self.stack[-1]))

    def _climb(self) -> None:
        if len(self.stack) == 1:
            raise SandboxEscape(self.path)
        os.close(self.stack.pop())

    def _follow(self, target: str) -> None:
        self.links += 1
        if self.links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", self.path)
        if target.startswith("/"):
            raise SandboxEscape(self.path)
        self.parts = [p for p in target.split("/") if p] + self.parts or ["."]

    def close(self) -> None:
        for fd in self.stack:
            os.close(fd)


def _symlink_target(dirfd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dirfd)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOENT):
            return None
        raise


def _require_dir_or_absent(parent: int, name: str) -> None:
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.close(parent)
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", name)
