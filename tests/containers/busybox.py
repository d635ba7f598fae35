"""A minimal busybox root filesystem made from Debian's busybox-static, for the runtime's tests: the
static /bin/busybox, one symlink per applet, /etc/passwd and /etc/group, and the usual empty
directories. Also packed as the busybox tarball runc's integration suite expects."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n"


def make_busybox_rootfs(root: Path) -> Path:
    """Fill `root` (created if missing) with a busybox userland; returns `root`."""
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home", "proc", "sys", "dev", "var", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    applets = subprocess.run([str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True).stdout
    for applet in applets.split():
        link = root / applet
        if applet != "bin/busybox" and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath("/bin/busybox", "/" + os.path.dirname(applet)))
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    (root / "etc/hostname").write_text("busybox\n")
    return root


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
