"""A container's life: create (the init set up in new namespaces and a cgroup, then blocked on
exec.fifo), start (the fifo opened: the init execs), exec (a new process joining the init's
namespaces and cgroup), kill, and delete (processes, cgroup and state removed).

Processes: the runtime R forks a bootstrap B (born in the cgroup's v2 directory where there is one)
that joins the cgroup (R stays out of it) and the namespaces given by path, unshares the new ones (R
writes the uid/gid maps of a new user namespace) and forks the init I, pid 1 of a new pid namespace; B exits and I, reparented to R (a subreaper), reports
over a SEQPACKET socket: its pid, the moment for createRuntime hooks, then ready or an error.

Only create and exec need the spec, mounts, namespaces, process and seccomp modules: they import them
(before forking), so that start, state, kill and delete start up fast: at module level this imports
only os, select and marshal (json, socket, signal, pathlib and typing import re or enum, which cost more
than a whole `start`); the cgroups and hooks modules are loaded where they are used (start, with no
hooks, loads neither)."""

from __future__ import annotations

import _signal  # signal.py builds its enums at import
import marshal
import os
import select
import sys

from vmstack.containers import state

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import Any

    from vmstack.containers.cgroups import Cgroup
    from vmstack.containers.seccomp import Filter
    from vmstack.containers.spec import Process, Spec

PR_SET_CHILD_SUBREAPER = 36


FAILURES = {"vmstack.containers.spec": "SpecError", "vmstack.containers.mounts": "MountError",
            "vmstack.containers.process": "ProcessError", "vmstack.containers.seccomp": "SeccompError",
            "vmstack.containers.cgroups": "CgroupError", "vmstack.containers.hooks": "HookError"}


def known_failures() -> tuple[type[Exception], ...]:
    """The errors reported as one line. Those of modules a command never loaded cannot have been raised:
    nothing is imported (a child inside the container's mount namespace cannot import anything)."""
    loaded = [getattr(sys.modules[name], error) for name, error in FAILURES.items() if name in sys.modules]
    return state.StateError, *loaded


class RuntimeFailure(Exception):
    """A one-line error for the command line."""


class CreateOptions:
    """What create's (and exec's) command line adds to the spec."""

    def __init__(self, console_socket: str | None = None, pid_file: str | None = None, no_pivot: bool = False,
                 preserve_fds: int = 0):
        self.console_socket, self.pid_file, self.no_pivot = console_socket, pid_file, no_pivot
        self.preserve_fds = preserve_fds


def _channel() -> tuple[socket.socket, socket.socket]:
    """A SEQPACKET socket pair between the runtime and its children, from _socket: the socket module
    builds four enums at import."""
    import _socket

    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def _send(sock: socket.socket, **message: Any) -> None:
    """One message to the other end (a process of ours): marshal, as json would import re and enum."""
    sock.send(marshal.dumps(message))


stages_reported = False
"""Whether the children report their stages (set by a Runtime given a debug log): each message wakes
the runtime, for nothing when there is no log."""


def _debug(sock: socket.socket, message: str) -> None:
    """A stage reached in a child, for the runtime's --debug log (worded as runc's where the stage is
    the same: runc's nsexec joins or makes the namespaces, its init readies and execs the process)."""
    if stages_reported:
        _send(sock, type="debug", message=message)


def _recv(sock: socket.socket) -> dict[str, Any]:
    data = sock.recv(1 << 20)
    return marshal.loads(data) if data else {"type": "eof"}


def _write_pid_file(path: str | None, pid: int) -> None:
    if path:
        state.write_file(path, str(pid))


def _console(options: CreateOptions) -> socket.socket:
    import socket

    console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        console.connect(options.console_socket)
    except OSError as error:
        raise RuntimeFailure(f"failed to connect to console socket {options.console_socket}: "
                             f"{error.strerror}") from None
    return console


