"""Real container engines drive an OCI runtime end to end: Debian's containerd (through `ctr` and the runc v2
shim, `--runc-binary`) and Debian's podman (`--runtime`, through conmon) create, run, exec into, stop
and remove containers of the busybox image, imported from a local OCI archive made by umoci and skopeo.

Each engine runs with private state under a temporary directory (containerd is started by the fixture and
stopped afterwards); the test asserts that nothing of a container (runtime state, cgroups, mounts) is
left once the engine has removed it, and the fixtures clean up what a failing run may leave."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from tests.containers.test_image import RUNTIMES, archive, build_busybox_layout, runtime_executables

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="container engines run as root here")

CGROUP_ROOT = Path("/sys/fs/cgroup")
SHIM_RUN_DIR = Path("/run/containerd")  # the runc v2 shim's fifos, sockets and runtime root live here
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]  # no CAP_SYS_RESOURCE here
STOPPABLE = "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ok(*args: str) -> str:
    done = run(*args)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stderr}"
    return done.stdout


def eventually(condition: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def mounts_under(directory: Path) -> list[str]:
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [point for point in points if point.startswith(str(directory))]


def unmount_all_under(directory: Path) -> None:
    for point in reversed(mounts_under(directory)):
        run("umount", "-l", point)


def cgroups_named(name: str) -> list[Path]:
    return sorted(path for path in CGROUP_ROOT.glob(f"*/{name}") if path.is_dir())


def remove_cgroups(name: str) -> None:
    """Remove every /sys/fs/cgroup/*/NAME tree, deepest first. Controllers not mounted here are plain
    directories on the tmpfs, where an engine may have left `tasks` files: those are removed too."""
    for top in cgroups_named(name):
        directories = [top, *(p for p in top.rglob("*") if p.is_dir() and not p.is_symlink())]
        for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            if not (directory / "cgroup.procs").exists():
                for item in directory.iterdir():
                    with suppress(OSError):
                        item.unlink()
            with suppress(OSError):
                directory.rmdir()


@pytest.fixture(scope="module")
def runtime_binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return runtime_executables(tmp_path_factory.mktemp("bin"))


@pytest.fixture(scope="module")
def oci_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("client-image")
    return archive(build_busybox_layout(work), "latest", "oci-archive", work / "busybox-oci.tar")


# ---------------------------------------------------------------- containerd


class Containerd:
    """A private containerd (its own root, state, socket and ctr namespace) and `ctr` against it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.namespace = f"vmstack-test-{os.getpid()}"
        self.had_shim_dir = SHIM_RUN_DIR.exists()
        self.socket = base / "containerd.sock"
        config = base / "config.toml"
        config.write_text(f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
                          'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                          f'[grpc]\n  address = "{self.socket}"\n')
        self.log = open(base / "containerd.log", "w")  # noqa: SIM115 - held for the daemon's life
        self.process = subprocess.Popen(["containerd", "--config", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not eventually(lambda: self.socket.exists() and run("ctr", "-a", str(self.socket), "version")
                          .returncode == 0):
            self.stop()
            pytest.fail(f"containerd did not start: {(base / 'containerd.log').read_text()[-2000:]}")

    def ctr(self, *args: str) -> subprocess.CompletedProcess:
        return run("ctr", "-a", str(self.socket), "-n", self.namespace, *args)

    def runtime_root(self) -> Path:
        """Where the runc v2 shim keeps the runtime's state for this namespace (its `--root`)."""
        return SHIM_RUN_DIR / "runc" / self.namespace

    def stop(self) -> None:
        for task in self.ctr("task", "ls", "-q").stdout.split():
            self.ctr("task", "kill", "-s", "SIGKILL", task)
            eventually(lambda task=task: "RUNNING" not in self.ctr("task", "ls").stdout)
            self.ctr("task", "delete", "--force", task)
        for container in self.ctr("containers", "ls", "-q").stdout.split():
            self.ctr("containers", "rm", container)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        unmount_all_under(self.base)
        remove_cgroups(self.namespace)
        leftovers = [self.runtime_root()]
        if not self.had_shim_dir:
            leftovers += [SHIM_RUN_DIR / "runc", SHIM_RUN_DIR / "fifo", SHIM_RUN_DIR / "s", SHIM_RUN_DIR]
        for directory in leftovers:  # only empty ones: another containerd may use the same paths
            with suppress(OSError):
                directory.rmdir()


@pytest.fixture(scope="module")
def containerd(oci_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    daemon = Containerd(tmp_path_factory.mktemp("containerd"))
    try:
        imported = daemon.ctr("images", "import", "--base-name", "localhost/busybox", str(oci_archive))
        assert imported.returncode == 0, imported.stderr
        yield daemon
    finally:
        daemon.stop()


def assert_nothing_left_by_containerd(daemon: Containerd, runtime: str, container: str) -> None:
    """No container in ctr, no cgroup, runtime state or mount of `container` (`runtime` is a path)."""
    assert daemon.ctr("containers", "ls", "-q").stdout.split() == []
    assert not [path for path in cgroups_named(daemon.namespace) if (path / container).exists()]
    if daemon.runtime_root().exists():
        listed = run(runtime, "--root", str(daemon.runtime_root()), "list", "-q")
        assert listed.returncode == 0 and listed.stdout.split() == [], listed.stderr
    assert not [point for point in mounts_under(daemon.base) if container in point]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ctr_run_rm(runtime: str, containerd: Containerd, runtime_binaries: dict[str, str]) -> None:
    container, binary = f"run-{runtime}", runtime_binaries[runtime]
    done = containerd.ctr("run", "--rm", "--runc-binary", binary, "localhost/busybox:latest",
                          container, "/bin/sh", "-c",
                          "echo $GREETING; id -u; pwd; ls /proc | grep -c '^[0-9]'; exit 3")
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["hello from the image", "33", "/var/www"]
    assert int(lines[3]) <= 3  # its own pid namespace: sh, ls, grep at most
    assert_nothing_left_by_containerd(containerd, binary, container)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ctr_detached_task_is_stopped_and_removed(runtime: str, containerd: Containerd,
                                                  runtime_binaries: dict[str, str]) -> None:
    container, binary = f"task-{runtime}", runtime_binaries[runtime]
    started = containerd.ctr("run", "-d", "--runc-binary", binary, "localhost/busybox:latest",
                             container, "/bin/sh", "-c", STOPPABLE)
    assert started.returncode == 0, started.stderr
    assert eventually(lambda: f"{container} " in containerd.ctr("task", "ls").stdout
                      and "RUNNING" in containerd.ctr("task", "ls").stdout)
    listed = run(binary, "--root", str(containerd.runtime_root()), "list", "-q")
    assert container in listed.stdout.split(), listed.stderr
    executed = containerd.ctr("task", "exec", "--exec-id", "probe", container, "/bin/sh", "-c",
                              "cat /proc/1/cmdline | tr '\\0' ' '; exit 5")
    assert (executed.returncode, executed.stdout) == (5, f"/bin/sh -c {STOPPABLE} "), executed.stderr
    assert containerd.ctr("task", "kill", container).returncode == 0  # SIGTERM
    assert eventually(lambda: "STOPPED" in containerd.ctr("task", "ls").stdout)
    deleted = containerd.ctr("task", "delete", container)
    assert deleted.returncode == 0, deleted.stderr
    assert containerd.ctr("containers", "rm", container).returncode == 0
    assert_nothing_left_by_containerd(containerd, binary, container)


# ---------------------------------------------------------------- podman


class Podman:
    """podman with private storage, run root and tmpdir; host networking untouched (--network none)."""

    def __init__(self, base: Path, binaries: dict[str, str]) -> None:
        self.base, self.binaries = base, binaries
        self.had_parent = bool(cgroups_named("libpod_parent"))

    def __call__(self, runtime: str, *args: str) -> subprocess.CompletedProcess:
        return run("podman", "--root", str(self.base / "root"), "--runroot", str(self.base / "runroot"),
                   "--tmpdir", str(self.base / "tmp"), "--runtime", self.binaries[runtime],
                   "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "overlay",
                   *args)

    def container_ids(self, runtime: str) -> list[str]:
        return self(runtime, "ps", "-aq", "--no-trunc").stdout.split()

    def clean(self) -> None:
        ids = self.container_ids("runc")
        self("runc", "rm", "--force", "--all", "--time", "0")
        self("runc", "rmi", "--force", "--all")
        unmount_all_under(self.base)
        for container in ids:
            remove_cgroups(f"libpod_parent/libpod-{container}")
        if not self.had_parent:
            remove_cgroups("libpod_parent")


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory, runtime_binaries: dict[str, str]) -> Iterator[Podman]:
    engine = Podman(tmp_path_factory.mktemp("podman"), runtime_binaries)
    try:
        yield engine
    finally:
        engine.clean()


def assert_nothing_left_by_podman(engine: Podman, runtime: str, container: str) -> None:
    assert engine.container_ids(runtime) == []
    assert cgroups_named(f"libpod_parent/libpod-{container}") == []
    assert not [point for point in mounts_under(engine.base) if container in point]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_podman_run_rm(runtime: str, podman: Podman, oci_archive: Path) -> None:
    done = podman(runtime, "run", "--rm", "--network", "none", *ULIMITS,
                  "--cidfile", str(podman.base / "cid"),
                  f"oci-archive:{oci_archive}", "/bin/sh", "-c",
                  "echo $GREETING; id -u; pwd; ulimit -n; ls /proc | grep -c '^[0-9]'; exit 3")
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == ["hello from the image", "33", "/var/www", "20000"]
    assert int(lines[4]) <= 3
    container = (podman.base / "cid").read_text().strip()
    (podman.base / "cid").unlink()
    assert_nothing_left_by_podman(podman, runtime, container)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_podman_create_start_stop_rm(runtime: str, podman: Podman, oci_archive: Path) -> None:
    created = podman(runtime, "create", "--network", "none", *ULIMITS, f"oci-archive:{oci_archive}",
                     "/bin/sh", "-c", STOPPABLE)
    assert created.returncode == 0, created.stderr
    container = created.stdout.split()[-1]
    assert podman(runtime, "start", container).returncode == 0
    assert eventually(lambda: "started" in podman(runtime, "logs", container).stdout)
    state = podman(runtime, "inspect", "--format", "{{.State.Status}}", container)
    assert state.stdout.strip() == "running", state.stderr
    executed = podman(runtime, "exec", container, "/bin/sh", "-c",
                      "cat /proc/1/cmdline | tr '\\0' ' '; exit 5")
    assert (executed.returncode, executed.stdout) == (5, f"/bin/sh -c {STOPPABLE} "), executed.stderr
    stopped = podman(runtime, "stop", "--time", "20", container)
    assert stopped.returncode == 0, stopped.stderr
    assert podman(runtime, "logs", container).stdout.splitlines() == ["started", "got TERM"]
    exit_code = podman(runtime, "inspect", "--format", "{{.State.ExitCode}}", container)
    assert exit_code.stdout.strip() == "0"
    removed = podman(runtime, "rm", container)
    assert removed.returncode == 0, removed.stderr
    assert_nothing_left_by_podman(podman, runtime, container)
