"""The guest's table of open files: guest descriptor numbers mapped to host
descriptors with what the guest may do with them. Shared by every guest ABI
(WASI now; the Linux syscall layer later).
"""

from __future__ import annotations

import errno
import os
import stat

from ..records import field, record


@record
class OpenFile:
    """One open guest descriptor: the host descriptor behind it and what the guest may do with it."""

    host_fd: int
    kind: str  # kind_of's names, or 'stream': a byte stream that cannot seek (the guest's stdio)
    rights: int = 0
    inheriting: int = 0
    flags: int = 0  # the guest's fd flags (append, nonblock, ...)
    preopen: str | None = None  # guest path of a preopened directory
    owned: bool = True  # close the host descriptor when the guest closes it
    dir_cache: list[tuple[str, int, int]] = field(default_factory=list)  # readdir snapshot


class FdTable:
    """Guest fd → OpenFile. The lowest free number is used for each new file."""

    def __init__(self) -> None:
        self.files: dict[int, OpenFile] = {}

    def add(self, file: OpenFile) -> int:
        fd = 0
        while fd in self.files:
            fd += 1
        self.files[fd] = file
        return fd

    def get(self, fd: int) -> OpenFile | None:
        return self.files.get(fd)

    def close(self, fd: int) -> None:
        """Forget ``fd`` (closing its host descriptor if owned); EBADF if it is not open."""
        file = self.files.pop(fd, None)
        if file is None:
            raise OSError(errno.EBADF, "bad file descriptor")
        if file.owned:
            os.close(file.host_fd)

    def renumber(self, src: int, dst: int) -> None:
        """Move ``src`` onto ``dst`` (both must be open), closing what ``dst`` held."""
        if src not in self.files or dst not in self.files:
            raise OSError(errno.EBADF, "bad file descriptor")
        if src == dst:
            return
        self.close(dst)
        self.files[dst] = self.files.pop(src)

    def close_all(self) -> None:
        for fd in list(self.files):
            self.close(fd)


_KIND_OF_FORMAT = {stat.S_IFDIR: "dir", stat.S_IFREG: "file", stat.S_IFCHR: "char", stat.S_IFIFO: "pipe",
                   stat.S_IFSOCK: "socket", stat.S_IFLNK: "symlink", stat.S_IFBLK: "block"}


def kind_of(mode: int) -> str:
    """The kind of file an ``st_mode`` describes, as OpenFile.kind spells it."""
    return _KIND_OF_FORMAT.get(stat.S_IFMT(mode), "other")
