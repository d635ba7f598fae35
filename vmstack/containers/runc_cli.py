"""`vmstack-runc`: runc's command line (create, start, run, state, kill, delete, exec, list, ps, pause,
resume, spec, events, version) over vmstack.containers, with runc's global flags, its logrus-style
one-line errors (text or json, to stderr and the --log file) and its exit codes: 1 for any failure,
the container's own status for `run` and `exec`. A command imports only what it needs (the spec,
seccomp, subprocess only where used): start-up time is most of what start, state, kill and delete
cost."""

from __future__ import annotations

import os
import sys

from vmstack import exit_now  # noqa: F401 - the launcher's way out
from vmstack.containers import lifecycle, state
from vmstack.containers.lifecycle import CreateOptions, Runtime, RuntimeFailure

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any, NoReturn

VERSION = "0.1.0"
COMMANDS = {
    "create": "create a container", "start": "executes the user defined process in a created container",
    "run": "create and run a container", "state": "output the state of a container",
    "kill": "kill sends the specified signal (default: SIGTERM) to the container's init process",
    "delete": "delete any resources held by the container often used with detached container",
    "exec": "execute new process inside the container", "list": "lists containers started by runc with the "
    "given root", "ps": "ps displays the processes running inside a container",
    "pause": "pause suspends all processes inside the container",
    "resume": "resumes all processes that have been previously paused",
    "spec": "create a new specification file", "events": "display container events such as OOM notifications, "
    "cpu, memory, and IO usage statistics", "checkpoint": "checkpoint a running container (not supported)",
    "restore": "restore a container from a previous checkpoint (not supported)",
    "update": "update container resource constraints",
}


class Logger:
    """runc's logrus output: `time="..." level=error msg="..."` or the json form."""

    def __init__(self, path: str | None, fmt: str, debug: bool):
        self.path, self.fmt, self.debug_enabled = path, fmt, debug

    def _line(self, level: str, message: str, fmt: str) -> str:
        now = state.utc_timestamp()
        if fmt == "json":
            return state.to_json({"level": level, "msg": message, "time": now}, compact=True)
        return f"time=\"{now}\" level={level} msg={state.to_json(message)}"

    def log(self, level: str, message: str) -> None:
        if self.path:
            with open(self.path, "a") as f:
                f.write(self._line(level, message, self.fmt) + "\n")
        else:
            print(self._line(level, message, self.fmt), file=sys.stderr)

    def error(self, message: str) -> None:
        self.log("error", message)
        if self.path:
            print(self._line("error", message, "text"), file=sys.stderr)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self.log("debug", message)


def _help(command: str | None) -> NoReturn:
    if command is None:
        print("NAME:\n   vmstack-runc - Open Container Initiative runtime (vmstack)\n\nUSAGE:\n"
              "   vmstack-runc [global options] command [command options] [arguments...]\n\nCOMMANDS:")
        for name, text in COMMANDS.items():
            print(f"   {name:12}{text}")
        print("\nGLOBAL OPTIONS:\n   --debug, --log value, --log-format value, --root value, --systemd-cgroup")
    else:
        print(f"NAME:\n   vmstack-runc {command} - {COMMANDS[command]}\n\nUSAGE:\n"
              f"   vmstack-runc {command} [command options] <container-id>")
    sys.exit(0)


class Usage(Exception):
    """Wrong command-line use (runc prints `Incorrect Usage` and exits 1)."""


class Arguments:
    """What a command line gave: one attribute per flag and argument."""


