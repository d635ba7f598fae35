"""The container's filesystem view, built inside its new mount namespace: the rootfs bind-mounted, the
spec's mounts (proc, sysfs, tmpfs, devpts, mqueue, cgroup, bind/rbind with options and propagation),
/dev with the default devices, symlinks and ptmx, linux.devices, pivot_root (or MS_MOVE + chroot
for --no-pivot), then maskedPaths, readonlyPaths and a read-only root."""

from __future__ import annotations

import errno
import os
import stat

from vmstack.containers import libc

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from vmstack.containers.cgroups import Cgroup
    from vmstack.containers.spec import Device, Mount, Spec

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT = 1, 2, 4, 8, 16, 32
MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 64, 128, 1024, 2048, 4096, 8192, 16384
MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 32768, 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME = 1 << 21, 1 << 24, 1 << 25
MNT_DETACH = 2

# option -> (flags to set, flags to clear)
FLAG_OPTIONS = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY), "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV), "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0), "async": (0, MS_SYNCHRONOUS), "dirsync": (MS_DIRSYNC, 0),
    "remount": (MS_REMOUNT, 0), "mand": (MS_MANDLOCK, 0), "nomand": (0, MS_MANDLOCK),
    "atime": (0, MS_NOATIME), "noatime": (MS_NOATIME, 0), "diratime": (0, MS_NODIRATIME),
    "nodiratime": (MS_NODIRATIME, 0), "bind": (MS_BIND, 0), "rbind": (MS_BIND | MS_REC, 0),
    "relatime": (MS_RELATIME, 0), "norelatime": (0, MS_RELATIME), "strictatime": (MS_STRICTATIME, 0),
    "nostrictatime": (0, MS_STRICTATIME), "silent": (MS_SILENT, 0), "loud": (0, MS_SILENT),
    "lazytime": (MS_LAZYTIME, 0), "nolazytime": (0, MS_LAZYTIME),
}
PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC, "unbindable": MS_UNBINDABLE,
    "runbindable": MS_UNBINDABLE | MS_REC,
}
IGNORED_OPTIONS = {"tmpcopyup"}
# recursive options (mount_setattr): option -> (MOUNT_ATTR_* to set, to clear)
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
MOUNT_ATTR_ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME = 0x70, 0x10, 0x20, 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
RECURSIVE_OPTIONS = {
    "rro": (MOUNT_ATTR_RDONLY, 0), "rrw": (0, MOUNT_ATTR_RDONLY), "rnosuid": (MOUNT_ATTR_NOSUID, 0),
    "rsuid": (0, MOUNT_ATTR_NOSUID), "rnodev": (MOUNT_ATTR_NODEV, 0), "rdev": (0, MOUNT_ATTR_NODEV),
    "rnoexec": (MOUNT_ATTR_NOEXEC, 0), "rexec": (0, MOUNT_ATTR_NOEXEC),
    "rnodiratime": (MOUNT_ATTR_NODIRATIME, 0), "rdiratime": (0, MOUNT_ATTR_NODIRATIME),
    "rrelatime": (0, MOUNT_ATTR_ATIME), "rnoatime": (MOUNT_ATTR_NOATIME, MOUNT_ATTR_ATIME),
    "rstrictatime": (MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_ATIME), "rnosymfollow": (MOUNT_ATTR_NOSYMFOLLOW, 0),
    "rsymfollow": (0, MOUNT_ATTR_NOSYMFOLLOW),
}
DEFAULT_DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
                   ("tty", 5, 0)]
