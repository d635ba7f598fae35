"""Containers' on-disk state under the runtime root (default /run/vmstack-runc): one directory per
container id holding state.json (what the runtime recorded), config.json (the spec it was made from)
and, between create and start, exec.fifo. The status (creating, created, running, paused, stopped) is
derived from the live process, as runc does, and reported as the OCI state JSON.

The commands that only read the state (start, state, kill, delete) import nothing beyond os: paths
are strings, not pathlib's, and the JSON is read by the json package's C scanner alone (json.decoder
imports re and enum, which cost more than a whole `start`); create writes it, and state and list print
it, through the C encoder."""

from __future__ import annotations

import os
import time
from _json import encode_basestring_ascii, make_encoder, make_scanner

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ROOT = "/run/vmstack-runc"
OCI_VERSION = "1.0.2"
ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-")


class StateError(Exception):
    """No such container, an id in use, or an invalid id."""


class _Decoding:
    """The settings json.loads gives its C scanner by default."""
    strict, object_hook, object_pairs_hook, parse_float, parse_int, parse_constant = True, None, None, float, int, None


_scan = make_scanner(_Decoding())


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# json.dumps's defaults (ensure_ascii, ", " and ": ", NaN allowed), without its circular-reference check;
# and with separators="," and ":"
_encode = make_encoder(None, _not_json, encode_basestring_ascii, None, ": ", ", ", False, False, True)
_encode_compact = make_encoder(None, _not_json, encode_basestring_ascii, None, ":", ",", False, False, True)


def to_json(value: Any, compact: bool = False, indent: str = "") -> str:
    """`value` as json.dumps writes it, through the C encoder: by default with ", " and ": ", with ","
    and ":" when `compact`, or laid out as json.dumps(value, indent=...) does (the C encoder cannot
    indent: objects and arrays are laid out here, their leaves encoded by it)."""
    if indent:
        return _indented(value, indent, 0)
    return "".join((_encode_compact if compact else _encode)(value, 0))


def _key(key: Any) -> str:
    """An object key as json.dumps takes it: a str, or a number, bool or None written as JSON."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (int, float)):
        return to_json(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _indented(value: Any, indent: str, level: int) -> str:
    inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
    if isinstance(value, dict) and value:
        items = [f"{encode_basestring_ascii(_key(key))}: {_indented(item, indent, level + 1)}"
                 for key, item in value.items()]
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if isinstance(value, (list, tuple)) and value:
        return "[" + inner + ("," + inner).join(_indented(item, indent, level + 1) for item in value) + outer + "]"
    return "".join(_encode(value, 0))


def read_json(path: str) -> Any:
    """The JSON value in file `path` (json.loads reports what is malformed about a file not made here)."""
    with open(path) as f:
        text = f.read()
    try:
        value, end = _scan(text, 0)
    except Exception:  # noqa: BLE001 - the C scanner alone raises odd errors: json.loads says what is wrong
        end = -1
    if end == len(text):
        return value
    import json

    return json.loads(text)


def write_file(path: str, text: str) -> None:
    """Write `text` to `path` atomically: into a .part file that then takes the place of `path`. Over
    an existing file the two swap (renameat2's RENAME_EXCHANGE) and the old one is unlinked: ext4
    (auto_da_alloc) makes a rename over a file write the new one's blocks out at once, and freeing
    written blocks costs about 4 ms here, on the rename after next and on delete's unlink."""
    partial = f"{path}.part"
    with open(partial, "w") as f:
        f.write(text)
    if os.path.exists(path):
        from vmstack.containers.libc import exchange

        try:
            exchange(partial, path)
        except OSError:  # a file system without exchange
            os.rename(partial, path)
        else:
            os.unlink(partial)
    else:
        os.rename(partial, path)


def write_json(path: str, value: Any) -> None:
    """Write `value` as JSON to `path` atomically (write_file)."""
    write_file(path, to_json(value))


def utc_timestamp() -> str:
    """Now as RFC 3339 UTC with nanoseconds, as runc writes it (the datetime module costs a few ms more)."""
    now = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}Z"


def check_id(container_id: str) -> None:
    if not container_id or not ID_CHARACTERS.issuperset(container_id) or container_id in (".", ".."):
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
                 annotations: dict[str, str] | None = None, owner: str = "",
                 poststart: list | None = None, poststop: list | None = None, own_pid_namespace: bool = False):
        self.id, self.bundle, self.rootfs, self.cgroup_path, self.created = id, bundle, rootfs, cgroup_path, created
        self.pid, self.pid_start, self.creator_pid = pid, pid_start, creator_pid
        self.ready = ready  # create finished: the init waits on exec.fifo
        self.annotations = annotations or {}
        self.owner = owner
        # what start and delete need of config.json, so that they do not read it
        self.poststart, self.poststop = poststart or [], poststop or []
        self.own_pid_namespace = own_pid_namespace  # the container ends with its init

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Container:
    """The state directory of one container."""

    def __init__(self, root: str, container_id: str):
        check_id(container_id)
        self.id = container_id
        self.dir = os.path.join(root, container_id)
        self.fifo = os.path.join(self.dir, "exec.fifo")
        self._record: Record | None = None

    @classmethod
    def make(cls, root: str, record: Record, raw_config: dict[str, Any]) -> Container:
        container = cls(root, record.id)
        os.makedirs(root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(container.dir, mode=0o711)
        except FileExistsError:
            raise StateError(f"container with id exists: {record.id}") from None
        record.created = utc_timestamp()
        record.creator_pid = os.getpid()
        container.save(record)
        write_json(os.path.join(container.dir, "config.json"), raw_config)
        os.mkfifo(container.fifo)
        os.chmod(container.fifo, 0o622)  # writable by the init whatever uid it runs as (umask aside)
        return container

    def exists(self) -> bool:
        return os.path.exists(os.path.join(self.dir, "state.json"))

    @property
    def record(self) -> Record:
        if self._record is None:
            try:
                self._record = Record(**read_json(os.path.join(self.dir, "state.json")))
            except FileNotFoundError:
                raise StateError("container does not exist") from None
        return self._record

    def config(self) -> dict[str, Any]:
        try:
            return read_json(os.path.join(self.dir, "config.json"))
        except (OSError, ValueError):
            return {}

    def save(self, record: Record) -> None:
        self._record = record
        write_json(os.path.join(self.dir, "state.json"), record.as_dict())

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
        if os.path.exists(self.fifo):
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


def all_containers(root: str) -> list[Container]:
    if not os.path.isdir(root):
        return []
    return [Container(root, name) for name in sorted(os.listdir(root))
            if os.path.exists(os.path.join(root, name, "state.json"))]
