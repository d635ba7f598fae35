"""Nothing of a container remains on the host after delete (state dir, cgroups, mounts, its network
namespace), also after kill -9 of the container's init or of the runtime in the middle of create."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.containers.conftest import REPO, leftovers, vmstack_runc_command


def holders_of(namespace_inode: int) -> list[int]:
    """Pids of host processes inside the network namespace with this inode."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.stat(entry / "ns" / "net").st_ino == namespace_inode:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def sleeper(config: dict) -> None:
    config["process"]["args"] = ["sleep", "600"]


def wait_until(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_lifecycle_leaves_nothing_behind(bundle, vmstack_runc):
    path = bundle(sleeper)
    assert vmstack_runc("create", "--bundle", str(path), "life1").returncode == 0
    created = json.loads(vmstack_runc("state", "life1").stdout)
    assert created["status"] == "created" and created["pid"] > 0 and created["bundle"] == str(path)
    netns = os.stat(f"/proc/{created['pid']}/ns/net").st_ino
    assert netns != os.stat("/proc/self/ns/net").st_ino
    assert vmstack_runc("start", "life1").returncode == 0
    assert json.loads(vmstack_runc("state", "life1").stdout)["status"] == "running"
    refused = vmstack_runc("delete", "life1")
    assert refused.returncode == 1 and "not stopped: running" in refused.stderr
    assert vmstack_runc("pause", "life1").returncode == 0
    assert json.loads(vmstack_runc("state", "life1").stdout)["status"] == "paused"
    assert vmstack_runc("resume", "life1").returncode == 0
    assert vmstack_runc("kill", "life1", "KILL").returncode == 0
    assert wait_until(lambda: json.loads(vmstack_runc("state", "life1").stdout)["status"] == "stopped")
    assert vmstack_runc("delete", "life1").returncode == 0
    assert leftovers("life1", vmstack_runc.root) == []
    assert holders_of(netns) == []


def test_kill_9_of_init_then_delete(bundle, vmstack_runc):
    path = bundle(sleeper)
    assert vmstack_runc("run", "-d", "--bundle", str(path), "k9init").returncode == 0
    pid = json.loads(vmstack_runc("state", "k9init").stdout)["pid"]
    netns = os.stat(f"/proc/{pid}/ns/net").st_ino
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: json.loads(vmstack_runc("state", "k9init").stdout)["status"] == "stopped")
    assert vmstack_runc("delete", "k9init").returncode == 0
    assert leftovers("k9init", vmstack_runc.root) == []
    assert holders_of(netns) == []


def test_kill_9_of_runtime_mid_create_then_delete(bundle, vmstack_runc, tmp_path):
    hook_pid = tmp_path / "hook.pid"

    def slow_hook(config: dict) -> None:
        sleeper(config)
        config["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
            "sh", "-c", f"echo $$ > {hook_pid}; exec sleep 600"]}]}
    path = bundle(slow_hook)
    runtime = subprocess.Popen([*vmstack_runc_command(), "--root", str(vmstack_runc.root), "create", "--bundle",
                                str(path), "k9rt"], env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert wait_until(lambda: hook_pid.exists() and hook_pid.read_text().strip())
        state = json.loads(vmstack_runc("state", "k9rt").stdout)
        assert state["status"] == "creating" and state["pid"] > 0
        init = state["pid"]
        runtime.kill()
        runtime.wait()
    finally:
        if hook_pid.exists():
            os.kill(int(hook_pid.read_text()), signal.SIGKILL)
    assert json.loads(vmstack_runc("state", "k9rt").stdout)["status"] == "stopped"
    assert wait_until(lambda: not Path(f"/proc/{init}").exists() or
                      Path(f"/proc/{init}/stat").read_text().split(") ")[1][0] == "Z")
    deleted = vmstack_runc("delete", "k9rt")
    assert deleted.returncode == 0, deleted.stderr
    assert leftovers("k9rt", vmstack_runc.root) == []