STATVFS_FLAGS = ((os.ST_RDONLY, MS_RDONLY), (os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV),
                 (os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
                 (os.ST_RELATIME, MS_RELATIME))


class MountError(Exception):
    """A mount of the spec cannot be made."""


def recursive_attributes(options: list[str]) -> tuple[int, int]:
    """(MOUNT_ATTR_* to set, to clear) recursively, from options like rro and rnosuid."""
    attr_set = attr_clr = 0
    for option in options:
        if option in RECURSIVE_OPTIONS:
            set_, clear = RECURSIVE_OPTIONS[option]
            attr_set, attr_clr = (attr_set & ~clear) | set_, (attr_clr & ~set_) | clear
    return attr_set, attr_clr


def parse_options(options: list[str]) -> tuple[int, list[int], str]:
    """(mount flags, propagation flags, fs-specific data) of a mount's options."""
    flags, propagation, data = 0, [], []
    for option in options:
        if option in RECURSIVE_OPTIONS:
            continue
        if option in FLAG_OPTIONS:
            set_, clear = FLAG_OPTIONS[option]
            flags = (flags | set_) & ~clear
        elif option in PROPAGATION:
            propagation.append(PROPAGATION[option])
        elif option in IGNORED_OPTIONS:
            continue
        elif option in ("idmap", "ridmap"):
            raise MountError(f"mount option {option!r} is not supported")
        else:
            data.append(option)
    return flags, propagation, ",".join(data)


def secure_join(root: str, path: str) -> str:
    """root + path with every symlink on the way resolved as if root were /, never leaving root."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            if stat.S_ISLNK(os.lstat(candidate).st_mode):
                hops += 1
                if hops > 255:
                    raise MountError(f"too many symlinks resolving {path}")
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
        except FileNotFoundError:
            pass
        resolved.append(part)
    return os.path.join(root, *resolved)


def _current_flags(path: str) -> int:
    bits = os.statvfs(path).f_flag
    return sum(flag for st, flag in STATVFS_FLAGS if bits & st)


def _make_target(target: str, is_file: bool) -> None:
    if os.path.lexists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if is_file:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    else:
        os.makedirs(target, exist_ok=True)


def _bind(source: str, target: str, flags: int, propagation: list[int]) -> None:
    libc.mount(source, target, None, MS_BIND | (flags & MS_REC))
    extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if extra:
        libc.mount(None, target, None, MS_BIND | MS_REMOUNT | extra | (_current_flags(target) & ~MS_RDONLY))
    for flag in propagation:
        libc.mount(None, target, None, flag)


def _mount_cgroup(mount: Mount, target: str, cgroup: Cgroup, cgroupns: bool, flags: int) -> None:
    if cgroup.v2:
        if cgroupns:
            libc.mount("cgroup2", target, "cgroup2", flags & ~MS_RDONLY)
        else:
            libc.mount(str(cgroup.dir_of("memory")), target, None, MS_BIND)
    else:
        libc.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755")
        for tree in cgroup.trees:
            if tree.unified:
                continue
            name = ",".join(c.removeprefix("name=") for c in tree.controllers)
            sub = os.path.join(target, name)
            os.makedirs(sub, exist_ok=True)
            if cgroupns:
                libc.mount("cgroup", sub, "cgroup", flags & ~MS_RDONLY, ",".join(tree.controllers))
            else:
                libc.mount(tree.dir(cgroup.path), sub, None, MS_BIND)
            if flags & MS_RDONLY:
                libc.mount(None, sub, None, MS_BIND | MS_REMOUNT | MS_RDONLY | (_current_flags(sub) & ~MS_RDONLY))
    if flags & MS_RDONLY:
        libc.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | (_current_flags(target) & ~MS_RDONLY))


def is_bind(mount: Mount) -> bool:
    return mount.type == "bind" or bool({"bind", "rbind"} & set(mount.options))


def open_bind_sources(spec: Spec, bundle: str) -> dict[int, int]:
    """O_PATH fds of the bind mounts' sources by mount index. Called by a helper of the runtime that
    joined the container's new mount namespace but kept the host's rights: from inside a new user
    namespace the init may not be able to reach the sources (runc passes them the same way)."""
    sources = {}
    for index, mount in enumerate(spec.mounts):
        if is_bind(mount):
            try:
                sources[index] = os.open(os.path.join(bundle, mount.source), os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # reported when the init mounts it
    return sources


def mount_one(rootfs: str, mount: Mount, cgroup: Cgroup, cgroupns: bool, source_fd: int | None = None) -> None:
    flags, propagation, data = parse_options(mount.options)
    target = secure_join(rootfs, mount.destination)
    try:
        if flags & MS_BIND or mount.type == "bind":
            source = mount.source if os.path.isabs(mount.source) else os.path.join(os.getcwd(), mount.source)
            if source_fd is not None:
                source = f"/proc/self/fd/{source_fd}"
            if not os.path.exists(source):
                raise MountError(f"mount {mount.source} on {mount.destination}: source does not exist")
            _make_target(target, not os.path.isdir(source))
            _bind(source, target, flags | MS_BIND, propagation)
        else:
            _make_target(target, False)
            if mount.type == "cgroup":
                _mount_cgroup(mount, target, cgroup, cgroupns, flags)
            else:
                libc.mount(mount.source or mount.type, target, mount.type, flags, data or None)
                for flag in propagation:
                    libc.mount(None, target, None, flag)
        attr_set, attr_clr = recursive_attributes(mount.options)
        if attr_set or attr_clr:
            libc.mount_setattr_recursive(target, attr_set, attr_clr)
    except OSError as error:
        raise MountError(f"error mounting {mount.source!r} to rootfs at {mount.destination!r}: "
                         f"{os.strerror(error.errno)}") from None


def _mknod(path: str, kind: str, major: int, minor: int, mode: int, host_node: str | None) -> None:
    """Make a device node at path, or (host_node given: in a user namespace, where mknod is refused)
    bind the host's node there."""
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    if kind not in kinds:
        raise MountError(f"{kind} is not a valid device type for device {path}")
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            raise MountError(f"device path {path} is a directory")
        os.unlink(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if host_node:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        libc.mount(host_node, path, None, MS_BIND)
        return
    os.mknod(path, (mode & 0o7777) | kinds[kind], os.makedev(major, minor))
    os.chmod(path, mode & 0o7777)


def setup_dev(rootfs: str, devices: list[Device], default_dev: bool, in_userns: bool) -> None:
    """Default devices, the /dev symlinks and ptmx (when /dev is the container's own tmpfs), then
    linux.devices."""
    dev = secure_join(rootfs, "/dev")
    if default_dev:
        for name, major, minor in DEFAULT_DEVICES:
            _mknod(os.path.join(dev, name), "c", major, minor, 0o666, f"/dev/{name}" if in_userns else None)
        links = [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                 ("stderr", "/proc/self/fd/2")]
        if os.path.exists("/proc/kcore"):
            links.append(("core", "/proc/kcore"))
        for name, target in links:
            if not os.path.lexists(os.path.join(dev, name)):
                os.symlink(target, os.path.join(dev, name))
        ptmx = os.path.join(dev, "ptmx")
        if os.path.lexists(ptmx):
            os.unlink(ptmx)
        os.symlink("pts/ptmx", ptmx)
    for device in devices:
        # the node itself replaces whatever is there (a symlink like /dev/ptmx is not followed)
        path = os.path.join(secure_join(rootfs, os.path.dirname(device.path)), os.path.basename(device.path))
        _mknod(path, device.type, device.major, device.minor,
               device.file_mode if device.file_mode is not None else 0o666, device.path if in_userns else None)
        if not in_userns:
            os.chown(path, device.uid or 0, device.gid or 0)


def enter_rootfs(rootfs: str, no_pivot: bool) -> None:
    """Make rootfs the container's / (pivot_root, or MS_MOVE + chroot)."""
    os.chdir(rootfs)
    if no_pivot:
        libc.mount(rootfs, "/", None, MS_MOVE)
        os.chroot(".")
    else:
        libc.pivot_root(".", ".")
        libc.mount(None, ".", None, MS_SLAVE | MS_REC)
        libc.umount2(".", MNT_DETACH)
    os.chdir("/")


def mask_paths(paths: list[str]) -> None:
    for path in paths:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                libc.mount("tmpfs", path, "tmpfs", MS_RDONLY)
            else:
                libc.mount("/dev/null", path, None, MS_BIND)
        except OSError as error:
            if error.errno != errno.ENOENT:
                raise MountError(f"cannot mask {path}: {os.strerror(error.errno)}") from None


def readonly_paths(paths: list[str]) -> None:
    for path in paths:
        try:
            libc.mount(path, path, None, MS_BIND | MS_REC)
            libc.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | _current_flags(path))
        except OSError as error:
            if error.errno != errno.ENOENT:
                raise MountError(f"cannot make {path} read-only: {os.strerror(error.errno)}") from None


def prepare_rootfs(spec: Spec, cgroup: Cgroup, in_userns: bool, bind_sources: dict[int, int]) -> str:
    """Everything before pivot_root; returns the rootfs path."""
    rootfs = os.path.realpath(spec.root_path)
    libc.mount(None, "/", None, MS_SLAVE | MS_REC)
    libc.mount(rootfs, rootfs, None, MS_BIND | MS_REC)
    cgroupns = spec.linux.namespace("cgroup") is not None
    for index, mount in enumerate(spec.mounts):
        mount_one(rootfs, mount, cgroup, cgroupns, bind_sources.get(index))
    dev_mount = next((m for m in reversed(spec.mounts) if os.path.normpath(m.destination) == "/dev"), None)
    default_dev = dev_mount is not None and not is_bind(dev_mount)
    setup_dev(rootfs, spec.linux.devices, default_dev, in_userns)
    return rootfs


def finish_rootfs(spec: Spec) -> None:
    """Everything after pivot_root: masks, read-only paths and root, and the root's propagation."""
    mask_paths(spec.linux.masked_paths)
    readonly_paths(spec.linux.readonly_paths)
    if spec.root_readonly:
        libc.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | _current_flags("/"))
    if spec.linux.rootfs_propagation:
        libc.mount(None, "/", None, PROPAGATION[spec.linux.rootfs_propagation])