def check_unsupported(proc: Process) -> None:
    """Fields this host cannot honour: a clear error, as runc gives."""
    if proc.apparmor_profile:
        try:
            with open("/sys/module/apparmor/parameters/enabled") as f:
                enabled = f.read().startswith("Y")
        except OSError:
            enabled = False
        if not enabled:
            raise RuntimeFailure("apparmor profile set but AppArmor is not enabled on this host")
        raise RuntimeFailure("apparmor profiles are not supported by vmstack-runc")
    if proc.selinux_label:
        raise RuntimeFailure("selinux label set but SELinux is not supported by vmstack-runc")


def _filter(profile: Any, no_new_privileges: bool) -> Filter | None:
    """The seccomp filter of a profile (libseccomp is loaded only when there is one)."""
    if not profile:
        return None
    from vmstack.containers.seccomp import Filter

    return Filter(profile, no_new_privileges)


def _fail_child(sock: socket.socket | None, error: BaseException) -> None:
    message = str(error) if isinstance(error, (*known_failures(), RuntimeFailure)) else \
        f"{type(error).__name__}: {error}"
    try:
        if sock is None:
            raise OSError
        _send(sock, type="error", message=message)
    except OSError:
        print(f"vmstack-runc: {message}", file=sys.stderr)
    os._exit(1)


def _init(spec: Spec, cgroup: Cgroup, sock: socket.socket, console: socket.socket | None,
          fifo_fd: int, options: CreateOptions, seccomp: Filter | None, bind_sources: dict[int, int]) -> None:
    """The container's init (pid 1 of its pid namespace): set up the view, report ready, wait for start."""
    from vmstack.containers import hooks, mounts, process  # all imported by the runtime before forking
    from vmstack.containers.libc import setdomainname, sethostname

    proc = spec.process
    try:
        _debug(sock, "child process in init()")
        os.setsid()
        user_ns = spec.linux.namespace("user") is not None
        if user_ns:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        if spec.hostname:
            sethostname(spec.hostname)
        if spec.domainname:
            setdomainname(spec.domainname)
        rootfs = mounts.prepare_rootfs(spec, cgroup, user_ns, bind_sources)
        for fd in bind_sources.values():
            os.close(fd)
        hook_state: dict[str, Any] = {}
        if any(spec.hooks.get(kind) for kind in ("prestart", "createRuntime", "createContainer", "startContainer")):
            _send(sock, type="hooks")
            reply = _recv(sock)
            if reply["type"] != "ok":
                os._exit(1)
            hook_state = reply["state"]
            hooks.run_hooks("createContainer", spec.hooks.get("createContainer", []), hook_state)
        mounts.enter_rootfs(rootfs, options.no_pivot)
        for name, value in spec.linux.sysctl.items():  # before finish_rootfs makes /proc/sys read-only
            with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
                f.write(value)
        mounts.finish_rootfs(spec)
        if console is not None:
            process.attach_terminal(proc, console, "/dev/console")
        process.apply_rlimits(proc)
        if proc.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(proc.oom_score_adj))
        env = process.environment(proc)
        executable = process.find_executable(proc, env)
        _debug(sock, "init: closing the pipe to signal completion")
        _send(sock, type="ready")
        sock.close()
    except BaseException as error:  # noqa: BLE001 - anything here is reported to the runtime
        _fail_child(sock, error)
    try:
        fd = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
        os.close(fifo_fd)
        start_hooks = spec.hooks.get("startContainer", [])
        if start_hooks:
            hooks.run_hooks("startContainer", start_hooks, dict(hook_state, status="running"))
        _exec_process(proc, seccomp, executable, env, options.preserve_fds)
    except BaseException as error:  # noqa: BLE001
        _fail_child(None, error)


def _exec_process(proc: Process, seccomp: Filter | None, executable: str, env: dict[str, str],
                  preserve_fds: int) -> None:
    from vmstack.containers import process

    for fd in range(3, 3 + preserve_fds):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    os.closerange(3 + preserve_fds, 1 << 16)
    process.become(proc, seccomp, executable, env)


