"""The `vmstack` command: one subcommand per kind of guest.

    vmstack run PROG.wasm|PROG.wat [ARGS...]   run a WASI program (or --invoke a function)
    vmstack run PROG [ARGS...]                 run a riscv64 Linux program (an ELF file)
    vmstack wast [--engine E] FILE.wast...     run WebAssembly spec scripts
    vmstack inspect PROG.wasm                  list a module's sections, imports and exports
    vmstack demo                               run the bundled hello-world guest
    vmstack cache [--clear]                    show (or empty) the compiled-code and module caches
    vmstack boot --machine virt --kernel ...  boot firmware and a kernel on the emulated RISC-V board
    vmstack container run|bundle|rootfs ...    OCI containers from images (see vmstack/containers/)

Every failure ends in one line on stderr and a non-zero status: 2 for bad
usage or unreadable input, 1 for a malformed, invalid or unlinkable module,
134 for a guest trap, 124 for --timeout, 123 for --fuel, 122 for --max-memory;
a guest's own exit status is passed through. `vmstack container` exits with 125
when it fails before the container runs, and with the container's status otherwise.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .cache import parse_size
from .host.files import read_named_file

EXIT_USAGE = 2
EXIT_INVALID = 1
EXIT_TRAP = 134
EXIT_TIMEOUT = 124
EXIT_FUEL = 123
EXIT_MEMORY = 122


class UsageError(Exception):
    """A bad command line or unreadable input: reported in one line, exit status 2."""


def _parse_size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value


def _nonnegative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid count {text!r}")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vmstack", description="Run guest code at every level of the machine hierarchy.")
    parser.add_argument("--version", action="version", version=f"vmstack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a WebAssembly (WASI) program")
    run.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                     help="give the guest a directory (as GUEST, default the same path)")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="set a guest environment variable")
    run.add_argument("--invoke", metavar="FUNC", help="call this export with ARGS instead of running _start")
    run.add_argument("--fuel", type=_nonnegative_int, metavar="N", help="stop the guest after about N instructions")
    run.add_argument("--max-memory", type=_parse_size, metavar="SIZE", help="limit linear memory (e.g. 64M)")
    run.add_argument("--timeout", type=_positive_float, metavar="SECONDS", help="stop the guest after this long")
    # riscv64 Linux programs (ELF files)
    run.add_argument("-L", dest="sysroot", metavar="DIR",
                     help="riscv64 sysroot for the ELF interpreter and libraries (default /usr/riscv64-linux-gnu)")
    run.add_argument("--strace", action="store_true", help="print every system call of a riscv64 program")
    run.add_argument("--max-insns", type=_nonnegative_int, metavar="N",
                     help="stop a riscv64 program after about N instructions")
    # ---- the compiled tier (vmstack.jit)
    run.add_argument("--engine", choices=("interp", "jit", "auto"), default="interp",
                     help="interpret, compile everything with LLVM first, or interpret and compile hot code")
    run.add_argument("--opt-level", type=int, choices=range(4), default=2, metavar="0-3",
                     help="the compiler's optimisation level (default 2)")
    run.add_argument("program", metavar="PROG", help="a .wasm or .wat file, or a riscv64 Linux ELF program")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the guest")

    wast = sub.add_parser("wast", help="run WebAssembly spec test scripts")
    wast.add_argument("files", nargs="+", metavar="FILE.wast")
    wast.add_argument("-v", "--verbose", action="store_true", help="list every failing assertion")
    wast.add_argument("--engine", choices=("interp", "jit", "auto"), default="interp",
                      help="run the scripts' modules interpreted, compiled, or compiled when hot")

    inspect = sub.add_parser("inspect", help="list a module's sections, imports and exports")
    inspect.add_argument("program", metavar="PROG")

    sub.add_parser("demo", help="run the bundled hello-world guest")
    cache = sub.add_parser("cache", help="show the disk caches of compiled code and decoded modules")
    cache.add_argument("--clear", action="store_true", help="empty them")
    _add_container_parser(sub)
    _add_boot_parser(sub)
    return parser


# ---------------------------------------------------------------- run


def _module_source(path: str) -> bytes | str:
    """A module file's contents: bytes for a binary module, str for WebAssembly text."""
    data = read_named_file(path, UsageError)
    if data[:4] == b"\0asm":
        return data
    if data[:4] == b"\x7fELF":
        raise UsageError(f"{path}: an ELF program, not WebAssembly (run it with `vmstack run`)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: neither a WebAssembly binary nor WebAssembly text") from None


