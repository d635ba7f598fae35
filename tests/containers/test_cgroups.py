"""How the bootstrap enters the container's cgroup: Cgroup.fork (born in the v2 directory through clone3
where there is one) and Cgroup.join (the v1 trees, as a thread). What the kernel's /proc/PID/cgroup
says of the child is the oracle; the parent stays where it was."""

from __future__ import annotations

import os

import pytest

from vmstack.containers.cgroups import Cgroup, CgroupError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")


def _in_child(cgroup: Cgroup, sub_paths: dict[str, str] | None = None) -> str:
    """Fork through `cgroup`, join it in the child and return what the child reports: its
    /proc/self/cgroup, the tree it was born in, or the join's error."""
    read, write = os.pipe()
    pid = cgroup.fork(sub_paths)
    if pid == 0:
        os.close(read)
        try:
            born_in = cgroup.born_in.mountpoint if cgroup.born_in else "-"
            cgroup.join(sub_paths)
            with open("/proc/self/cgroup") as f:
                os.write(write, f"{born_in}\n{f.read()}".encode())
        except CgroupError as error:
            os.write(write, f"error: {error}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        report = f.read()
    os.waitpid(pid, 0)
    return report


@pytest.fixture
def cgroup():
    made = Cgroup(f"/vmstack-test-join-{os.getpid()}")
    made.create()
    yield made
    made.destroy()


def test_forked_child_is_in_every_hierarchy(cgroup: Cgroup) -> None:
    born_in, *memberships = _in_child(cgroup).splitlines()
    assert len(memberships) == len(cgroup.trees)
    assert all(line.endswith(":" + cgroup.path) for line in memberships), memberships
    unified = [tree.mountpoint for tree in cgroup.trees if tree.unified]
    assert born_in == (unified[0] if len(unified) == 1 else "-")  # clone3 into it, not a move
    with open("/proc/self/cgroup") as f:
        assert cgroup.path not in f.read()


def test_join_of_a_missing_sub_cgroup_is_an_error(cgroup: Cgroup) -> None:
    report = _in_child(cgroup, {"": "missing"})
    assert report.startswith("error: adding pid ") and "/missing/cgroup.procs: no such file or directory" in report
