"""Fixtures for the runtime's tests: a busybox rootfs made once per session, bundles with a config.json
from `vmstack-runc spec` edited per test, and a runner for vmstack-runc (or Debian's runc, the oracle)
on a private --root, which checks afterwards that nothing of the container remains on the host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from vmstack.containers.cgroups import hierarchies
from vmstack.containers.rootfs import make_busybox_rootfs

REPO = Path(__file__).resolve().parents[2]
RUNC = shutil.which("runc")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def vmstack_runc_command() -> list[str]:
    return [sys.executable, "-S", "-m", "vmstack.containers.runc_cli"]  # stdlib only: no site needed


def leftovers(container_id: str, root: Path, cgroup_path: str = "") -> list[str]:
    """Everything of container `container_id` still on the host: state, cgroups, mounts."""
    found = []
    if (root / container_id).exists():
        found.append(f"state dir {root / container_id}")
    for tree in hierarchies():
        directory = Path(tree.dir(cgroup_path or container_id))
        if directory.exists():
            found.append(f"cgroup {directory}")
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.split()[4]}" for line in f if container_id in line]
    return found


class Runtime:
    """One runtime binary with its own state root."""

    def __init__(self, command: list[str], root: Path):
        self.command, self.root = command, root

    def __call__(self, *args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess:
        """Run the runtime; output goes through files, not pipes, since a detached container keeps
        the stdio it inherited open."""
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            done = subprocess.run([*self.command, "--root", str(self.root), *args], stdout=out, stderr=err,
                                  stdin=subprocess.DEVNULL, timeout=timeout, env=env, check=False, **kwargs)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def bundle(tmp_path: Path, busybox_rootfs: Path):
    """A function making a bundle whose config.json is the default spec edited by `edit(config)`."""
    def make(edit=None, name: str = "bundle") -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "rootfs").symlink_to(busybox_rootfs)
        subprocess.run([*vmstack_runc_command(), "spec", "--bundle", str(path)], check=True,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
        config = json.loads((path / "config.json").read_text())
        config["process"]["terminal"] = False
        config["root"]["path"] = str(busybox_rootfs)
        if edit:
            edit(config)
        (path / "config.json").write_text(json.dumps(config))
        return path
    return make


@pytest.fixture
def vmstack_runc(tmp_path: Path):
    runtime = Runtime(vmstack_runc_command(), tmp_path / "state")
    yield runtime
    for entry in runtime.root.glob("*") if runtime.root.exists() else []:
        runtime("delete", "--force", entry.name)


@pytest.fixture
def runc(tmp_path: Path):
    if RUNC is None:
        pytest.fail("Debian's runc is not installed: run scripts/setup.sh")
    runtime = Runtime([RUNC], tmp_path / "runc-state")
    yield runtime
    for entry in runtime.root.glob("*") if runtime.root.exists() else []:
        runtime("delete", "--force", entry.name)