def _load_module(path: str) -> Any:
    from .wasm import Module

    return Module(None, _module_source(path))


@contextmanager
def _time_limit(seconds: float | None, engine: str = "interp") -> Iterator[None]:
    if not seconds:
        yield
        return
    from .wasm.errors import Timeout

    message = f"time limit of {seconds:g} s exceeded"

    def expire(signum: int, frame: Any) -> None:
        raise Timeout(message)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    stop_compiled = _stop_compiled_code(seconds, message) if engine != "interp" else None
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if stop_compiled is not None:
            stop_compiled()


def _stop_compiled_code(seconds: float, message: str) -> Any:
    """Compiled code never runs Python's signal handlers: a timer thread raises its interrupt flag
    instead. Returns the function that cancels the timer."""
    import threading

    from .jit.wasm_link import clear_interrupt, interrupt
    from .wasm.errors import Timeout

    timer = threading.Timer(seconds, lambda: interrupt(Timeout(message)))
    timer.daemon = True
    timer.start()

    def cancel() -> None:
        timer.cancel()
        clear_interrupt()
    return cancel


def _wasi_config(opts: argparse.Namespace) -> Any:
    from .wasm import WasiConfig

    config = WasiConfig()
    config.argv = [Path(opts.program).name, *opts.args]
    env = []
    for item in opts.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env expects K=V, got {item!r}")
        env.append((key, value))
    config.env = env
    for spec in opts.dir:
        host, sep, guest = spec.partition("::")
        if not os.path.isdir(host):
            raise UsageError(f"--dir {host}: not a directory")
        config.preopen_dir(host, guest if sep else host)
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    return config


def _parse_arg(valtype: str, text: str) -> Any:
    try:
        if valtype in ("i32", "i64", "v128"):
            return int(text, 0)
        if valtype in ("f32", "f64"):
            return float(text)
    except ValueError:
        raise UsageError(f"argument {text!r} is not a valid {valtype}") from None
    raise UsageError(f"cannot pass a {valtype} argument from the command line")


def _invoke(store: Any, instance: Any, name: str, args: list[str]) -> None:
    from .wasm import Func

    export = instance.exports(store).get(name)
    if not isinstance(export, Func):
        raise UsageError(f"the module exports no function named {name!r}")
    params = [str(p) for p in export.type(store).params]
    if len(args) != len(params):
        raise UsageError(f"{name} takes {len(params)} argument(s), {len(args)} given")
    result = export(store, *[_parse_arg(t, a) for t, a in zip(params, args)])
    if result is not None:
        for value in result if isinstance(result, list) else [result]:
            print(value)


def run_wasm(opts: argparse.Namespace) -> int:
    from .wasm import Config, Engine, Linker, Store

    module = _load_module(opts.program)
    config = Config()
    config.consume_fuel = opts.fuel is not None
    config.strategy = opts.engine
    config.opt_level = opts.opt_level
    engine = Engine(config)
    store = Store(engine)
    if opts.fuel is not None:
        store.set_fuel(opts.fuel)
    if opts.max_memory is not None:
        store.set_limits(memory_size=opts.max_memory)
    store.set_wasi(_wasi_config(opts))
    linker = Linker(engine)
    linker.define_wasi()
    try:
        with _time_limit(opts.timeout, opts.engine):
            instance = linker.instantiate(store, module)
            started()
            if opts.invoke:
                _invoke(store, instance, opts.invoke, opts.args)
            else:
                start = instance.exports(store).get("_start")
                if start is None:
                    raise UsageError(f"{opts.program}: no _start function to run (use --invoke FUNC)")
                start(store)
    finally:
        sys.stdout.flush()
        store.close()
    return 0


# ---------------------------------------------------------------- run: riscv64 Linux programs


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False  # the wasm path reports unreadable files


