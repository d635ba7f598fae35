"""Lifecycle details through vmstack-runc: hooks run at their moments with the state on stdin, a
terminal arrives over --console-socket as a pty master (SCM_RIGHTS), exec joins the container, and
`spec` writes the same default configuration as Debian's runc."""

from __future__ import annotations

import json
import os
import socket
import threading

from tests.containers.conftest import leftovers


def test_hooks_get_the_state_at_each_moment(bundle, vmstack_runc, tmp_path):
    log = tmp_path / "hooks"
    log.mkdir()

    def with_hooks(config: dict) -> None:
        config["process"]["args"] = ["sleep", "600"]
        config["hooks"] = {kind: [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {log}/{kind}.json"]}]
                           for kind in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
        # startContainer runs inside the container (after pivot_root): it writes into the container's /dev/shm
        config["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/shm/hook.json"]}]
    path = bundle(with_hooks)
    assert vmstack_runc("create", "--bundle", str(path), "hooked").returncode == 0
    assert sorted(p.stem for p in log.iterdir()) == ["createContainer", "createRuntime", "prestart"]
    assert vmstack_runc("start", "hooked").returncode == 0
    inside = vmstack_runc("exec", "hooked", "cat", "/dev/shm/hook.json")
    assert inside.returncode == 0, inside.stderr
    assert vmstack_runc("delete", "--force", "hooked").returncode == 0
    states = {p.stem: json.loads(p.read_text()) for p in log.iterdir()}
    assert set(states) == {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}
    states["startContainer"] = json.loads(inside.stdout)
    assert states["createRuntime"]["status"] == "creating" and states["createRuntime"]["pid"] > 0
    assert states["poststart"]["status"] == states["startContainer"]["status"] == "running"
    assert states["poststop"]["status"] == "stopped"
    assert {s["id"] for s in states.values()} == {"hooked"}
    assert states["createRuntime"]["bundle"] == str(path)
    assert leftovers("hooked", vmstack_runc.root) == []


def test_failing_hook_fails_create_and_leaves_nothing(bundle, vmstack_runc):
    def failing(config: dict) -> None:
        config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    done = vmstack_runc("create", "--bundle", str(bundle(failing)), "badhook")
    assert done.returncode == 1 and "createRuntime hook #0" in done.stderr
    assert leftovers("badhook", vmstack_runc.root) == []


def test_terminal_through_console_socket(bundle, vmstack_runc, tmp_path):
    def on_tty(config: dict) -> None:
        config["process"]["terminal"] = True
        config["process"]["args"] = ["sh", "-c", "tty; [ -t 0 ] && echo stdin-is-a-tty"]
    path = bundle(on_tty)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "console.sock"))
    listener.listen(1)
    received = {}

    def receive() -> None:
        connection, _ = listener.accept()
        _, fds, _, _ = socket.recv_fds(connection, 64, 1)
        output = b""
        try:
            while chunk := os.read(fds[0], 4096):
                output += chunk
        except OSError:  # EIO once the container side is closed
            pass
        received["output"] = output.decode()
    reader = threading.Thread(target=receive)
    reader.start()
    done = vmstack_runc("run", "--console-socket", str(tmp_path / "console.sock"), "--bundle", str(path), "tty1")
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert received["output"].split() == ["/dev/pts/0", "stdin-is-a-tty"]


def test_exec_joins_the_container(bundle, vmstack_runc):
    path = bundle(lambda config: config["process"].update(args=["sleep", "600"]))
    assert vmstack_runc("run", "-d", "--bundle", str(path), "ex1").returncode == 0
    init = json.loads(vmstack_runc("state", "ex1").stdout)["pid"]
    done = vmstack_runc("exec", "--env", "GREETING=hi", "ex1", "sh", "-c",
                        "echo $GREETING; hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 7")
    assert done.returncode == 7
    assert done.stdout.split() == ["hi", "runc", "sleep", "600"]
    ps = json.loads(vmstack_runc("ps", "--format", "json", "ex1").stdout)
    assert ps == [init]
    assert vmstack_runc("exec", "ex1", "no-such-binary").returncode == 255


def test_spec_matches_runc(vmstack_runc, runc, tmp_path):
    for name, runtime in (("ours", vmstack_runc), ("runc", runc)):
        (tmp_path / name).mkdir()
        assert runtime("spec", "--bundle", str(tmp_path / name)).returncode == 0
    ours = json.loads((tmp_path / "ours" / "config.json").read_text())
    theirs = json.loads((tmp_path / "runc" / "config.json").read_text())
    ours.pop("ociVersion")
    theirs.pop("ociVersion")
    assert ours == theirs


def test_sysctls_are_written_before_proc_sys_turns_read_only(bundle, vmstack_runc):
    def with_sysctl(config: dict) -> None:
        assert "/proc/sys" in config["linux"]["readonlyPaths"]
        config["linux"]["sysctl"] = {"net.ipv4.ping_group_range": "0 0", "kernel.domainname": "sysctl.test"}
        script = ("cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/domainname; "
                  "echo 1 > /proc/sys/net/ipv4/ip_forward || echo still-read-only")
        config["process"]["args"] = ["sh", "-c", script]
    done = vmstack_runc("run", "--bundle", str(bundle(with_sysctl)), "sysctl1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["0", "0"]
    assert lines[1:3] == ["sysctl.test", "still-read-only"]
    assert leftovers("sysctl1", vmstack_runc.root) == []
