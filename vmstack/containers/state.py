"""Containers' on-disk state under the runtime root (default /run/vmstack-runc): one directory per
container id holding state.json (what the runtime recorded), config.json (the spec it was made from)
and, between create and start, exec.fifo. The status (creating, created, running, paused, stopped) is
derived from the live process, as runc does, and reported as the OCI state JSON."""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("/run/vmstack-runc")
OCI_VERSION = "1.0.2"
VALID_ID = re.compile(r"^[\w+.-]+$")


class StateError(Exception):
    """No such container, an id in use, or an invalid id."""


def check_id(container_id: str) -> None:
    if not VALID_ID.match(container_id) or container_id in (".", ".."):
        raise StateError(f"invalid container id format: {container_id}")


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of pid, or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


class Record:
    """What the runtime remembers of one container (a plain class: importing dataclasses costs more than
    a whole `start`)."""

    def __init__(self, id: str, bundle: str, rootfs: str, cgroup_path: str, created: str = "",
                 pid: int = 0, pid_start: int = 0, creator_pid: int = 0, ready: bool = False,
                 annotations: dict[str, str] | None = None, owner: str = ""):
        self.id, self.bundle, self.rootfs, self.cgroup_path, self.created = id, bundle, rootfs, cgroup_path, created
        self.pid, self.pid_start, self.creator_pid = pid, pid_start, creator_pid
        self.ready = ready  # create finished: the init waits on exec.fifo
        self.annotations = annotations or {}
        self.owner = owner

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Container:
    """The state directory of one container."""

    def __init__(self, root: Path, container_id: str):
        check_id(container_id)
        self.id = container_id
        self.dir = root / container_id
        self.fifo = self.dir / "exec.fifo"
        self._record: Record | None = None

    @classmethod
    def make(cls, root: Path, record: Record, raw_config: dict[str, Any]) -> Container:
        container = cls(root, record.id)
        root.mkdir(parents=True, exist_ok=True, mode=0o711)
        try:
            container.dir.mkdir(mode=0o711)
        except FileExistsError:
            raise StateError(f"container with id exists: {record.id}") from None
        record.created = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
        record.creator_pid = os.getpid()
        container.save(record)
        (container.dir / "config.json").write_text(json.dumps(raw_config))
        os.mkfifo(container.fifo)
        os.chmod(container.fifo, 0o622)  # writable by the init whatever uid it runs as (umask aside)
        return container

    def exists(self) -> bool:
        return (self.dir / "state.json").exists()

    @property
    def record(self) -> Record:
        if self._record is None:
            try:
                self._record = Record(**json.loads((self.dir / "state.json").read_text()))
            except FileNotFoundError:
                raise StateError("container does not exist") from None
        return self._record

    def config(self) -> dict[str, Any]:
        try:
            return json.loads((self.dir / "config.json").read_text())
        except (OSError, ValueError):
            return {}

    def save(self, record: Record) -> None:
        self._record = record
        partial = self.dir / "state.json.part"
        partial.write_text(json.dumps(record.as_dict()))
        partial.rename(self.dir / "state.json")

    def alive_pid(self) -> int:
        """The init's pid while it lives (same start time as recorded), else 0."""
        record = self.record
        if record.pid and process_start_time(record.pid) == record.pid_start:
            return record.pid
        return 0

    def status(self, frozen: bool = False) -> str:
        record = self.record
        if not record.ready:
            return "creating" if process_start_time(record.creator_pid) is not None else "stopped"
        if not self.alive_pid():
            return "stopped"
        if self.fifo.exists():
            return "created"
        return "paused" if frozen else "running"

    def oci_state(self, status: str) -> dict[str, Any]:
        """The state as the OCI runtime spec defines it (plus runc's rootfs, created and owner)."""
        record = self.record
        state = {"ociVersion": OCI_VERSION, "id": record.id, "pid": self.alive_pid() if status != "stopped" else 0,
                 "status": status, "bundle": record.bundle, "rootfs": record.rootfs, "created": record.created,
                 "owner": record.owner}
        if record.annotations:
            state["annotations"] = record.annotations
        return state

    def remove(self) -> None:
        """Remove the state directory (flat: its files only; shutil is not worth importing for it)."""
        try:
            for entry in os.scandir(self.dir):
                os.unlink(entry.path)
            os.rmdir(self.dir)
        except OSError:
            pass


def all_containers(root: Path) -> list[Container]:
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if (entry / "state.json").exists():
            found.append(Container(root, entry.name))
    return found
