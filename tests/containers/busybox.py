"""The busybox tarball runc's integration suite expects, packed from the runtime's own busybox rootfs
(vmstack.containers.rootfs, made from Debian's busybox-static)."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from vmstack.containers.rootfs import make_busybox_rootfs


def make_busybox_tarball(tarball: Path) -> Path:
    """Pack a fresh busybox rootfs into `tarball` (.tar.xz, paths as ./...), unless it exists."""
    if tarball.exists():
        return tarball
    staging = tarball.with_name(tarball.name + ".d")
    shutil.rmtree(staging, ignore_errors=True)
    make_busybox_rootfs(staging)
    partial = tarball.with_name(tarball.name + ".part")
    with tarfile.open(partial, "w:xz") as archive:
        archive.add(staging, arcname=".")
    shutil.rmtree(staging)
    partial.rename(tarball)
    return tarball
