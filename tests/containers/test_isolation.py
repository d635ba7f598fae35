"""Isolation and limits through vmstack-runc: the container sees none of the host's processes, mounts,
hostname or network; the pids limit stops a fork bomb; a memory hog is OOM-killed and reported; a
syscall the seccomp profile denies fails with EPERM; dropped capabilities are really gone."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.containers.conftest import leftovers


def shell(script: str):
    def edit(config: dict) -> None:
        config["process"]["args"] = ["sh", "-c", script]
    return edit


def test_no_host_processes_mounts_hostname_or_network(bundle, vmstack_runc):
    path = bundle(shell("ps -o pid,comm; echo ===; cat /proc/mounts; echo ===; hostname; echo ===; "
                        "ls /sys/class/net"))
    done = vmstack_runc("run", "--bundle", str(path), "iso1")
    assert done.returncode == 0, done.stderr
    processes, mounts, hostname, links = done.stdout.split("===\n")
    pids = [line.split()[0] for line in processes.splitlines()[1:]]
    assert pids[0] == "1" and len(pids) <= 3, processes  # sh, ps (and busybox's forked child)
    checkout = str(Path(__file__).resolve().parents[2])  # host paths the container must not see
    assert checkout not in mounts and str(path) not in mounts and "/home" not in mounts
    assert {line.split()[1] for line in mounts.splitlines()} >= {"/", "/proc", "/dev", "/sys"}
    assert hostname.strip() == "runc" != socket.gethostname()
    assert links.split() == ["lo"]
    assert leftovers("iso1", vmstack_runc.root) == []


def test_fork_bomb_stops_at_pids_limit(bundle, vmstack_runc):
    def edit(config: dict) -> None:
        config["linux"]["resources"]["pids"] = {"limit": 16}
        # The subshell forks until refused; then only shell builtins (no fork left) read the counters.
        shell("(while :; do sleep 30 & done) 2>/dev/shm/err; read current < /sys/fs/cgroup/pids/pids.current; "
              "read limit < /sys/fs/cgroup/pids/pids.max; read error < /dev/shm/err; "
              "echo $current $limit; echo $error")(config)
    done = vmstack_runc("run", "--bundle", str(bundle(edit)), "bomb", timeout=120)
    assert done.returncode == 0, done.stderr
    counts, error = done.stdout.splitlines()
    current, limit = counts.split()
    assert "can't fork" in error
    assert limit == "16" and 15 <= int(current) <= 16  # the subshell that was refused may be gone
    assert leftovers("bomb", vmstack_runc.root) == []


def test_memory_hog_is_oom_killed_and_reported(bundle, vmstack_runc):
    def edit(config: dict) -> None:
        config["linux"]["resources"]["memory"] = {"limit": 32 * 1024 * 1024}
        shell("exec dd if=/dev/zero of=/dev/null bs=128M count=1")(config)
    done = vmstack_runc("run", "--bundle", str(bundle(edit)), "hog", timeout=120)
    assert done.returncode == 128 + 9  # SIGKILL
    assert "OOM killer" in done.stderr
    assert leftovers("hog", vmstack_runc.root) == []


def test_seccomp_denied_syscall_fails_with_eperm(bundle, vmstack_runc):
    def edit(config: dict) -> None:
        config["root"]["readonly"] = False
        config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
        shell("mkdir /tmp/denied; echo status=$?; touch /tmp/allowed-file && echo touched; rm /tmp/allowed-file")(config)
    done = vmstack_runc("run", "--bundle", str(bundle(edit)), "sc1")
    assert done.returncode == 0, done.stderr
    assert "Operation not permitted" in done.stderr
    assert "status=1" in done.stdout and "touched" in done.stdout


def test_dropped_capabilities_are_gone(bundle, vmstack_runc):
    def edit(config: dict) -> None:
        config["root"]["readonly"] = False
        caps = ["CAP_KILL"]
        config["process"]["capabilities"] = {kind: caps for kind in ("bounding", "effective", "permitted")}
        shell("grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; touch /tmp/f; chown 1000 /tmp/f; "
              "echo chown=$?; rm -f /tmp/f; hostname other; echo hostname=$?")(config)
    done = vmstack_runc("run", "--bundle", str(bundle(edit)), "caps1")
    assert done.returncode == 0, done.stderr
    sets = dict(line.split(":") for line in done.stdout.splitlines() if line.startswith("Cap"))
    assert {name: int(value, 16) for name, value in sets.items()} == {"CapEff": 1 << 5, "CapPrm": 1 << 5,
                                                                      "CapBnd": 1 << 5}
    assert "chown=1" in done.stdout and "hostname=1" in done.stdout