class Parser:
    """One command's flags and arguments, taken as runc's command line takes them: `--name value`,
    `--name=value`, short aliases, boolean flags, repeatable ones; flags may come between arguments
    until the trailing argument list (exec's command), which takes everything after it as it is
    (a leading `--` dropped). Its own, not argparse: argparse, with the re and enum modules it
    imports, costs more than a whole `start`."""

    REMAINDER = "..."

    def __init__(self, prog: str):
        self.prog = prog
        self.flags: dict[str, tuple[str, str, Any, Any, Any]] = {}  # name -> attribute, kind, default, type, choices
        self.arguments: list[tuple[str, str, Any]] = []  # (attribute, "one" | "?" | REMAINDER, default)

    def add_argument(self, *names: str, action: str = "", default: Any = None, type: Any = str,
                     choices: list[str] | None = None, nargs: str = "one") -> None:
        if not names[0].startswith("-"):
            self.arguments.append((names[0], nargs, default))
            return
        attribute = max(names, key=len).lstrip("-").replace("-", "_")
        kind = {"store_true": "bool", "append": "list"}.get(action, "value")
        for name in names:
            self.flags[name] = (attribute, kind, False if kind == "bool" else default, type, choices)

    def parse_args(self, argv: list[str]) -> Arguments:
        parsed = Arguments()
        for attribute, kind, default, _, _ in self.flags.values():
            setattr(parsed, attribute, [] if kind == "list" else default)
        words: list[str] = []
        rest_at = next((i for i, (_, nargs, _) in enumerate(self.arguments) if nargs == self.REMAINDER), -1)
        rest: list[str] = []
        index = 0
        while index < len(argv):
            word = argv[index]
            index += 1
            if len(words) == rest_at:
                rest = argv[index - (word != "--"):]
                break
            if word == "--":
                words += argv[index:]
                break
            if not word.startswith("-") or word == "-":
                words.append(word)
                continue
            name, has_value, value = word.partition("=")
            if name not in self.flags:
                raise Usage(f"flag provided but not defined: {name}")
            attribute, kind, _, convert, choices = self.flags[name]
            if kind == "bool":
                setattr(parsed, attribute, value.lower() not in ("false", "0") if has_value else True)
                continue
            if not has_value:
                if index == len(argv):
                    raise Usage(f"flag needs an argument: {name}")
                value, index = argv[index], index + 1
            try:
                converted = convert(value)
            except ValueError:
                converted = None
            if converted is None or (choices and converted not in choices):
                raise Usage(f"invalid value {value!r} for flag {name}")
            if kind == "list":
                getattr(parsed, attribute).append(converted)
            else:
                setattr(parsed, attribute, converted)
        for attribute, nargs, default in self.arguments:
            if nargs == self.REMAINDER:
                setattr(parsed, attribute, rest)
            elif words:
                setattr(parsed, attribute, words.pop(0))
            elif nargs == "?":
                setattr(parsed, attribute, default)
            else:
                raise Usage(f"{self.prog}: missing argument <{attribute.replace('_', '-')}>")
        if words:
            raise Usage(f"{self.prog}: unexpected arguments: {' '.join(words)}")
        return parsed


def _parser(command: str) -> Parser:
    p = Parser(f"vmstack-runc {command}")
    p.add_argument("-h", "--help", action="store_true")
    return p


def _creating(p: Parser) -> None:
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--console-socket")
    p.add_argument("--pid-file")
    p.add_argument("--no-pivot", action="store_true")
    p.add_argument("--no-new-keyring", action="store_true")
    p.add_argument("--preserve-fds", type=int, default=0)


def _signal(name: str) -> int:
    if name.isdigit():
        return int(name)
    import signal

    name = name.upper()
    try:
        return int(signal.Signals[name if name.startswith("SIG") else "SIG" + name])
    except KeyError:
        raise RuntimeFailure(f"unknown signal {name!r}") from None


def _options(args: Arguments) -> CreateOptions:
    pid_file = os.path.abspath(args.pid_file) if args.pid_file else None
    console_socket = os.path.abspath(args.console_socket) if args.console_socket else None
    return CreateOptions(console_socket=console_socket, pid_file=pid_file,
                         no_pivot=getattr(args, "no_pivot", False), preserve_fds=args.preserve_fds)


