"""Linux namespaces of a container: the clone flags of each OCI namespace type, creating new ones
(unshare), joining existing ones by path (setns), and writing a new user namespace's uid/gid maps."""

from __future__ import annotations

import os

from vmstack.containers import libc
from vmstack.containers.spec import Namespace

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from vmstack.containers.spec import IDMapping

CLONE_FLAGS = {
    "mount": 0x00020000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "network": 0x40000000,
    "cgroup": 0x02000000,
    "time": 0x00000080,
}
PROC_NAMES = {"mount": "mnt", "uts": "uts", "ipc": "ipc", "user": "user", "pid": "pid", "network": "net",
              "cgroup": "cgroup", "time": "time"}
# setns order: the user namespace first (it owns the others), mount last but before pid's fork.
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def join(namespaces: list[Namespace]) -> None:
    """setns into every namespace given by path, user namespace first (all opened beforehand)."""
    by_type = {ns.type: ns for ns in namespaces if ns.path}
    opened = []
    try:
        for kind in JOIN_ORDER:
            if kind in by_type:
                opened.append((kind, by_type[kind].path, os.open(by_type[kind].path, os.O_RDONLY | os.O_CLOEXEC)))
        for kind, path, fd in opened:
            try:
                libc.setns(fd, CLONE_FLAGS[kind])
            except OSError as error:
                raise OSError(error.errno, f"joining {kind} namespace {path}: {os.strerror(error.errno)}") from None
    finally:
        for _, _, fd in opened:
            os.close(fd)


def new_flags(namespaces: list[Namespace], skip: tuple[str, ...] = ()) -> int:
    """The unshare flags of the namespaces to create (those without a path)."""
    flags = 0
    for ns in namespaces:
        if not ns.path and ns.type not in skip:
            flags |= CLONE_FLAGS[ns.type]
    return flags


def unshare(flags: int) -> None:
    if flags:
        libc.unshare(flags)


def write_id_maps(pid: int, uid_mappings: list[IDMapping], gid_mappings: list[IDMapping]) -> None:
    """Map ids of the new user namespace of process `pid` (written from the parent namespace)."""
    def lines(mappings: list[IDMapping]) -> str:
        return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)
    with open(f"/proc/{pid}/uid_map", "w") as f:
        f.write(lines(uid_mappings))
    with open(f"/proc/{pid}/gid_map", "w") as f:
        f.write(lines(gid_mappings))


def paths_of(pid: int, kinds: list[str]) -> list[Namespace]:
    """The namespaces of a running process, as paths to join (for exec)."""
    own = {kind: os.stat(f"/proc/self/ns/{PROC_NAMES[kind]}").st_ino for kind in kinds}
    joined = []
    for kind in kinds:
        path = f"/proc/{pid}/ns/{PROC_NAMES[kind]}"
        try:
            if os.stat(path).st_ino != own[kind]:
                joined.append(Namespace(kind, path))
        except FileNotFoundError:
            continue
    return joined