def run_elf(opts: argparse.Namespace) -> int:
    from .linux import ElfError, default_sysroot, host_environment, run_program, with_overrides

    for flag, value in (("--dir", opts.dir), ("--invoke", opts.invoke), ("--fuel", opts.fuel),
                        ("--max-memory", opts.max_memory), ("--timeout", opts.timeout)):
        if value:
            raise UsageError(f"{flag} is for WebAssembly programs, not riscv64 ELF programs")
    overrides = {}
    for item in opts.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env expects K=V, got {item!r}")
        overrides[key] = value
    env = with_overrides(host_environment(), overrides)
    if opts.sysroot is not None and not os.path.isdir(opts.sysroot):
        raise UsageError(f"-L {opts.sysroot}: not a directory")
    started()
    try:
        return run_program(opts.program, [opts.program, *opts.args], env,
                           sysroot=opts.sysroot if opts.sysroot is not None else default_sysroot(),
                           strace=opts.strace, max_insns=opts.max_insns)
    except ElfError as exc:
        print(f"vmstack: error: {exc}", file=sys.stderr)
        return EXIT_INVALID


def run_any(opts: argparse.Namespace) -> int:
    if _is_elf(opts.program):
        return run_elf(opts)
    for flag, value in (("-L", opts.sysroot), ("--strace", opts.strace), ("--max-insns", opts.max_insns)):
        if value:
            raise UsageError(f"{flag} is for riscv64 ELF programs, not WebAssembly")
    return run_wasm(opts)


# ---------------------------------------------------------------- other commands


def run_wast(opts: argparse.Namespace) -> int:
    from .wasm.wast import run_wast_file

    passed = failed = 0
    for path in opts.files:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
        result = run_wast_file(path, engine=opts.engine)
        passed += result.passed
        failed += result.failed
        shown = result.failures if opts.verbose else result.failures[:5]
        for failure in shown:
            print(f"FAIL {failure}")
        if len(shown) < len(result.failures):
            print(f"... and {len(result.failures) - len(shown)} more failures in {path} (use -v)")
        print(f"{path}: {result.passed} passed, {result.failed} failed")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def run_inspect(opts: argparse.Namespace) -> int:
    from .wasm.inspect import describe_module

    source = _module_source(opts.program)
    if isinstance(source, str):
        from .wasm.text import wat_to_wasm

        source = wat_to_wasm(source)
    print(describe_module(source))
    return 0


def run_demo(opts: argparse.Namespace) -> int:
    hello = Path(__file__).parent / "guests" / "hello.wasm"
    print(f"vmstack demo: a C program compiled once to WebAssembly ({hello.name}, "
          f"{hello.stat().st_size} bytes), run by vmstack's interpreter:", flush=True)
    demo = argparse.Namespace(program=str(hello), args=["from", "vmstack"], env=[], dir=[], invoke=None,
                              fuel=None, max_memory=None, timeout=None, sysroot=None, strace=False,
                              max_insns=None, engine="interp", opt_level=2)
    return run_wasm(demo)


def run_cache(opts: argparse.Namespace) -> int:
    """Each runtime cache's place, size and limit (see vmstack.cache), or emptied with --clear."""
    from . import cache

    limit = cache.size_limit()
    for name in cache.RUNTIME_CACHES:
        directory = cache.cache_dir(name)
        if opts.clear:
            print(f"{name}: {directory}: removed {_mib(cache.clear(directory))}")
            continue
        total, files = cache.usage(directory)
        print(f"{name}: {directory}: {_mib(total)} in {len(files)} files (limit {_mib(limit)}, set by "
              f"{cache.LIMIT_VARIABLE})")
    return 0


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


# ---------------------------------------------------------------- containers


def _add_container_parser(sub: Any) -> None:
    container = sub.add_parser("container", help="OCI containers: run an image, make a bundle or a rootfs")
    actions = container.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    for name, helptext in (("run", "run an image (OCI layout, oci-archive or docker-archive tar)"),
                           ("bundle", "unpack an image into an OCI runtime bundle without running it")):
        action = actions.add_parser(name, help=helptext)
        if name == "run":
            action.add_argument("--rm", action="store_true", help="remove the bundle after the run")
            action.add_argument("--name", help="container id (default: a generated one)")
            action.add_argument("-t", "--tty", action="store_true", help="give the container a terminal")
        action.add_argument("--runtime", metavar="PATH", help="another OCI runtime (default: vmstack-runc)")
        action.add_argument("-e", "--env", action="append", default=[], metavar="K=V", help="set a variable")
        action.add_argument("-w", "--workdir", metavar="DIR", help="working directory in the container")
        action.add_argument("-u", "--user", metavar="USER[:GROUP]", help="user (name or uid) to run as")
        action.add_argument("--hostname", help="the container's hostname (default: its name)")
        action.add_argument("image", metavar="IMAGE[:REF]")
        if name == "bundle":
            action.add_argument("bundle", metavar="DIR", help="bundle directory to create (must not exist)")
        action.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD", help="replaces the image Cmd")
    rootfs = actions.add_parser("rootfs", help="make a minimal root filesystem")
    rootfs.add_argument("kind", choices=["busybox"], help="busybox: Debian's busybox-static and /etc")
    rootfs.add_argument("directory", metavar="DIR")


