"""Build the guest programs for wasm32-wasi, the host and riscv64 Linux.

The guests are the C programs in this directory (hello and the benchmark kernels), the riscv64 Linux
programs of guests/riscv/ (static and dynamic, -O2 and -O0: the RISCV64_TARGETS) and real programs
from Debian source packages: the sqlite3 shell, the lua5.4 interpreter (and for riscv64, busybox with
Debian's busybox-static configuration, built by its own makefiles), fetched with
`apt-get source` into ~/.cache/vmstack/src/. Each result is cached as
~/.cache/vmstack/guests/<target>/<name>-<hash>.<ext>, the hash covering the recipe (source and
header contents, compiler flags, compiler version), and is rebuilt only when absent.

    python3 guests/build.py [--target wasm32-wasi|host|riscv64|riscv64-dynamic|...] [--bundle] [--fetch]
                            [NAMES...]

From Python: `build(name, target) -> pathlib.Path`.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GUESTS_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = GUESTS_DIR.parent / "vmstack" / "guests"
CACHE_DIR = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack"))
SOURCE_CACHE = CACHE_DIR / "src"
OUTPUT_CACHE = CACHE_DIR / "guests"
WASI_INCLUDE = "/usr/include/wasm32-wasi"


class BuildError(Exception):
    """A guest cannot be built: a missing toolchain or source, or a failing compiler."""


@dataclass(frozen=True)
class Toolchain:
    """A compiler for one target; `requirements` pairs a command or file pattern with its Debian package."""

    compiler: str
    flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    extension: str
    requirements: tuple[tuple[str, str], ...]

    def check(self) -> None:
        for needed, package in self.requirements:
            found = glob.glob(needed) if needed.startswith("/") else shutil.which(needed)
            if not found:
                raise BuildError(f"{needed} not found: install the Debian package {package} "
                                 "(scripts/setup.sh does)")

    def version(self) -> str:
        return _run([self.compiler, "--version"], "").stdout


TOOLCHAINS = {
    "wasm32-wasi": Toolchain(
        compiler="clang",
        flags=("--target=wasm32-wasi", "--sysroot=/usr", "-nostdlibinc", "-isystem", WASI_INCLUDE, "-O2"),
        link_flags=("-Wl,--strip-debug",),
        extension="wasm",
        requirements=(("clang", "clang"), ("wasm-ld", "lld"),
                      ("/usr/lib/wasm32-wasi/libc.a", "wasi-libc"),
                      ("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a",
                       "libclang-rt-14-dev-wasm32")),
    ),
    # No fused multiply-add (riscv64 has it, gcc would contract), so every target rounds alike.
    "host": Toolchain(compiler="gcc", flags=("-O2", "-ffp-contract=off"), link_flags=(), extension="elf",
                      requirements=(("gcc", "gcc"),)),
}

# riscv64 Linux: static or dynamic, -O2 or -O0. "riscv64" is the static -O2 build; the dynamic ones
# load /lib/ld-linux-riscv64-lp64d.so.1 and glibc from RISCV64_SYSROOT at run time (qemu-riscv64 -L).
RISCV64_SYSROOT = "/usr/riscv64-linux-gnu"
RISCV64_TARGETS = ("riscv64", "riscv64-O0", "riscv64-dynamic", "riscv64-dynamic-O0")


def _riscv64(target: str) -> Toolchain:
    """The toolchain of one of the RISCV64_TARGETS, whose name says its linkage and optimization."""
    requirements = (("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu"),
                    (f"{RISCV64_SYSROOT}/lib/libc.a", "libc6-dev-riscv64-cross"),
                    (f"{RISCV64_SYSROOT}/lib/ld-linux-riscv64-lp64d.so.1", "libc6-riscv64-cross"))
    linkage = () if "-dynamic" in target else ("-static",)
    optimization = "-O0" if target.endswith("-O0") else "-O2"
    return Toolchain(compiler="riscv64-linux-gnu-gcc", flags=(optimization, "-ffp-contract=off", *linkage),
                     link_flags=(), extension="elf", requirements=requirements)


TOOLCHAINS.update({target: _riscv64(target) for target in RISCV64_TARGETS})


@dataclass(frozen=True)
class Recipe:
    """How to build one guest: its C files (found lazily, since some must be fetched first) and flags.

    `wasi_flags` and `native_flags` apply to wasm32-wasi and to the Linux targets respectively;
    `wasi_sources` are extra C files (shims) compiled only for wasm32-wasi; `targets`, when given, are
    the only targets the guest is built for.
    """

    sources: Callable[[], list[Path]]
    flags: tuple[str, ...] = ()
    wasi_flags: tuple[str, ...] = ()
    native_flags: tuple[str, ...] = ()
    wasi_sources: tuple[Path, ...] = ()
    targets: tuple[str, ...] | None = None
    builder: Callable[[Toolchain, list[Path], Path], None] | None = None
    """For a guest built by its own build system: builder(toolchain, sources, output) instead of one
    compiler command over the sources (which are then only the files the recipe's hash covers)."""

    def builds_for(self, target: str) -> bool:
        return self.targets is None or target in self.targets

    def flags_for(self, target: str) -> list[str]:
        return [*self.flags, *(self.wasi_flags if target == "wasm32-wasi" else self.native_flags)]

    def sources_for(self, target: str) -> list[Path]:
        return [*self.sources(), *(self.wasi_sources if target == "wasm32-wasi" else ())]


def _run(command: list[str | Path], what: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise BuildError(f"{command[0]} not found") from None
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise BuildError(f"{what} failed ({Path(command[0]).name} exited with {result.returncode}):\n{tail}")
    return result


def debian_source(package: str) -> Path:
    """The unpacked Debian source tree of `package` under ~/.cache/vmstack/src/, fetched when absent."""
    existing = sorted(path for path in SOURCE_CACHE.glob(f"{package}-[0-9]*") if path.is_dir())
    if existing:
        return existing[-1]
    if not shutil.which("apt-get") or not shutil.which("dpkg-source"):
        raise BuildError("apt-get source needs apt and dpkg-source: install the Debian package dpkg-dev")
    SOURCE_CACHE.mkdir(parents=True, exist_ok=True)
    print(f"fetching the Debian source package {package} into {SOURCE_CACHE}", file=sys.stderr)
    _run(["apt-get", "source", "-qq", package], f"apt-get source {package} (are deb-src entries configured? "
         "scripts/setup.sh adds them)", cwd=SOURCE_CACHE)
    return debian_source(package)


def sqlite_amalgamation() -> Path:
    """A directory holding SQLite's amalgamation (sqlite3.c, sqlite3.h, shell.c), made from Debian's source."""
    source = debian_source("sqlite3")
    amalgamation = SOURCE_CACHE / f"sqlite3-amalgamation-{source.name.partition('-')[2]}"
    if (amalgamation / "shell.c").exists():
        return amalgamation
    if not shutil.which("tclsh"):
        raise BuildError("making the SQLite amalgamation needs tclsh: install the Debian package tcl")
    print(f"making the SQLite amalgamation in {amalgamation}", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=SOURCE_CACHE) as scratch:
        _run([source / "configure"], "sqlite3 configure", cwd=Path(scratch))
        _run(["make", "sqlite3.c", "shell.c"], "making the SQLite amalgamation", cwd=Path(scratch))
        staging = Path(scratch) / "amalgamation"
        staging.mkdir()
        for name in ("sqlite3.c", "sqlite3.h", "sqlite3ext.h", "shell.c"):
            shutil.copy(Path(scratch) / name, staging / name)
        try:
            staging.rename(amalgamation)
        except OSError:
            if not (amalgamation / "shell.c").exists():
                raise BuildError(f"cannot create {amalgamation}") from None
    return amalgamation


def _lua_sources() -> list[Path]:
    source = debian_source("lua5.4") / "src"
    return sorted(path for path in source.glob("*.c") if path.name != "luac.c")


def _busybox_inputs() -> list[Path]:
    """What decides a busybox build: Debian's configuration of busybox-static and its changelog (the
    source package's version)."""
    source = debian_source("busybox")
    return [source / "debian" / "config" / "pkg" / "static", source / "debian" / "changelog"]


def _make_busybox(toolchain: Toolchain, inputs: list[Path], output: Path) -> None:
    """Build busybox with its own makefiles, out of tree, with Debian's busybox-static configuration."""
    config, source = inputs[0], inputs[1].parents[1]
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        shutil.copy(config, Path(scratch) / ".config")
        make = ["make", "-s", f"O={scratch}", f"CROSS_COMPILE={toolchain.compiler.removesuffix('gcc')}", "-j2"]
        _run([*make, "oldconfig"], "busybox oldconfig", cwd=source)
        _run([*make, "busybox"], "building busybox", cwd=source)
        shutil.copy(Path(scratch) / "busybox", output)


def _kernel(name: str, *flags: str) -> Recipe:
    return Recipe(sources=lambda: [GUESTS_DIR / f"{name}.c"], flags=("-Wall", *flags))


def _linux_guest(name: str, *flags: str) -> Recipe:
    """A guest of guests/riscv/: a Linux program for the riscv64 targets only."""
    return Recipe(sources=lambda: [GUESTS_DIR / "riscv" / f"{name}.c"], flags=("-Wall", *flags),
                  targets=RISCV64_TARGETS)


LINUX_GUESTS = {
    "integer": (),
    "bitmanip": ("-march=rv64gc_zba_zbb_zbs",),
    "float": ("-frounding-math", "-lm"),
    "atomics": ("-latomic",),
    "files": (),
    "time": (),
    "signals": (),
    "processes": (),
    "pipes": (),
    "threads": ("-pthread",),
    "startup": (),
}
"""The riscv64 Linux guests of guests/riscv/ and their extra flags."""
BARE_RUNTIME = GUESTS_DIR / "riscv" / "bare"


def _bare_kernel(name: str) -> Recipe:
    """Kernel `name` on the bare runtime of guests/riscv/bare/ (no libc; write and exit only), for
    emulators that cannot run glibc programs; its headers come first on the include path."""
    return Recipe(sources=lambda: [GUESTS_DIR / f"{name}.c", BARE_RUNTIME / "runtime.c"],
                  flags=("-Wall", "-nostdlib", "-fno-builtin", f"-I{BARE_RUNTIME / 'include'}", "-lgcc"),
                  targets=("riscv64",))


# The Debian programs are not built at -O0: their riscv64 builds are the static and dynamic -O2 ones.
DEBIAN_GUEST_TARGETS = ("wasm32-wasi", "host", "riscv64", "riscv64-dynamic")

RECIPES = {
    "hello": _kernel("hello"),
    "fib": _kernel("fib"),
    "sieve": _kernel("sieve"),
    "nbody": _kernel("nbody", "-lm"),
    "sha256": _kernel("sha256"),
    "sqlite3": Recipe(
        sources=lambda: [sqlite_amalgamation() / name for name in ("sqlite3.c", "shell.c")],
        flags=("-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
               "-DSQLITE_OMIT_SHARED_CACHE", "-DSQLITE_TEMP_STORE=3", "-DSQLITE_NOHAVE_SYSTEM",
               "-DSQLITE_OMIT_POPEN", "-lm"),
        wasi_flags=("-DSQLITE_OS_OTHER=1", f"-I{GUESTS_DIR / 'sqlite3' / 'wasi'}",
                    "-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_PROCESS_CLOCKS", "-D_WASI_EMULATED_GETPID",
                    "-lwasi-emulated-signal", "-lwasi-emulated-process-clocks", "-lwasi-emulated-getpid"),
        wasi_sources=(GUESTS_DIR / "sqlite3" / "wasi_os.c",),
        targets=DEBIAN_GUEST_TARGETS,
    ),
    "lua": Recipe(
        sources=_lua_sources,
        flags=(f"-I{GUESTS_DIR / 'lua' / 'include'}", "-lm"),
        wasi_flags=(f"-I{GUESTS_DIR / 'lua' / 'wasi'}", '-DLUA_USER_H="lua_wasi.h"',
                    "-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_PROCESS_CLOCKS",
                    "-lwasi-emulated-signal", "-lwasi-emulated-process-clocks"),
        native_flags=("-DLUA_USE_POSIX",),
        targets=DEBIAN_GUEST_TARGETS,
    ),
    **{name: _linux_guest(name, *flags) for name, flags in LINUX_GUESTS.items()},
    "busybox": Recipe(sources=_busybox_inputs, targets=("riscv64",), builder=_make_busybox),
}
KERNELS = ("fib", "sieve", "nbody", "sha256")
RECIPES.update({f"{name}-bare": _bare_kernel(name) for name in KERNELS})
WORKLOADS = {"sqlite3": ([], GUESTS_DIR / "sqlite3" / "workload.sql"),
             "lua": (["-"], GUESTS_DIR / "lua" / "workload.lua")}
"""(arguments, script read on stdin) of the Debian guests' workloads: an in-memory `sqlite3`, `lua -`."""
DEBIAN_SOURCES = {"sqlite3": "sqlite3", "lua": "lua5.4", "busybox": "busybox"}
"""The guests built from Debian source packages, and their packages."""


def sources_ready(name: str | None = None) -> bool:
    """Whether the Debian sources of guest `name` (default: of all such guests) are already unpacked
    under ~/.cache/vmstack/src/. `build` fetches missing ones itself, on first use."""
    packages = [DEBIAN_SOURCES[name]] if name in DEBIAN_SOURCES else [] if name else list(DEBIAN_SOURCES.values())
    ready = all(any(path.is_dir() for path in SOURCE_CACHE.glob(f"{package}-[0-9]*")) for package in packages)
    if ready and (name is None or name == "sqlite3"):
        ready = any(SOURCE_CACHE.glob("sqlite3-amalgamation-*/shell.c"))
    return ready


def fetch_sources(name: str | None = None) -> None:
    """Fetch (and for SQLite, amalgamate) the Debian sources of guest `name`, default all."""
    for guest in [name] if name else DEBIAN_SOURCES:
        if guest in DEBIAN_SOURCES:
            RECIPES[guest].sources()


def _hashed_inputs(sources: list[Path], flags: list[str]) -> list[Path]:
    """The files a build reads: its C files and every header beside them or in its -I directories."""
    directories = {source.parent for source in sources} | {Path(flag[2:]) for flag in flags if flag[:2] == "-I"}
    headers = {header for directory in directories for header in directory.glob("*.h")}
    return sorted(set(sources) | headers)


def recipe_hash(name: str, target: str) -> str:
    """A digest of everything that determines the build of `name` for `target`."""
    toolchain, recipe = TOOLCHAINS[target], RECIPES[name]
    flags = recipe.flags_for(target)
    digest = hashlib.sha256()
    for part in (target, toolchain.version(), *toolchain.flags, *toolchain.link_flags, *flags):
        digest.update(part.encode() + b"\0")
    for path in _hashed_inputs(recipe.sources_for(target), flags):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build(name: str, target: str) -> Path:
    """Build guest `name` for `target` (or find it in the cache) and return the program's path."""
    if name not in RECIPES:
        raise BuildError(f"unknown guest {name!r} (known: {', '.join(RECIPES)})")
    if target not in TOOLCHAINS:
        raise BuildError(f"unknown target {target!r} (known: {', '.join(TOOLCHAINS)})")
    toolchain, recipe = TOOLCHAINS[target], RECIPES[name]
    if not recipe.builds_for(target):
        raise BuildError(f"guest {name!r} is not built for {target} (only for {', '.join(recipe.targets)})")
    toolchain.check()
    output = OUTPUT_CACHE / target / f"{name}-{recipe_hash(name, target)}.{toolchain.extension}"
    if output.exists():
        return output
    print(f"building {name} for {target} ...", file=sys.stderr, flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(f".partial-{os.getpid()}")
    flags, sources = recipe.flags_for(target), recipe.sources_for(target)
    if recipe.builder:
        recipe.builder(toolchain, sources, partial)
        partial.replace(output)
        return output
    source_directories = sorted({f"-I{source.parent}" for source in sources})
    compile_flags = [flag for flag in flags if not flag.startswith("-l")]
    libraries = [flag for flag in flags if flag.startswith("-l")]
    _run([toolchain.compiler, *toolchain.flags, *source_directories, *compile_flags, *sources,
          *toolchain.link_flags, *libraries, "-o", partial], f"building {name} for {target}")
    partial.replace(output)
    return output


def bundle_hello() -> Path:
    """Copy the wasm32-wasi build of hello to vmstack/guests/hello.wasm, the guest `vmstack demo` runs."""
    BUNDLED_DIR.mkdir(exist_ok=True)
    bundled = BUNDLED_DIR / "hello.wasm"
    shutil.copy(build("hello", "wasm32-wasi"), bundled)
    return bundled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=list(TOOLCHAINS),
                        help="target to build for (repeatable; default: all)")
    parser.add_argument("--bundle", action="store_true",
                        help="also copy hello.wasm into vmstack/guests/ for `vmstack demo`")
    parser.add_argument("--fetch", action="store_true",
                        help="only fetch the Debian sources (sqlite3, lua5.4) into ~/.cache/vmstack/src/")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"guests to build (default: all of {list(RECIPES)})")
    opts = parser.parse_args(argv)
    try:
        if opts.fetch:
            for name in opts.names or DEBIAN_SOURCES:
                fetch_sources(name)
                print(f"{name:8} sources ready: {sources_ready(name)}")
            return 0
        for target in opts.target or TOOLCHAINS:
            for name in opts.names or [name for name, recipe in RECIPES.items() if recipe.builds_for(target)]:
                print(f"{target:12} {name:8} {build(name, target)}", flush=True)
        if opts.bundle:
            print(f"bundled {bundle_hello()}")
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
