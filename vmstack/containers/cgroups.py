"""A container's control groups: v1 hierarchies (one per mounted controller, as on hybrid hosts) or the
unified v2 tree, detected from /proc/self/mountinfo. Creates the container's cgroup, applies the spec's
linux.resources (memory, pids, cpu, cpuset, blkio/io, devices), moves processes in, freezes and thaws
(pause/resume), counts OOM kills, and removes everything on delete. Paths are strings and the module
imports only os and time: delete and kill use it, and pathlib, typing and signal (with the re and enum
modules they import) would cost more than the rest of those commands."""

from __future__ import annotations

import os
import sys
import time
from _signal import SIGKILL  # signal.py builds its enums at import

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

CGROUP2_SUPER_MAGIC = "cgroup2"
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                  "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc")
DEFAULT_DEVICE_RULES = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
                        "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"]


class CgroupError(Exception):
    """A limit could not be set or the cgroup could not be made."""


class Hierarchy:
    """One mounted cgroup tree: its mount point and (v1) controllers, e.g. ("memory",) or ("name=systemd",)."""

    def __init__(self, mountpoint: str, controllers: tuple[str, ...], unified: bool):
        self.mountpoint, self.controllers, self.unified = mountpoint, controllers, unified

    def dir(self, path: str) -> str:
        """The directory of cgroup `path` in this tree."""
        return os.path.join(self.mountpoint, path.lstrip("/"))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def hierarchies() -> list[Hierarchy]:
    """Every cgroup hierarchy mounted in this mount namespace."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _source, options = right.split()[:3]
            mountpoint = left.split()[4].replace("\\040", " ")
            if fstype == "cgroup2":
                found.append(Hierarchy(mountpoint, (), True))
            elif fstype == "cgroup":
                controllers = tuple(o for o in options.split(",") if o in V1_CONTROLLERS or o.startswith("name="))
                found.append(Hierarchy(mountpoint, controllers, False))
    return found


def is_unified_host() -> bool:
    """True when /sys/fs/cgroup itself is cgroup v2 (no v1 controllers anywhere)."""
    return not any(not h.unified for h in hierarchies())


def container_path(cgroups_path: str, container_id: str) -> str:
    """The cgroup path (relative to each hierarchy's root) for linux.cgroupsPath."""
    if not cgroups_path:
        return "/" + container_id
    if ":" in cgroups_path and not cgroups_path.startswith("/"):  # systemd form slice:prefix:name
        slice_, prefix, name = (cgroups_path.split(":") + ["", ""])[:3]
        return f"/{slice_ or 'system.slice'}/{prefix}-{name}.scope" if prefix else f"/{slice_}/{name}"
    return "/" + cgroups_path.strip("/")


def _write(path: str, value: Any) -> None:
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as error:
        raise CgroupError(f"failed to write {value!r} to {path}: {error.strerror}") from None


def _device_rule(rule: dict) -> tuple[bool, str]:
    kind = rule.get("type") or "a"
    major = "*" if rule.get("major") in (None, -1) else rule["major"]
    minor = "*" if rule.get("minor") in (None, -1) else rule["minor"]
    access = rule.get("access") or "rwm"
    return bool(rule.get("allow")), "a" if kind == "a" else f"{kind} {major}:{minor} {access}"


def _device_rule_of(text: str) -> dict[str, Any]:
    """An allow rule in the spec's form from one in devices.allow's ("c 1:3 rwm", "b *:* m")."""
    kind, numbers, access = text.split()
    major, minor = (-1 if n == "*" else int(n) for n in numbers.split(":"))
    return {"allow": True, "type": kind, "major": major, "minor": minor, "access": access}


def _enable_controllers(directory: str) -> None:
    """v2: let the children of `directory` use every controller it has (best effort)."""
    for controller in _read(os.path.join(directory, "cgroup.controllers")).split():
        try:
            _write(os.path.join(directory, "cgroup.subtree_control"), "+" + controller)
        except CgroupError:
            pass


class Cgroup:
    """The container's cgroup at `path` in every hierarchy."""

    def __init__(self, path: str, trees: list[Hierarchy] | None = None):
        """`trees`: the hierarchies to use (by default every one mounted)."""
        self.path = path
        self.trees = hierarchies() if trees is None else trees
        self.v2 = all(h.unified for h in self.trees)
        self.born_in: Hierarchy | None = None  # the tree a child of fork() started in

    def dirs(self) -> list[str]:
        return [h.dir(self.path) for h in self.trees]

    def dir_of(self, controller: str) -> str | None:
        """The container's directory in the hierarchy holding `controller` (v2: the unified one)."""
        for h in self.trees:
            if (self.v2 and h.unified) or controller in h.controllers:
                return h.dir(self.path)
        return None

    def create(self) -> None:
        for tree in self.trees:
            directory = tree.mountpoint
            for part in filter(None, self.path.split("/")):
                if tree.unified and self.v2:
                    _enable_controllers(directory)
                parent, directory = directory, os.path.join(directory, part)
                os.makedirs(directory, exist_ok=True)
                if "cpuset" in tree.controllers:  # v1 cpuset refuses tasks until cpus and mems are set
                    for name in ("cpuset.cpus", "cpuset.mems"):
                        if not _read(os.path.join(directory, name)).strip():
                            _write(os.path.join(directory, name), _read(os.path.join(parent, name)).strip())

    def _target(self, tree: Hierarchy, sub_paths: dict[str, str]) -> str:
        """The container's directory in `tree`, or the sub-cgroup of it exec --cgroup gave for the tree."""
        sub = next((path for names, path in sub_paths.items() if not names or
                    set(names.split(",")) & {c.removeprefix("name=") for c in tree.controllers}), "")
        return os.path.join(tree.dir(self.path), sub)

    def fork(self, sub_paths: dict[str, str] | None = None) -> int:
        """os.fork(), the child born in the cgroup's v2 directory when there is one (clone3 with
        CLONE_INTO_CGROUP): moving a process in afterwards takes the kernel's global lock on thread
        groups, which waits for an RCU grace period (10-15 ms here). The child then calls join() for
        the v1 trees. Plain os.fork() when the kernel refuses (join() then does the v2 tree too)."""
        unified = [tree for tree in self.trees if tree.unified]
        if len(unified) != 1:
            return os.fork()
        from vmstack.containers.libc import fork_into_cgroup

        try:
            directory = os.open(self._target(unified[0], sub_paths or {}), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return os.fork()  # a sub-cgroup that is not there: join() says so
        try:
            pid = fork_into_cgroup(directory)
        except OSError:
            return os.fork()
        finally:
            os.close(directory)
        if pid == 0:
            self.born_in = unified[0]
        return pid

    def join(self, sub_paths: dict[str, str] | None = None) -> None:
        """Move the calling process, a single-threaded child made by fork(), into the cgroup (exec
        --cgroup: into the sub-cgroups given per controller, "" for all) in every tree it was not born
        in. In a v1 tree its one thread goes through `tasks` as "0" (itself): the kernel then skips
        the global lock that a process move through cgroup.procs takes, as fork() explains."""
        for tree in self.trees:
            if tree is self.born_in:
                continue
            directory = self._target(tree, sub_paths or {})
            try:
                descriptor = os.open(os.path.join(directory, "cgroup.procs" if tree.unified else "tasks"),
                                     os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(descriptor, b"0")
                finally:
                    os.close(descriptor)
            except OSError as error:  # worded as runc's (which moves processes through cgroup.procs)
                raise CgroupError(f"adding pid {os.getpid()} to cgroups: openat2 {directory}/cgroup.procs: "
                                  f"{error.strerror.lower()}") from None

    def check_sub_paths(self, specs: list[str]) -> dict[str, str]:
        """exec --cgroup values ([controller[,controller]:]path) as {controllers: path}."""
        known = {c.removeprefix("name=") for tree in self.trees for c in tree.controllers}
        sub_paths = {}
        for spec in specs:
            names, _, path = spec.rpartition(":")
            for name in filter(None, names.split(",")):
                if name not in known:
                    raise CgroupError(f"invalid --cgroup argument: unknown controller {name!r}")
            norm = os.path.normpath(path)
            if norm == ".." or norm.startswith("../"):
                raise CgroupError(f"invalid --cgroup argument: {path} is not a sub cgroup path")
            sub_paths[names] = norm.strip("/").removeprefix(".")
        return sub_paths

    def pids(self) -> list[int]:
        for directory in self.dirs():
            try:
                return [int(p) for p in _read(os.path.join(directory, "cgroup.procs")).split()]
            except OSError:
                continue
        return []

    def apply(self, resources: dict[str, Any], device_rules: list[str] | None = None) -> None:
        """Set the limits of linux.resources (and the device rules for linux.devices)."""
        if self.v2:
            self._apply_v2(resources, device_rules or [])
        else:
            self._apply_v1(resources, device_rules or [])

    def _set(self, controller: str, name: str, value: Any) -> None:
        directory = self.dir_of(controller)
        if directory is None:
            raise CgroupError(f"cgroup controller {controller} is not available on this host")
        if not os.path.exists(os.path.join(directory, name)):
            raise CgroupError(f"{controller} limit {name} is not supported on this host")
        _write(os.path.join(directory, name), value)

    def _apply_v1(self, resources: dict[str, Any], device_rules: list[str]) -> None:
        if resources.get("unified"):
            raise CgroupError("invalid configuration: cannot use unified on cgroup v1")
        self._apply_memory_v1(resources.get("memory") or {})
        memory = resources.get("memory") or {}
        if memory.get("reservation") not in (None, 0):
            self._set("memory", "memory.soft_limit_in_bytes", memory["reservation"])
        if memory.get("swappiness") is not None and memory["swappiness"] <= 100:
            self._set("memory", "memory.swappiness", memory["swappiness"])
        if memory.get("disableOOMKiller"):
            self._set("memory", "memory.oom_control", 1)
        pids = resources.get("pids") or {}
        if pids.get("limit") not in (None, 0):
            self._set("pids", "pids.max", "max" if pids["limit"] < 0 else pids["limit"])
        cpu = resources.get("cpu") or {}
        for key, name in (("shares", "cpu.shares"), ("idle", "cpu.idle")):
            if cpu.get(key) not in (None, 0):
                self._set("cpu", name, cpu[key])
        # period and quota (and the realtime pair) are checked against each other and the parent's:
        # when one order is refused, the other may be the valid transition.
        for pair in ((("period", "cpu.cfs_period_us"), ("quota", "cpu.cfs_quota_us")),
                     (("realtimePeriod", "cpu.rt_period_us"), ("realtimeRuntime", "cpu.rt_runtime_us"))):
            wanted = [(name, cpu[key]) for key, name in pair if cpu.get(key) not in (None, 0)]
            try:
                for name, value in wanted:
                    self._set("cpu", name, value)
            except CgroupError:
                for name, value in reversed(wanted):
                    self._set("cpu", name, value)
        for key in ("cpus", "mems"):
            if cpu.get(key):
                self._set("cpuset", f"cpuset.{key}", cpu[key])
        self._apply_blkio_v1(resources.get("blockIO") or {})
        rules = [_device_rule(r) for r in resources.get("devices") or []]
        if self.dir_of("devices") is not None and (rules or device_rules):
            for allow, rule in rules + [(True, r) for r in DEFAULT_DEVICE_RULES + device_rules]:
                self._set("devices", "devices.allow" if allow else "devices.deny", rule)

    def _apply_memory_v1(self, memory: dict[str, Any]) -> None:
        limit, swap = memory.get("limit"), memory.get("swap")
        directory = self.dir_of("memory")
        has_swap = directory is not None and os.path.exists(os.path.join(directory, "memory.memsw.limit_in_bytes"))
        if swap not in (None, 0) and not has_swap:
            raise CgroupError("invalid configuration: memory.swap is set but swap accounting is disabled")
        if limit == -1 and swap in (None, 0) and has_swap:
            swap = -1  # lifting the memory limit lifts the memory+swap one too, as runc does
        if swap in (None, 0):
            if limit not in (None, 0):
                self._set("memory", "memory.limit_in_bytes", limit)
            return
        # memory+swap may never be below memory: raise memsw first when it grows, else lower memory first.
        current = int(_read(os.path.join(directory, "memory.memsw.limit_in_bytes")))
        if swap == -1 or swap > current:
            self._set("memory", "memory.memsw.limit_in_bytes", swap)
            if limit not in (None, 0):
                self._set("memory", "memory.limit_in_bytes", limit)
        else:
            if limit not in (None, 0):
                self._set("memory", "memory.limit_in_bytes", limit)
            self._set("memory", "memory.memsw.limit_in_bytes", swap)

    def _apply_blkio_v1(self, blkio: dict[str, Any]) -> None:
        def has(name: str) -> bool:
            return os.path.exists(os.path.join(self.dir_of("blkio") or "", name))

        if blkio.get("weight"):
            self._set("blkio", "blkio.weight" if has("blkio.weight") else "blkio.bfq.weight", blkio["weight"])
        if blkio.get("leafWeight"):
            self._set("blkio", "blkio.leaf_weight", blkio["leafWeight"])
        weight_device = "blkio.weight_device" if has("blkio.weight_device") else "blkio.bfq.weight_device"
        for device in blkio.get("weightDevice") or []:
            if device.get("weight"):
                self._set("blkio", weight_device, f"{device['major']}:{device['minor']} {device['weight']}")
        for key, name in (("throttleReadBpsDevice", "read_bps_device"), ("throttleWriteBpsDevice", "write_bps_device"),
                          ("throttleReadIOPSDevice", "read_iops_device"),
                          ("throttleWriteIOPSDevice", "write_iops_device")):
            for device in blkio.get(key) or []:
                self._set("blkio", f"blkio.throttle.{name}", f"{device['major']}:{device['minor']} {device['rate']}")

    def _apply_v2(self, resources: dict[str, Any], device_rules: list[str]) -> None:
        memory = resources.get("memory") or {}
        if memory.get("limit") not in (None, 0):
            self._set("memory", "memory.max", "max" if memory["limit"] < 0 else memory["limit"])
        if memory.get("swap") not in (None, 0):
            swap = memory["swap"]
            self._set("memory", "memory.swap.max",
                      "max" if swap < 0 else max(swap - (memory.get("limit") or 0), 0))
        if memory.get("reservation") not in (None, 0):
            self._set("memory", "memory.low", memory["reservation"])
        pids = resources.get("pids") or {}
        if pids.get("limit") not in (None, 0):
            self._set("pids", "pids.max", "max" if pids["limit"] < 0 else pids["limit"])
        cpu = resources.get("cpu") or {}
        if cpu.get("shares"):
            self._set("cpu", "cpu.weight", 1 + ((cpu["shares"] - 2) * 9999) // 262142)
        if cpu.get("quota") or cpu.get("period"):
            quota = cpu.get("quota")
            self._set("cpu", "cpu.max", f"{'max' if quota in (None, -1) else quota} {cpu.get('period') or 100000}")
        for key in ("cpus", "mems"):
            if cpu.get(key):
                self._set("cpuset", f"cpuset.{key}", cpu[key])
        blkio = resources.get("blockIO") or {}
        if blkio.get("weight"):
            self._set("io", "io.weight", blkio["weight"])
        for key, name in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                          ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
            for device in blkio.get(key) or []:
                self._set("io", "io.max", f"{device['major']}:{device['minor']} {name}={device['rate']}")
        for name, value in (resources.get("unified") or {}).items():
            if "/" in name or name.startswith("."):
                raise CgroupError(f"invalid unified resource name {name!r}")
            self._set("memory", name, value)
        rules = resources.get("devices") or []
        if rules or device_rules:  # v2 has no devices files: an eBPF program decides
            from vmstack.containers import devicefilter

            defaults = [_device_rule_of(text) for text in DEFAULT_DEVICE_RULES + device_rules]
            try:
                devicefilter.attach(self.dir_of("devices"), rules + defaults)
            except devicefilter.DeviceFilterError as error:
                raise CgroupError(str(error)) from None

    def freeze(self) -> None:
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        directory = self.dir_of("freezer")
        if directory is None:
            raise CgroupError("the freezer cgroup is not available on this host")
        if self.v2:
            _write(os.path.join(directory, "cgroup.freeze"), int(frozen))
            return
        wanted = "FROZEN" if frozen else "THAWED"
        for _ in range(1000):
            _write(os.path.join(directory, "freezer.state"), wanted)
            if _read(os.path.join(directory, "freezer.state")).strip() == wanted:
                return
            time.sleep(0.001)
        raise CgroupError(f"cgroup did not reach {wanted}")

    def frozen(self) -> bool:
        directory = self.dir_of("freezer")
        try:
            if directory is None:
                return False
            if self.v2:
                return _read(os.path.join(directory, "cgroup.freeze")).strip() == "1"
            return _read(os.path.join(directory, "freezer.state")).strip() == "FROZEN"
        except OSError:
            return False

    def oom_kills(self) -> int:
        """How many processes the OOM killer killed in this cgroup."""
        directory = self.dir_of("memory")
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            for line in _read(os.path.join(directory, name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, TypeError):
            pass
        return 0

    def stats(self) -> dict[str, Any]:
        """runc-style statistics: pids and memory usage."""
        stats: dict[str, Any] = {"pids": {"current": len(self.pids())}}
        memory = self.dir_of("memory")
        name = "memory.current" if self.v2 else "memory.usage_in_bytes"
        try:
            stats["memory"] = {"usage": {"usage": int(_read(os.path.join(memory, name)))}}
        except (OSError, TypeError, ValueError):
            pass
        return stats

    def destroy(self, kill_all: bool = True) -> None:
        """Kill whatever is left inside (unless told not to: a cgroup shared with another container)
        and remove the container's directory in every hierarchy."""
        if kill_all and any(map(os.path.exists, self.dirs())):
            for _ in range(500):
                pids = self.pids()
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, SIGKILL)
                    except ProcessLookupError:
                        pass
                if self.frozen():
                    self.thaw()
                time.sleep(0.01)
        deadline = time.monotonic() + 2
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.01)  # the last tasks of a dead pid namespace are still exiting
        shared = bool(self.pids())
        for directory in self.dirs():
            for _ in range(1 if shared else 50):
                try:
                    for parent, subs, _ in os.walk(directory, topdown=False):
                        for sub in subs:  # sub-cgroups the container made (their files are not removable)
                            os.rmdir(os.path.join(parent, sub))
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        if shared:
            print(f"warning: cgroup {self.path} is still used by other processes: left in place", file=sys.stderr)