def run_container(opts: argparse.Namespace) -> int:
    """`vmstack container ...`: errors before the container runs are one line, exit status 125."""
    from .containers import image, rootfs

    try:
        if opts.action == "rootfs":
            rootfs.make_busybox_rootfs(opts.directory)
            return 0
        command = opts.argv[1:] if opts.argv[:1] == ["--"] else opts.argv
        options = image.RunOptions(command=command, env=opts.env, workdir=opts.workdir, user=opts.user,
                                   hostname=opts.hostname, terminal=getattr(opts, "tty", False))
        runtime = [opts.runtime] if opts.runtime else image.VMSTACK_RUNC
        if opts.action == "bundle":
            image.create_bundle(opts.image, opts.bundle, options, runtime)
            return 0
        return image.run_image(opts.image, options, runtime, name=opts.name, remove=opts.rm)
    except (image.ImageError, rootfs.RootfsError) as exc:
        print(f"vmstack: error: {exc}", file=sys.stderr)
        return image.EXIT_IMAGE_ERROR


# ---------------------------------------------------------------- boot (the RISC-V system VM)

DEFAULT_BIOS = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"


def _add_boot_parser(sub: Any) -> None:
    boot = sub.add_parser("boot", help="boot a RISC-V board (firmware, kernel) on the emulated system VM")
    boot.add_argument("--machine", choices=["virt", "spike"], default="virt", help="the board (default virt)")
    boot.add_argument("--bios", default="default", metavar="FILE|default|none",
                      help="firmware loaded at 0x80000000 (default: Debian's OpenSBI fw_jump.bin)")
    boot.add_argument("--kernel", metavar="FILE", help="kernel or program (ELF or raw image)")
    boot.add_argument("--initrd", metavar="FILE", help="initial ramdisk")
    boot.add_argument("--append", default="", metavar="CMDLINE", help="kernel command line")
    boot.add_argument("--drive", action="append", default=[], metavar="FILE[,readonly]",
                      help="a raw disk image on virtio-blk")
    boot.add_argument("--memory", "-m", type=_parse_size, default=256 << 20, metavar="SIZE",
                      help="guest RAM (default 256M)")
    boot.add_argument("--net", metavar="tap:NAME|none", help="a virtio-net card on a host tap device")
    boot.add_argument("--clock", choices=["virtual", "host"], default="virtual",
                      help="the timer: virtual (follows guest instructions, the default) or host wall time")
    boot.add_argument("--max-insns", type=_nonnegative_int, metavar="N",
                      help="stop (status 124) after about N guest instructions")
    boot.add_argument("--no-reboot", action="store_true", help="exit (status 0) when the guest reboots")
    boot.add_argument("--device", action="append", default=[], metavar="virtio-rng-device|virtconsole[,path=FILE]",
                      help="a virtio-rng (host randomness) or a virtio console (to FILE, else the terminal)")
    boot.add_argument("--serial", default="stdio", metavar="stdio|none",
                      help="the UART's host side (none: typed input goes to a virtconsole without path=)")


