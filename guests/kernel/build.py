"""Build the system-VM test guests: a small riscv64 Linux kernel and an initramfs holding our own /init.

The kernel is Debian's linux-source-6.1 configured with `make ARCH=riscv tinyconfig` plus the fragment
virt.config kept next to this script; the initramfs is a gzipped newc cpio archive with /init built
from init.c (static, riscv64) and a /dev directory. Results are cached as
~/.cache/vmstack/kernel/Image-<hash> and initramfs-<hash>.cpio.gz, the hash covering the recipe (the
fragment, this script, the source tarball's identity, the compiler version), and built only when absent.

    python3 guests/kernel/build.py [--jobs N] [kernel|initramfs]...

From Python: `kernel_image() -> Path`, `initramfs() -> Path`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RECIPE_DIR = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack"))
KERNEL_CACHE = CACHE_DIR / "kernel"
LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
CROSS_COMPILE = "riscv64-linux-gnu-"
FRAGMENT = RECIPE_DIR / "virt.config"
INIT_SOURCE = RECIPE_DIR / "init.c"



class BuildError(Exception):
    """A guest cannot be built: a missing toolchain or source, or a failing build."""


def _require(command: str, package: str) -> None:
    if not (Path(command).exists() if command.startswith("/") else shutil.which(command)):
        raise BuildError(f"{command} not found: install the Debian package {package} (scripts/setup.sh does)")


def _run(command: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        raise BuildError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout


def _recipe_hash(*parts: bytes) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(_run([CROSS_COMPILE + "gcc", "--version"]).encode())
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def kernel_image(jobs: int = 2) -> Path:
    """The cached kernel Image, built first when absent (a few minutes)."""
    _require(str(LINUX_TARBALL), "linux-source-6.1")
    _require(CROSS_COMPILE + "gcc", "gcc-riscv64-linux-gnu")
    for tool, package in (("flex", "flex"), ("bison", "bison"), ("bc", "bc"), ("make", "make")):
        _require(tool, package)
    stat = LINUX_TARBALL.stat()
    output = KERNEL_CACHE / f"Image-{_recipe_hash(FRAGMENT.read_bytes(), f'{stat.st_size}'.encode())}"
    if output.exists():
        return output
    KERNEL_CACHE.mkdir(parents=True, exist_ok=True)
    print(f"building the Linux kernel into {output} (a few minutes)", file=sys.stderr)
    tree = _linux_source()
    with tempfile.TemporaryDirectory(dir=KERNEL_CACHE) as scratch:
        make = ["make", "-C", str(tree), f"O={scratch}", "ARCH=riscv", f"CROSS_COMPILE={CROSS_COMPILE}",
                f"-j{jobs}"]
        _run(make + ["tinyconfig"])
        _run([str(tree / "scripts/kconfig/merge_config.sh"), "-m", ".config", str(FRAGMENT)], cwd=Path(scratch))
        _run(make + ["olddefconfig"])
        _check_config(Path(scratch) / ".config")
        _run(make + ["Image"])
        partial = output.with_suffix(".partial")
        shutil.copyfile(Path(scratch) / "arch/riscv/boot/Image", partial)
        partial.rename(output)
    return output


def _linux_source() -> Path:
    """The kernel tree, unpacked once from the tarball into ~/.cache/vmstack/src (builds use O=)."""
    tree = CACHE_DIR / "src" / f"linux-source-6.1-{LINUX_TARBALL.stat().st_size}"
    if not (tree / "Makefile").exists():
        print(f"unpacking {LINUX_TARBALL} into {tree}", file=sys.stderr)
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _run(["tar", "-xf", str(LINUX_TARBALL), "-C", str(partial), "--strip-components=1"])
        partial.rename(tree)
    return tree


def _check_config(config: Path) -> None:
    """Every option the fragment asks for must have survived Kconfig's dependency resolution."""
    have = set(config.read_text().splitlines())
    lost = [line for line in FRAGMENT.read_text().splitlines()
            if line.startswith("CONFIG_") and line not in have]
    if lost:
        raise BuildError(f"kernel options dropped by Kconfig: {', '.join(lost)}")


def _cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (name, mode, data) entries, owned by root, ending with the trailer."""
    out = bytearray()
    for inode, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += b"070701" + b"".join(b"%08X" % field for field in fields) + encoded
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def initramfs() -> Path:
    """The cached gzipped initramfs with /init (built from init.c) and an empty /dev."""
    _require(CROSS_COMPILE + "gcc", "gcc-riscv64-linux-gnu")
    _require("/usr/riscv64-linux-gnu/lib/libc.a", "libc6-dev-riscv64-cross")
    output = KERNEL_CACHE / f"initramfs-{_recipe_hash(INIT_SOURCE.read_bytes())}.cpio.gz"
    if output.exists():
        return output
    KERNEL_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=KERNEL_CACHE) as scratch:
        program = Path(scratch) / "init"
        _run([CROSS_COMPILE + "gcc", "-O2", "-static", "-s", "-o", str(program), str(INIT_SOURCE)])
        archive = _cpio_newc([("dev", 0o40755, b""), ("init", 0o100755, program.read_bytes())])
        partial = output.with_suffix(".partial")
        partial.write_bytes(gzip.compress(archive, mtime=0))
        partial.rename(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel make jobs (default 2)")
    parser.add_argument("what", nargs="*", metavar="kernel|initramfs")
    opts = parser.parse_args(argv)
    if set(opts.what) - {"kernel", "initramfs"}:
        parser.error("build kernel and/or initramfs")
    try:
        for what in opts.what or ["kernel", "initramfs"]:
            print(kernel_image(opts.jobs) if what == "kernel" else initramfs())
    except BuildError as error:
        print(f"guests/kernel/build.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