def _send_bind_sources(sock: socket.socket, bootstrap: int, spec: Spec) -> None:
    """From a helper in B's new mount namespace with the runtime's rights, pass B the bind sources."""
    import socket

    from vmstack.containers import mounts, namespaces

    helper = os.fork()
    if helper == 0:
        try:
            bundle = os.getcwd()
            with open(f"/proc/{bootstrap}/ns/mnt") as ns:
                namespaces.libc.setns(ns.fileno(), namespaces.CLONE_FLAGS["mount"])
            sources = mounts.open_bind_sources(spec, bundle)
            socket.send_fds(sock, [marshal.dumps(list(sources))], list(sources.values()))
        except BaseException as error:  # noqa: BLE001
            _fail_child(None, error)
        os._exit(0)
    os.waitpid(helper, 0)


def _bootstrap(join: list, new_flags: int, new_user: bool, cgroup: Cgroup, sock: socket.socket,
               then: Any, sub_paths: dict[str, str] | None = None, bind_sources: dict[int, int] | None = None) -> None:
    """Process B: cgroup, namespaces, fork of the init (which runs `then()`); given `bind_sources`, B
    asks for the bind mounts' sources once its mount namespace exists and fills it in."""
    from vmstack.containers import namespaces

    try:
        _debug(sock, "=> nsexec container setup")
        cgroup.join(sub_paths)
        for ns in join:
            _debug(sock, f"setns({namespaces.CLONE_FLAGS[ns.type]:#x}) into {ns.type} namespace (with path {ns.path})")
        namespaces.join(join)
        if new_flags:
            _debug(sock, "unshare " + ",".join(kind for kind, flag in namespaces.CLONE_FLAGS.items() if flag & new_flags))
        if new_user:
            namespaces.unshare(namespaces.CLONE_FLAGS["user"])
            _send(sock, type="userns")
            if _recv(sock)["type"] != "ok":
                os._exit(1)
        namespaces.unshare(new_flags & ~namespaces.CLONE_FLAGS["user"])
        if bind_sources is not None:
            import socket

            _send(sock, type="mountns")
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 256)
            bind_sources.update(zip(marshal.loads(data), fds))
        _debug(sock, "<= nsexec container setup")
        pid = os.fork()
        if pid == 0:
            then()
            os._exit(1)
        _send(sock, type="pid", pid=pid)
    except BaseException as error:  # noqa: BLE001
        _fail_child(sock, error)
    os._exit(0)