def run_boot(opts: argparse.Namespace) -> int:
    from .devices.terminal import HostTerminal, QuitRequested
    from .machines.virt import BoardConfig, BoardError, Machine

    bios = {"default": DEFAULT_BIOS, "none": None}.get(opts.bios, opts.bios)
    if opts.bios == "default" and opts.machine == "spike":
        bios = None
    if opts.bios == "default" and not os.path.exists(DEFAULT_BIOS):
        raise UsageError(f"--bios default: {DEFAULT_BIOS} is missing (install Debian's opensbi)")
    drives = []
    for spec in opts.drive:
        path, _, flags = spec.partition(",")
        if flags not in ("", "readonly", "readonly=on"):
            raise UsageError(f"--drive {spec}: unknown option {flags!r} (only readonly)")
        drives.append((path, bool(flags)))
    config = BoardConfig(machine=opts.machine, memory=opts.memory, bios=bios, kernel=opts.kernel,
                         initrd=opts.initrd, append=opts.append, drives=drives, net=opts.net,
                         max_insns=opts.max_insns, clock=opts.clock, reboot=not opts.no_reboot,
                         devices=opts.device, serial=opts.serial)
    terminal = HostTerminal()
    try:
        machine = Machine(config, terminal.write)
    except BoardError as error:
        raise UsageError(str(error)) from None
    try:
        with terminal:
            outcome = machine.run(terminal.read_available)
    except QuitRequested:
        print("\nvmstack: quit (Ctrl-A x)", file=sys.stderr)
        return 0
    finally:
        machine.close()
    if outcome.status or outcome.reason == "guest reset":
        print(f"vmstack: {outcome.reason} after {outcome.instructions} instructions", file=sys.stderr)
    return outcome.status



COMMANDS = {"run": run_any, "wast": run_wast, "inspect": run_inspect, "demo": run_demo, "cache": run_cache,
            "container": run_container, "boot": run_boot}


def _exit_status(exc: BaseException) -> tuple[int, str]:
    from .wasm.errors import (
        DecodeError,
        ExitTrap,
        LinkError,
        MemoryLimitExceeded,
        OutOfFuel,
        Timeout,
        Trap,
        ValidationError,
    )

    if isinstance(exc, ExitTrap):
        return exc.code, ""
    outcomes = [  # most specific first: the limits are kinds of Trap
        (Timeout, EXIT_TIMEOUT, "guest stopped: {0.message}"),
        (OutOfFuel, EXIT_FUEL, "guest stopped: {0.message}"),
        (MemoryLimitExceeded, EXIT_MEMORY, "guest stopped: {0.message}"),
        (Trap, EXIT_TRAP, "wasm trap: {0}"),
        (DecodeError, EXIT_INVALID, "malformed module: {0}"),
        (ValidationError, EXIT_INVALID, "invalid module: {0}"),
        (LinkError, EXIT_INVALID, "cannot instantiate: {0}"),
    ]
    for kind, status, message in outcomes:
        if isinstance(exc, kind):
            return status, message.format(exc)
    return EXIT_INVALID, str(exc)


def entry() -> NoReturn:
    """The `vmstack` command (its console script and `python -m vmstack`): main(), then the process
    ends without the interpreter's teardown (see vmstack.exit_now)."""
    from . import exit_now

    _whole_process.append(True)
    try:
        status = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    exit_now(status)


_collecting: list[bool] = []  # whether the cycle collector ran when main() was entered (innermost last)
_whole_process: list[bool] = []  # main() runs as the process's command (entry), not called in a program


def started() -> None:
    """The end of a command's start-up, which makes tens of thousands of objects (modules, a guest's
    decoded form, an instance) and next to no garbage: the cycle collector, off until then (its
    passes over them were a tenth of a cached compiled run), runs again for the guest. In the
    `vmstack` process itself they are frozen out of its passes for good; main() called from a
    program (tests, say) leaves the collector's generations as they are, so that garbage of its own
    is collected as usual (unfrozen at the end, it would wait for a full collection, run wherever
    the program then is: a CI run saw finalizers fail in the middle of a runaway-recursion test)."""
    if _whole_process:
        gc.freeze()
    if _collecting and _collecting[-1]:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    _collecting.append(gc.isenabled())
    gc.disable()  # until started()
    try:
        return _main(argv)
    finally:
        if _collecting.pop():
            gc.enable()


def _main(argv: list[str] | None) -> int:
    from .wasm.errors import WasmError

    parser = build_parser()
    try:
        opts = parser.parse_args(argv)
        if not opts.command:
            parser.print_help()
            return EXIT_USAGE
        if COMMANDS[opts.command] is not run_any:  # which says when its guest starts
            started()
        return COMMANDS[opts.command](opts)
    except UsageError as exc:
        print(f"vmstack: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WasmError as exc:
        status, message = _exit_status(exc)
        if message:
            print(f"vmstack: {message}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print("vmstack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # noqa: BLE001 - a vmstack bug: still one line, and a distinct status
        print(f"vmstack: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70
