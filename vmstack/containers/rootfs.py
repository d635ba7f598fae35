"""Minimal root filesystems for containers: Debian's busybox-static and the files a shell expects.

`make_busybox_rootfs(DIR)` copies the static busybox binary from the installed `busybox-static` package
into DIR/bin/busybox, links every applet it lists (`busybox --list-full`) to it, and writes the
usual skeleton: /etc/passwd, /etc/group, /etc/hostname, /etc/hosts, an empty /etc/resolv.conf, and the
mount points a runtime fills in (/proc, /sys, /dev, /tmp, /run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX_PACKAGE = "busybox-static"

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
DIRECTORIES = {  # path: mode
    "bin": 0o755, "sbin": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "etc": 0o755, "root": 0o700,
    "home": 0o755, "proc": 0o555, "sys": 0o555, "dev": 0o755, "run": 0o755, "var": 0o755,
    "var/www": 0o755, "tmp": 0o1777, "var/tmp": 0o1777,
}


class RootfsError(Exception):
    """A rootfs cannot be made: the message is one line for the user."""


def busybox_binary() -> Path:
    """The static busybox installed by Debian's busybox-static package."""
    listing = subprocess.run(["dpkg-query", "-L", BUSYBOX_PACKAGE], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise RootfsError(f"{BUSYBOX_PACKAGE} is not installed (apt-get install {BUSYBOX_PACKAGE})")
    for line in listing.stdout.splitlines():
        if line.endswith("/busybox") and os.path.isfile(line):
            return Path(line)
    raise RootfsError(f"{BUSYBOX_PACKAGE} is installed but its busybox binary is missing")


def make_busybox_rootfs(target: str | os.PathLike[str], hostname: str = "busybox") -> Path:
    """Fill `target` (created if needed, may be non-empty) with a busybox root filesystem."""
    root = Path(target)
    if root.exists() and not root.is_dir():
        raise RootfsError(f"{root}: not a directory")
    busybox = busybox_binary()
    for path, mode in DIRECTORIES.items():
        (root / path).mkdir(parents=True, exist_ok=True)
        os.chmod(root / path, mode)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        link = root / applet
        if link.name == "busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", link)
    files = {"etc/passwd": PASSWD, "etc/group": GROUP, "etc/hostname": f"{hostname}\n", "etc/hosts": HOSTS,
             "etc/resolv.conf": ""}
    for path, text in files.items():
        (root / path).write_text(text)
        os.chmod(root / path, 0o644)
    return root