def cmd_create(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("create")
    _creating(p)
    p.add_argument("id")
    args = p.parse_args(argv)
    runtime.create(args.id, args.bundle, _options(args))
    return 0


def cmd_run(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("run")
    _creating(p)
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--no-subreaper", action="store_true")
    p.add_argument("id")
    args = p.parse_args(argv)
    if args.detach and args.keep:
        raise RuntimeFailure("--detach and --keep cannot both be used")
    options = _options(args)
    local = console = None
    if not args.detach and not args.console_socket:
        from vmstack.containers.spec import SpecError, load_bundle

        try:
            terminal = load_bundle(os.path.realpath(args.bundle)).process.terminal
        except (SpecError, AttributeError):
            terminal = False
        if terminal:
            import socket

            console, local = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    container = runtime.create(args.id, args.bundle, options, console=console)
    if not args.detach:
        lifecycle.forward_signals(container.record.pid)
    try:
        runtime.start(container)
    except RuntimeFailure:
        runtime.delete(container, force=True)
        raise
    if args.detach:
        return 0
    status = lifecycle.wait_for(container.record.pid, local)
    cgroup = runtime.cgroup(container)
    if cgroup.oom_kills():
        print("vmstack-runc: container killed by the OOM killer (memory limit reached)", file=sys.stderr)
    if not args.keep:
        runtime.delete(container, force=True)
    return status


def cmd_start(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("start")
    p.add_argument("id")
    runtime.start(runtime.container(p.parse_args(argv).id))
    return 0


def cmd_state(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("state")
    p.add_argument("id")
    container = runtime.container(p.parse_args(argv).id)
    print(state.to_json(container.oci_state(runtime.status(container)), indent="  "))
    return 0


def cmd_kill(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("kill")
    p.add_argument("--all", "-a", action="store_true")
    p.add_argument("id")
    p.add_argument("signal", nargs="?", default="SIGTERM")
    args = p.parse_args(argv)
    runtime.kill(runtime.container(args.id), _signal(args.signal), args.all)
    return 0


def cmd_delete(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("delete")
    p.add_argument("--force", "-f", action="store_true")
    p.add_argument("id")
    args = p.parse_args(argv)
    container = state.Container(runtime.root, args.id)
    if not container.exists():
        if args.force:
            return 0
        raise RuntimeFailure("container does not exist")
    runtime.delete(container, args.force)
    return 0


def cmd_pause(runtime: Runtime, argv: list[str], frozen: bool = True) -> int:
    p = _parser("pause" if frozen else "resume")
    p.add_argument("id")
    container = runtime.container(p.parse_args(argv).id)
    status = runtime.status(container)
    if status not in ("running", "paused", "created"):
        raise RuntimeFailure("container not running")
    cgroup = runtime.cgroup(container)
    if frozen:
        cgroup.freeze()
    elif status != "paused":
        raise RuntimeFailure("container not paused")
    else:
        cgroup.thaw()
    return 0


def cmd_resume(runtime: Runtime, argv: list[str]) -> int:
    return cmd_pause(runtime, argv, frozen=False)


def cmd_list(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("list")
    p.add_argument("--format", "-f", default="table", choices=["table", "json"])
    p.add_argument("--quiet", "-q", action="store_true")
    args = p.parse_args(argv)
    states = [c.oci_state(runtime.status(c)) for c in state.all_containers(runtime.root)]
    if args.quiet:
        for s in states:
            print(s["id"])
    elif args.format == "json":
        print(state.to_json(states, compact=True))
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"] or "root")
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for row in rows:
            print("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_ps(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("ps")
    p.add_argument("--format", "-f", default="table", choices=["table", "json"])
    p.add_argument("id")
    p.add_argument("ps_args", nargs=Parser.REMAINDER)
    args = p.parse_args(argv)
    container = runtime.container(args.id)
    pids = runtime.cgroup(container).pids()
    if args.format == "json":
        import json

        print(json.dumps(pids))
        return 0
    import subprocess

    listing = subprocess.run(["ps", *(args.ps_args or ["-ef"])], check=False, capture_output=True, text=True)
    if listing.returncode != 0:
        raise RuntimeFailure(f"ps: {listing.stderr.strip()}")
    lines = listing.stdout.splitlines()
    header = lines[0].split()
    if "PID" not in header:
        raise RuntimeFailure("couldn't find PID field in ps output")
    column = header.index("PID")
    print(lines[0])
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            print(line)
    return 0


def cmd_exec(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("exec")
    p.add_argument("--console-socket")
    p.add_argument("--cwd")
    p.add_argument("--env", "-e", action="append", default=[])
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("--user", "-u")
    p.add_argument("--additional-gids", "-g", action="append", default=[], type=int)
    p.add_argument("--process", "-p")
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--pid-file")
    p.add_argument("--process-label")
    p.add_argument("--apparmor")
    p.add_argument("--no-new-privs", action="store_true")
    p.add_argument("--cap", "-c", action="append", default=[])
    p.add_argument("--preserve-fds", type=int, default=0)
    p.add_argument("--cgroup", action="append", default=[])
    p.add_argument("--ignore-paused", action="store_true")
    p.add_argument("id")
    p.add_argument("command", nargs=Parser.REMAINDER)
    args = p.parse_args(argv)
    import json

    from vmstack.containers.spec import Capabilities, parse_process

    container = runtime.container(args.id)
    base = container.config().get("process") or {}
    if args.process:
        try:
            with open(args.process) as f:
                raw = json.load(f)
        except (OSError, ValueError) as error:
            raise RuntimeFailure(f"process file {args.process}: {error}") from None
        proc = parse_process(raw)
    else:
        if not args.command:
            raise RuntimeFailure("args must not be empty")
        proc = parse_process(dict(base, args=args.command, terminal=args.tty))
        proc.env += args.env
        if args.cwd:
            proc.cwd = args.cwd
        if args.user:
            uid, _, gid = args.user.partition(":")
            proc.user.uid = int(uid)
            proc.user.gid = int(gid) if gid else proc.user.gid
        if args.additional_gids:
            proc.user.additional_gids = args.additional_gids
        if args.no_new_privs:
            proc.no_new_privileges = True
        if args.apparmor:
            proc.apparmor_profile = args.apparmor
        if args.process_label:
            proc.selinux_label = args.process_label
        if args.cap:
            caps = proc.capabilities or Capabilities()
            for name in args.cap:
                for kind in ("bounding", "effective", "permitted", "ambient"):
                    getattr(caps, kind).append(name)
            proc.capabilities = caps
    return runtime.exec(container, proc, args.detach, CreateOptions(
        console_socket=args.console_socket, pid_file=os.path.abspath(args.pid_file) if args.pid_file else None,
        preserve_fds=args.preserve_fds), args.cgroup, args.ignore_paused)


def cmd_spec(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("spec")
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--rootless", action="store_true")
    args = p.parse_args(argv)
    target = os.path.join(args.bundle, "config.json")
    if os.path.exists(target):
        raise RuntimeFailure("File config.json exists. Remove it first")
    import json

    from vmstack.containers.default_spec import default_spec

    with open(target, "w") as f:
        json.dump(default_spec(args.rootless), f, indent="\t")
    return 0


def _duration(text: str) -> float:
    """A Go duration like 5s, 100ms or 1m, in seconds."""
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            try:
                return float(text[:-len(suffix)]) * scale
            except ValueError:
                break
    raise RuntimeFailure(f"invalid duration {text!r}")


def _event(kind: str, container_id: str, data: dict | None = None) -> str:
    import json

    event: dict[str, Any] = {"type": kind, "id": container_id}
    if data is not None:
        event["data"] = data
    return json.dumps(event, separators=(",", ":"))


def cmd_events(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("events")
    p.add_argument("--stats", action="store_true")
    p.add_argument("--interval", default="5s")
    p.add_argument("id")
    args = p.parse_args(argv)
    import time

    container = runtime.container(args.id)
    cgroup = runtime.cgroup(container)
    interval = _duration(args.interval)
    seen = cgroup.oom_kills()
    next_stats = 0.0
    while True:
        if not container.exists() or runtime.status(container) == "stopped":
            return 0
        kills = cgroup.oom_kills()
        if kills > seen:
            print(_event("oom", args.id), flush=True)
            seen = kills
        if time.monotonic() >= next_stats:
            print(_event("stats", args.id, cgroup.stats()), flush=True)
            if args.stats:
                return 0
            next_stats = time.monotonic() + interval
        time.sleep(min(interval, 0.1))


UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def _bytes(text: str) -> int:
    """A size like 52428800, 50M, 1g or -1 (unlimited)."""
    number = text.strip().lower().removesuffix("ib").removesuffix("b") if text.strip() != "-1" else "-1"
    unit = number[-1] if number and number[-1] in UNITS and not number[-1].isdigit() else ""
    try:
        return int(float(number[:len(number) - len(unit)]) * UNITS[unit])
    except ValueError:
        raise RuntimeFailure(f"invalid size: {text!r}") from None


UPDATE_FLAGS = {  # flag -> (section, key, parser)
    "--blkio-weight": ("blockIO", "weight", int), "--cpu-period": ("cpu", "period", int),
    "--cpu-quota": ("cpu", "quota", int), "--cpu-share": ("cpu", "shares", int),
    "--cpu-rt-period": ("cpu", "realtimePeriod", int), "--cpu-rt-runtime": ("cpu", "realtimeRuntime", int),
    "--cpuset-cpus": ("cpu", "cpus", str), "--cpuset-mems": ("cpu", "mems", str),
    "--memory": ("memory", "limit", _bytes), "--memory-reservation": ("memory", "reservation", _bytes),
    "--memory-swap": ("memory", "swap", _bytes), "--kernel-memory": ("memory", "kernel", _bytes),
    "--kernel-memory-tcp": ("memory", "kernelTCP", _bytes), "--pids-limit": ("pids", "limit", int),
}


def cmd_update(runtime: Runtime, argv: list[str]) -> int:
    p = _parser("update")
    p.add_argument("--resources", "-r")
    for flag in UPDATE_FLAGS:
        p.add_argument(flag)
    p.add_argument("--l3-cache-schema")
    p.add_argument("--mem-bw-schema")
    p.add_argument("id")
    args = p.parse_args(argv)
    container = runtime.container(args.id)
    if runtime.status(container) == "stopped":
        raise RuntimeFailure("container not running")
    if args.l3_cache_schema or args.mem_bw_schema:
        raise RuntimeFailure("Intel RDT is not supported on this host")
    import json

    if args.resources:
        try:
            if args.resources == "-":
                text = sys.stdin.read()
            else:
                with open(args.resources) as f:
                    text = f.read()
            changes = json.loads(text)
        except (OSError, ValueError) as error:
            raise RuntimeFailure(f"unable to parse resources: {error}") from None
    else:
        changes = {}
        for flag, (section, key, parse) in UPDATE_FLAGS.items():
            value = getattr(args, flag[2:].replace("-", "_"))
            if value is not None:
                try:
                    changes.setdefault(section, {})[key] = parse(value)
                except ValueError:
                    raise RuntimeFailure(f"invalid value for {flag}: {value!r}") from None
    runtime.cgroup(container).apply(changes)
    config = container.config()
    resources = config.setdefault("linux", {}).setdefault("resources", {})
    for section, values in changes.items():
        if isinstance(values, dict):
            resources.setdefault(section, {}).update(values)
    with open(os.path.join(container.dir, "config.json"), "w") as f:
        json.dump(config, f)
    return 0


def cmd_unsupported(runtime: Runtime, argv: list[str]) -> int:
    raise RuntimeFailure("this command is not supported by vmstack-runc")


HANDLERS: dict[str, Any] = {
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "pause": cmd_pause, "resume": cmd_resume, "list": cmd_list, "ps": cmd_ps,
    "exec": cmd_exec, "spec": cmd_spec, "events": cmd_events, "checkpoint": cmd_unsupported,
    "restore": cmd_unsupported, "update": cmd_update,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = Parser("vmstack-runc")
    top.add_argument("-h", "--help", action="store_true")
    top.add_argument("-v", "--version", action="store_true")
    top.add_argument("--root", default=state.DEFAULT_ROOT)
    top.add_argument("--log")
    top.add_argument("--log-format", default="text", choices=["text", "json"])
    top.add_argument("--debug", action="store_true")
    top.add_argument("--systemd-cgroup", action="store_true")
    top.add_argument("--criu")
    top.add_argument("--rootless", default="auto")
    top.add_argument("command", nargs="?")
    top.add_argument("rest", nargs=Parser.REMAINDER)
    logger = Logger(None, "text", False)
    try:
        args = top.parse_args(argv)
        logger = Logger(args.log, args.log_format, args.debug)
        if args.version or args.command == "version":
            print(f"vmstack-runc version {VERSION}\ncommit: vmstack\nspec: {state.OCI_VERSION}")
            return 0
        if args.help or args.command in (None, "help"):
            _help(None)
        if args.command not in HANDLERS:
            raise Usage(f"No help topic for '{args.command}'")
        if "-h" in args.rest[:1] or "--help" in args.rest[:1]:
            _help(args.command)
        logger.debug(f"vmstack-runc {args.command} {' '.join(args.rest)}")
        runtime = Runtime(args.root, logger.debug if args.debug else None)
        if args.command == "exec":  # exec's own failures are 255: 1..254 belong to the process
            try:
                return cmd_exec(runtime, args.rest)
            except (RuntimeFailure, OSError, *lifecycle.known_failures()) as error:
                logger.error(f"exec failed: {error}")
                return 255
        return HANDLERS[args.command](runtime, args.rest)
    except Usage as error:
        print("Incorrect Usage.", file=sys.stderr)
        logger.error(f"vmstack-runc: {error}")
        return 1
    except OSError as error:
        logger.error(f"{error.strerror or error}{': ' + error.filename if error.filename else ''}")
        return 1
    except Exception as error:  # known_failures() imports modules: not for every SystemExit of --help
        if not isinstance(error, (RuntimeFailure, *lifecycle.known_failures())):
            raise
        logger.error(str(error))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