class Runtime:
    """The runtime's view of its root directory of containers."""

    def __init__(self, root: str, debug: Callable[[str], None] | None = None):
        self.root = root
        global stages_reported
        self.debug = debug or (lambda message: None)  # --debug: the stages children report are logged
        stages_reported = debug is not None

    def _next_message(self, sock: socket.socket) -> dict[str, Any]:
        """The next message from the runtime's children, logging their debug messages on the way."""
        while True:
            message = _recv(sock)
            if message["type"] != "debug":
                return message
            self.debug(message["message"])

    def container(self, container_id: str) -> state.Container:
        container = state.Container(self.root, container_id)
        if not container.exists():
            raise RuntimeFailure("container does not exist")
        return container

    def status(self, container: state.Container) -> str:
        """The container's status; its cgroup is read only for a running one (paused or not)."""
        status = container.status()
        if status == "running" and self.cgroup(container).frozen():
            return "paused"
        return status

    def cgroup(self, container: state.Container) -> Cgroup:
        """The container's cgroup (the cgroups module is loaded here: start and state need none)."""
        from vmstack.containers.cgroups import Cgroup

        return Cgroup(container.record.cgroup_path)

    def create(self, container_id: str, bundle_dir: str, options: CreateOptions, detach: bool = True,
               console: socket.socket | None = None) -> state.Container:
        """Set the container up to the point where its init waits for start."""
        from vmstack.containers import process
        from vmstack.containers.cgroups import Cgroup, container_path
        from vmstack.containers.spec import load_config, parse_spec

        state.check_id(container_id)
        bundle = os.path.realpath(bundle_dir)
        if not os.path.isdir(bundle):
            raise RuntimeFailure(f"bundle {bundle} is not a directory")
        raw_config = load_config(bundle)
        spec = parse_spec(raw_config, bundle)
        os.chdir(bundle)  # relative mount sources are relative to the bundle
        if spec.process is None:
            raise RuntimeFailure("config.json: process must be specified to create a container")
        check_unsupported(spec.process)
        process.check_rlimits(spec.process)
        if spec.process.terminal and console is None:
            if options.console_socket is None:
                raise RuntimeFailure("cannot allocate tty if runc will detach without setting console socket")
            console = _console(options)
        elif not spec.process.terminal and options.console_socket:
            raise RuntimeFailure("cannot use console socket if runc will not detach or allocate tty")
        seccomp = _filter(spec.linux.seccomp, spec.process.no_new_privileges)
        if os.path.exists(os.path.join(self.root, container_id)):
            raise RuntimeFailure(f"container with id exists: {container_id}")
        cgroup = Cgroup(container_path(spec.linux.cgroups_path, container_id))
        if cgroup.frozen():
            raise RuntimeFailure("container's cgroup unexpectedly frozen")
        raw_hooks = raw_config.get("hooks") or {}
        record = state.Record(id=container_id, bundle=bundle, rootfs=os.path.realpath(spec.root_path),
                              cgroup_path=cgroup.path, annotations=spec.annotations,
                              poststart=raw_hooks.get("poststart"), poststop=raw_hooks.get("poststop"),
                              own_pid_namespace=any(ns.type == "pid" and not ns.path for ns in spec.linux.namespaces))
        container = state.Container.make(self.root, record, raw_config)
        try:
            cgroup.create()
            if cgroup.pids():
                print(f"warning: container's cgroup is not empty: {len(cgroup.pids())} process(es)",
                      file=sys.stderr)
            cgroup.apply(spec.linux.resources)
            self._spawn(container, spec, cgroup, options, console, seccomp)
        except BaseException:
            self._destroy(container)
            raise
        finally:
            if console is not None:
                console.close()
        return container

    def _spawn(self, container: state.Container, spec: Spec, cgroup: Cgroup, options: CreateOptions,
               console: socket.socket | None, seccomp: Filter | None) -> None:
        from vmstack.containers import hooks, mounts, namespaces
        from vmstack.containers.libc import prctl

        prctl(PR_SET_CHILD_SUBREAPER, 1)
        parent, child = _channel()
        fifo_fd = os.open(container.fifo, os.O_PATH | os.O_CLOEXEC)
        bind_sources: dict[int, int] = {}  # filled in B when a new user namespace needs them passed
        if any(spec.hooks.get(kind) for kind in ("createContainer", "startContainer")):
            hooks.preload()  # the init runs them after pivot_root, where it cannot import
        join = [ns for ns in spec.linux.namespaces if ns.path]
        new_user = any(ns.type == "user" and not ns.path for ns in spec.linux.namespaces)
        bootstrap = cgroup.fork()
        if bootstrap == 0:
            parent.close()
            _bootstrap(join, namespaces.new_flags(spec.linux.namespaces), new_user, cgroup, child,
                       lambda: _init(spec, cgroup, child, console, fifo_fd, options, seccomp, bind_sources),
                       bind_sources=bind_sources if new_user and any(map(mounts.is_bind, spec.mounts)) else None)
        child.close()
        os.close(fifo_fd)
        record = container.record
        try:
            while True:
                message = self._next_message(parent)
                if message["type"] == "userns":
                    namespaces.write_id_maps(bootstrap, spec.linux.uid_mappings, spec.linux.gid_mappings)
                    _send(parent, type="ok")
                elif message["type"] == "mountns":
                    _send_bind_sources(parent, bootstrap, spec)
                elif message["type"] == "pid":
                    record.pid = message["pid"]
                    record.pid_start = state.process_start_time(record.pid) or 0
                    container.save(record)
                elif message["type"] == "hooks":
                    current = container.oci_state("creating")
                    hooks.run_hooks("prestart", spec.hooks.get("prestart", []), current)
                    hooks.run_hooks("createRuntime", spec.hooks.get("createRuntime", []), current)
                    _send(parent, type="ok", state=current)
                elif message["type"] == "ready":
                    break
                elif message["type"] == "error":
                    raise RuntimeFailure(message["message"])
                else:
                    raise RuntimeFailure("container init exited before it was ready")
        finally:
            parent.close()
            os.waitpid(bootstrap, 0)
        record.ready = True
        container.save(record)
        _write_pid_file(options.pid_file, record.pid)

    def start(self, container: state.Container) -> None:
        status = self.status(container)
        if status == "stopped":
            raise RuntimeFailure("cannot start a container that has stopped")
        if status != "created":
            raise RuntimeFailure(f"cannot start an already {status} container")
        init = container.alive_pid()
        if not init:
            raise RuntimeFailure("container init exited before start")
        # the init's pidfd before the fifo opens: once it is open, the init may write its byte, exec
        # and be gone (a /bin/true) before this process looks again
        init_exit = os.pidfd_open(init)
        try:
            fd = os.open(container.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:  # the init, unblocked by our open, writes one byte; or it dies (its pidfd turns readable)
                init_gone = False
                while True:
                    try:
                        if os.read(fd, 1):
                            break
                    except BlockingIOError:
                        pass
                    if init_gone:
                        raise RuntimeFailure("container init exited before start")
                    readable, _, _ = select.select([fd, init_exit], [], [])
                    init_gone = init_exit in readable
            finally:
                os.close(fd)
        finally:
            os.close(init_exit)
        try:
            os.unlink(container.fifo)
        except FileNotFoundError:
            pass
        if container.record.poststart:
            from vmstack.containers import hooks

            hooks.run_hooks("poststart", hooks.hooks_from_raw(container.record.poststart),
                            container.oci_state("running"))

    def kill(self, container: state.Container, sig: int, everything: bool = False) -> None:
        status = self.status(container)
        if status == "stopped" and not everything:
            raise RuntimeFailure("container not running")
        targets = self.cgroup(container).pids() if everything else [container.alive_pid()]
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def delete(self, container: state.Container, force: bool) -> None:
        status = self.status(container)
        if status in ("running", "paused", "creating") and not force:
            raise RuntimeFailure(f"cannot delete container {container.id} that is not stopped: {status}")
        final_state = container.oci_state("stopped")
        self._destroy(container)
        if container.record.poststop:
            from vmstack.containers import hooks

            try:
                hooks.run_hooks("poststop", hooks.hooks_from_raw(container.record.poststop), final_state)
            except hooks.HookError as error:
                print(f"warning: {error}", file=sys.stderr)
        container.remove()

    def _destroy(self, container: state.Container) -> None:
        """Kill everything of the container and remove its cgroup and state directory."""
        record = container.record
        pid = container.alive_pid()
        cgroup = self.cgroup(container)
        init_exit = None
        if pid:
            try:  # readable once the init has exited (a zombie counts): waited for without polling
                init_exit = os.pidfd_open(pid)
                _signal.pidfd_send_signal(init_exit, _signal.SIGKILL)
            except ProcessLookupError:
                pass
        if cgroup.frozen():
            cgroup.thaw()  # a frozen process cannot die
        if init_exit is not None:
            select.select([init_exit], [], [], 10)
            os.close(init_exit)
        if record.cgroup_path.strip("/"):
            # with its own pid namespace the container ended with its init; without one, whatever is
            # left in the cgroup is the container's too
            cgroup.destroy(kill_all=not record.own_pid_namespace)
        container.remove()

    def exec(self, container: state.Container, proc: Process, detach: bool, options: CreateOptions,
             sub_cgroups: list[str] | None = None, ignore_paused: bool = False) -> int:
        """Run `proc` inside the container; its exit status (0 when detached)."""
        import socket

        from vmstack.containers import namespaces, process
        from vmstack.containers.libc import prctl

        status = self.status(container)
        if status == "stopped":
            raise RuntimeFailure("cannot exec in a stopped container")
        if status == "paused" and not ignore_paused:
            raise RuntimeFailure("cannot exec in a paused container")
        check_unsupported(proc)
        process.check_rlimits(proc)
        raw = container.config()
        linux = raw.get("linux") or {}
        kinds = [ns.get("type") for ns in linux.get("namespaces") or []]
        init_pid = container.alive_pid()
        join = namespaces.paths_of(init_pid, [k for k in kinds if k in namespaces.CLONE_FLAGS])
        seccomp = _filter(linux.get("seccomp"), proc.no_new_privileges)
        console = None
        if proc.terminal:
            if options.console_socket is None and detach:
                raise RuntimeFailure("cannot allocate tty if runc will detach without setting console socket")
            console = _console(options) if options.console_socket else None
        elif options.console_socket:
            raise RuntimeFailure("cannot use console socket if runc will not detach or allocate tty")
        local = None
        if proc.terminal and console is None:
            console, local = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cgroup = self.cgroup(container)
        sub_paths = cgroup.check_sub_paths(sub_cgroups or [])
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        parent, child = _channel()
        bootstrap = cgroup.fork(sub_paths)
        if bootstrap == 0:
            parent.close()
            _bootstrap(join, 0, False, cgroup, child, lambda: _exec_child(proc, child, console, seccomp, options),
                       sub_paths)
        child.close()
        if console is not None:
            console.close()
        pid = 0
        try:
            while True:
                message = self._next_message(parent)
                if message["type"] == "pid":
                    pid = message["pid"]
                    if not detach:  # the process execs once it is ready
                        forward_signals(pid)
                elif message["type"] == "ready":
                    break
                elif message["type"] == "error":
                    raise RuntimeFailure(message["message"])
                else:
                    raise RuntimeFailure("exec process exited before it was ready")
        finally:
            parent.close()
            os.waitpid(bootstrap, 0)
        _write_pid_file(options.pid_file, pid)
        if detach:
            return 0
        return wait_for(pid, local)


def _exec_child(proc: Process, sock: socket.socket, console: socket.socket | None, seccomp: Filter | None,
                options: CreateOptions) -> None:
    from vmstack.containers import process

    try:
        _debug(sock, "child process in init()")
        os.setsid()
        if console is not None:
            process.attach_terminal(proc, console, None)
        process.apply_rlimits(proc)
        env = process.environment(proc)
        executable = process.find_executable(proc, env)
        _debug(sock, "setns_init: about to exec")  # what is left: privileges dropped, seccomp, execve
        _send(sock, type="ready")
        sock.close()
        _exec_process(proc, seccomp, executable, env, options.preserve_fds)
    except BaseException as error:  # noqa: BLE001
        _fail_child(sock if sock.fileno() >= 0 else None, error)


def forward_signals(pid: int) -> None:
    """From now on, send process `pid` the signals that would end the runtime: set before the process
    can run, so that none arriving meanwhile kills the runtime instead (through _signal: signal.py's
    enums take longer to import than the process may take to start)."""
    def forward(signum: int, _frame: Any) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for signum in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1,
                   _signal.SIGUSR2):
        _signal.signal(signum, forward)


def wait_for(pid: int, console: socket.socket | None = None) -> int:
    """Wait for our (subreaped) child `pid` (its signals forwarded by forward_signals) and, given the
    console socket's other end, copy between our stdio and the pty master it receives; its exit status
    as a shell shows it."""
    import socket

    master = None
    if console is not None:
        _, fds, _, _ = socket.recv_fds(console, 64, 1)
        master = fds[0] if fds else None
        console.close()
    while True:
        if master is not None:
            _copy_pty(master)
            master = None
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if reaped == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _copy_pty(master: int) -> None:
    sources = [master, 0]
    while True:
        try:
            ready, _, _ = select.select(sources, [], [])
        except InterruptedError:
            continue
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            os.write(1, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                sources.remove(0)
            else:
                os.write(master, data)
    os.close(master)
