"""cgroup v2 device rules: the eBPF program vmstack attaches to a cgroup of the unified hierarchy, with
the kernel as the judge. A probe process placed in the cgroup opens device nodes (copies made with
mknod) for reading and writing and mknods them again; the kernel answers EPERM where the program
denies. On a host that also has the cgroup v1 devices controller (this hybrid one), the same rules
written through the v1 path are the oracle: the kernel's own v1 implementation must allow and deny
exactly the same accesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmstack.containers import devicefilter
from vmstack.containers.cgroups import Cgroup, hierarchies

PROBE = r"""
import errno, json, os, sys
nodes, procs = sys.argv[1], sys.argv[2]
with open(procs, "w") as f:
    f.write(str(os.getpid()))
results = {}
def attempt(key, action):
    try:
        action()
        results[key] = "ok"
    except OSError as error:  # ENXIO and the like: no driver, but the cgroup let the access through
        results[key] = "EPERM" if error.errno == errno.EPERM else "ok"
for name in sorted(os.listdir(nodes)):
    path = os.path.join(nodes, name)
    for access, flags in (("r", os.O_RDONLY), ("w", os.O_WRONLY), ("rw", os.O_RDWR)):
        attempt(f"{name} {access}", lambda: os.close(os.open(path, flags | os.O_NONBLOCK)))
    made = os.stat(path)
    copy = os.path.join(nodes + "-again", name)
    attempt(f"{name} m", lambda: (os.mknod(copy, made.st_mode, made.st_rdev), os.unlink(copy)))
print(json.dumps(results))
"""
NODES = {"null": ("c", 1, 3), "c240.0": ("c", 240, 0), "c240.1": ("c", 240, 1), "b240.0": ("b", 240, 0)}
DENY_ALL = {"allow": False, "access": "rwm"}
ALLOW_ALL = {"allow": True, "access": "rwm"}
RULE_SETS = {  # the spec's rules; the runtime's default devices (null, zero, tty, ...) come after them
    "deny all, allow one char device r": [DENY_ALL, {"allow": True, "type": "c", "major": 240, "minor": 0,
                                                      "access": "r"}],
    "allow all, deny one char device": [ALLOW_ALL, {"allow": False, "type": "c", "major": 240, "minor": 1,
                                                    "access": "rwm"}],
    "deny all, allow block major rw, mknod of minor 1": [
        DENY_ALL, {"allow": True, "type": "b", "major": 240, "access": "rw"},
        {"allow": True, "type": "c", "minor": 1, "access": "m"}],
    "allow all, deny writes of one device": [ALLOW_ALL, {"allow": False, "type": "c", "major": 240, "minor": 0,
                                                         "access": "w"}],
}


@pytest.fixture
def nodes(tmp_path: Path) -> Path:
    directory = tmp_path / "nodes"
    directory.mkdir()
    (tmp_path / "nodes-again").mkdir()
    for name, (kind, major, minor) in NODES.items():
        os.mknod(directory / name, 0o666 | (0o020000 if kind == "c" else 0o060000), os.makedev(major, minor))
    return directory


def probe(cgroup: Cgroup, rules: list[dict], nodes: Path, earlier: list[dict] | None = None) -> dict[str, str]:
    """What a process in `cgroup`, with `rules` applied (after `earlier` ones), may do to each node."""
    cgroup.create()
    try:
        for applied in ([earlier] if earlier else []) + [rules]:
            cgroup.apply({"devices": applied})
        done = subprocess.run([sys.executable, "-I", "-c", PROBE, str(nodes), cgroup.dirs()[0] + "/cgroup.procs"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    finally:
        cgroup.destroy()


def tree(unified: bool, controller: str = "") -> list:
    found = [h for h in hierarchies() if h.unified == unified and (not controller or controller in h.controllers)]
    if not found:
        pytest.skip(f"this host has no {'unified' if unified else controller + ' v1'} cgroup hierarchy")
    return found[:1]


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and mknod need root")
@pytest.mark.parametrize("name", RULE_SETS)
def test_program_decides_as_the_v1_devices_controller(name: str, nodes: Path) -> None:
    path = f"/vmstack-devicefilter-{os.getpid()}"
    by_program = probe(Cgroup(path, tree(unified=True)), RULE_SETS[name], nodes)
    by_v1 = probe(Cgroup(path, tree(unified=False, controller="devices")), RULE_SETS[name], nodes)
    assert by_program == by_v1
    assert {"ok", "EPERM"} <= set(by_program.values())  # each set both allows and denies something


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and mknod need root")
def test_program_denies_and_allows(nodes: Path) -> None:
    results = probe(Cgroup(f"/vmstack-devicefilter-{os.getpid()}", tree(unified=True)),
                    RULE_SETS["deny all, allow one char device r"], nodes)
    assert results["null rw"] == "ok" and results["null m"] == "ok"  # a default device: always allowed
    assert results["c240.0 r"] == "ok"
    assert results["c240.0 w"] == results["c240.0 rw"] == "EPERM"
    assert results["c240.1 m"] == "ok"  # mknod of any device: a default rule
    assert results["c240.1 r"] == results["b240.0 r"] == "EPERM"


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and mknod need root")
def test_new_rules_replace_the_program(nodes: Path) -> None:
    """`update` with new device rules: the new program replaces the old one (programs attached side by
    side must all allow, so a kept old one would still deny)."""
    rules = RULE_SETS["deny all, allow one char device r"]
    cgroup = Cgroup(f"/vmstack-devicefilter-{os.getpid()}", tree(unified=True))
    results = probe(cgroup, rules, nodes, earlier=[ALLOW_ALL, {"allow": False, "type": "c", "access": "r"}])
    assert results["c240.0 r"] == "ok" and results["c240.0 w"] == "EPERM"


def test_bad_rules_are_refused() -> None:
    with pytest.raises(devicefilter.DeviceFilterError, match="invalid device access"):
        devicefilter.compile_rules([{"allow": True, "type": "c", "access": "rx"}])
    with pytest.raises(devicefilter.DeviceFilterError, match="invalid device type"):
        devicefilter.compile_rules([{"allow": True, "type": "p"}])
