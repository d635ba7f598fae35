"""The OCI runtime configuration (a bundle's config.json) parsed into plain classes and validated
(not dataclasses: importing them, with the inspect module they load, costs more than a whole `start`).

Everything else in vmstack.containers applies a `Spec`; nothing else reads config.json. Errors are
`SpecError`s whose text reads like runc's (one line, saying which field is wrong)."""

from __future__ import annotations

import os

from vmstack.containers.state import read_json

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


class SpecError(Exception):
    """config.json is unreadable, malformed or asks for something invalid."""


class User:
    def __init__(self, uid: int = 0, gid: int = 0, umask: int | None = None,
                 additional_gids: list[int] | None = None):
        self.uid, self.gid, self.umask = uid, gid, umask
        self.additional_gids = additional_gids or []


class Capabilities:
    def __init__(self, bounding: list[str] | None = None, effective: list[str] | None = None,
                 permitted: list[str] | None = None, inheritable: list[str] | None = None,
                 ambient: list[str] | None = None):
        self.bounding, self.effective, self.permitted = bounding or [], effective or [], permitted or []
        self.inheritable, self.ambient = inheritable or [], ambient or []


class Rlimit:
    def __init__(self, type: str, soft: int, hard: int):
        self.type, self.soft, self.hard = type, soft, hard


class Process:
    def __init__(self, args: list[str], cwd: str = "/", env: list[str] | None = None, terminal: bool = False,
                 console_size: tuple[int, int] | None = None, user: User | None = None,
                 capabilities: Capabilities | None = None, rlimits: list[Rlimit] | None = None,
                 no_new_privileges: bool = False, apparmor_profile: str = "", selinux_label: str = "",
                 oom_score_adj: int | None = None):
        self.args, self.cwd, self.env, self.terminal = args, cwd, env or [], terminal
        self.console_size = console_size  # (height, width)
        self.user, self.capabilities, self.rlimits = user or User(), capabilities, rlimits or []
        self.no_new_privileges, self.apparmor_profile = no_new_privileges, apparmor_profile
        self.selinux_label, self.oom_score_adj = selinux_label, oom_score_adj


class Mount:
    def __init__(self, destination: str, type: str = "", source: str = "", options: list[str] | None = None):
        self.destination, self.type, self.source, self.options = destination, type, source, options or []


class Namespace:
    def __init__(self, type: str, path: str = ""):
        self.type, self.path = type, path


class IDMapping:
    def __init__(self, container_id: int, host_id: int, size: int):
        self.container_id, self.host_id, self.size = container_id, host_id, size


class Device:
    def __init__(self, path: str, type: str, major: int = 0, minor: int = 0, file_mode: int | None = None,
                 uid: int | None = None, gid: int | None = None):
        self.path, self.type, self.major, self.minor = path, type, major, minor
        self.file_mode, self.uid, self.gid = file_mode, uid, gid


class Hook:
    def __init__(self, path: str, args: list[str] | None = None, env: list[str] | None = None,
                 timeout: int | None = None):
        self.path, self.args, self.env, self.timeout = path, args or [], env or [], timeout


HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


class Linux:
    def __init__(self, namespaces: list[Namespace] | None = None, uid_mappings: list[IDMapping] | None = None,
                 gid_mappings: list[IDMapping] | None = None, devices: list[Device] | None = None,
                 cgroups_path: str = "", resources: dict[str, Any] | None = None,
                 seccomp: dict[str, Any] | None = None, sysctl: dict[str, str] | None = None,
                 masked_paths: list[str] | None = None, readonly_paths: list[str] | None = None,
                 rootfs_propagation: str = "", mount_label: str = ""):
        self.namespaces, self.uid_mappings = namespaces or [], uid_mappings or []
        self.gid_mappings, self.devices = gid_mappings or [], devices or []
        self.cgroups_path, self.resources, self.seccomp = cgroups_path, resources or {}, seccomp
        self.sysctl, self.masked_paths, self.readonly_paths = sysctl or {}, masked_paths or [], readonly_paths or []
        self.rootfs_propagation, self.mount_label = rootfs_propagation, mount_label

    def namespace(self, kind: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == kind), None)


class Spec:
    def __init__(self, oci_version: str, root_path: str, root_readonly: bool, process: Process | None,
                 hostname: str = "", domainname: str = "", mounts: list[Mount] | None = None,
                 hooks: dict[str, list[Hook]] | None = None, linux: Linux | None = None,
                 annotations: dict[str, str] | None = None):
        self.oci_version, self.root_path, self.root_readonly = oci_version, root_path, root_readonly
        self.process, self.hostname, self.domainname = process, hostname, domainname
        self.mounts, self.hooks, self.linux = mounts or [], hooks or {}, linux or Linux()
        self.annotations = annotations or {}


def _typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, (int,)):
        raise SpecError(f"config.json: {where}: expected a number, got {_json_text(value)}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise SpecError(f"config.json: {where}: expected {names}, got {_json_text(value)[:40]}")
    return value


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value)


def _get(obj: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
    if key not in obj or obj[key] is None:
        return default
    return _typed(obj[key], kind, f"{where}.{key}")


def _strings(obj: dict, key: str, where: str) -> list[str]:
    values = _get(obj, key, list, where, [])
    return [_typed(v, str, f"{where}.{key}[{i}]") for i, v in enumerate(values)]


def parse_process(raw: Any, where: str = "process") -> Process:
    """The `process` object (also what `exec --process` reads)."""
    raw = _typed(raw, dict, where)
    args = _strings(raw, "args", where)
    if not args:
        raise SpecError("args must not be empty")
    cwd = _get(raw, "cwd", str, where, "/")
    if not os.path.isabs(cwd):
        raise SpecError(f"cwd property must not be empty and must be an absolute path: {cwd!r}")
    user_raw = _get(raw, "user", dict, where, {})
    user = User(uid=_get(user_raw, "uid", int, f"{where}.user", 0),
                gid=_get(user_raw, "gid", int, f"{where}.user", 0),
                umask=_get(user_raw, "umask", int, f"{where}.user"),
                additional_gids=[_typed(g, int, f"{where}.user.additionalGids")
                                 for g in _get(user_raw, "additionalGids", list, f"{where}.user", [])])
    caps_raw = _get(raw, "capabilities", dict, where)
    caps = None
    if caps_raw is not None:
        caps = Capabilities(**{name: _strings(caps_raw, name, f"{where}.capabilities")
                               for name in ("bounding", "effective", "permitted", "inheritable", "ambient")})
    rlimits = []
    for i, r in enumerate(_get(raw, "rlimits", list, where, [])):
        r = _typed(r, dict, f"{where}.rlimits[{i}]")
        rlimits.append(Rlimit(type=_get(r, "type", str, f"{where}.rlimits[{i}]", ""),
                              soft=_get(r, "soft", int, f"{where}.rlimits[{i}]", 0),
                              hard=_get(r, "hard", int, f"{where}.rlimits[{i}]", 0)))
    size_raw = _get(raw, "consoleSize", dict, where)
    console_size = None
    if size_raw:
        console_size = (_get(size_raw, "height", int, where, 0), _get(size_raw, "width", int, where, 0))
    return Process(args=args, cwd=cwd, env=_strings(raw, "env", where),
                   terminal=_get(raw, "terminal", bool, where, False), console_size=console_size, user=user,
                   capabilities=caps, rlimits=rlimits,
                   no_new_privileges=_get(raw, "noNewPrivileges", bool, where, False),
                   apparmor_profile=_get(raw, "apparmorProfile", str, where, ""),
                   selinux_label=_get(raw, "selinuxLabel", str, where, ""),
                   oom_score_adj=_get(raw, "oomScoreAdj", int, where))


def _id_mappings(raw: dict, key: str) -> list[IDMapping]:
    out = []
    for i, m in enumerate(_get(raw, key, list, "linux", [])):
        where = f"linux.{key}[{i}]"
        m = _typed(m, dict, where)
        out.append(IDMapping(_get(m, "containerID", int, where, 0), _get(m, "hostID", int, where, 0),
                             _get(m, "size", int, where, 0)))
    return out


def _parse_linux(raw: dict) -> Linux:
    namespaces = []
    seen = set()
    for i, ns in enumerate(_get(raw, "namespaces", list, "linux", [])):
        ns = _typed(ns, dict, f"linux.namespaces[{i}]")
        kind = _get(ns, "type", str, f"linux.namespaces[{i}]", "")
        if kind not in NAMESPACE_TYPES:
            raise SpecError(f"namespace type {kind!r} is not supported")
        if kind in seen:
            raise SpecError(f"malformed spec file: duplicated namespace {kind!r}")
        seen.add(kind)
        namespaces.append(Namespace(kind, _get(ns, "path", str, f"linux.namespaces[{i}]", "")))
    devices = []
    for i, d in enumerate(_get(raw, "devices", list, "linux", [])):
        where = f"linux.devices[{i}]"
        d = _typed(d, dict, where)
        devices.append(Device(path=_get(d, "path", str, where, ""), type=_get(d, "type", str, where, ""),
                              major=_get(d, "major", int, where, 0), minor=_get(d, "minor", int, where, 0),
                              file_mode=_get(d, "fileMode", int, where), uid=_get(d, "uid", int, where),
                              gid=_get(d, "gid", int, where)))
    return Linux(namespaces=namespaces, uid_mappings=_id_mappings(raw, "uidMappings"),
                 gid_mappings=_id_mappings(raw, "gidMappings"), devices=devices,
                 cgroups_path=_get(raw, "cgroupsPath", str, "linux", ""),
                 resources=_get(raw, "resources", dict, "linux", {}),
                 seccomp=_get(raw, "seccomp", dict, "linux"),
                 sysctl={k: str(v) for k, v in _get(raw, "sysctl", dict, "linux", {}).items()},
                 masked_paths=_strings(raw, "maskedPaths", "linux"),
                 readonly_paths=_strings(raw, "readonlyPaths", "linux"),
                 rootfs_propagation=_get(raw, "rootfsPropagation", str, "linux", ""),
                 mount_label=_get(raw, "mountLabel", str, "linux", ""))


def parse_spec(raw: Any, bundle: str) -> Spec:
    """A decoded config.json of the bundle `bundle` as a validated Spec."""
    raw = _typed(raw, dict, "top level")
    version = _get(raw, "ociVersion", str, "", "")
    root = _get(raw, "root", dict, "", None)
    if root is None or not _get(root, "path", str, "root", ""):
        raise SpecError("root must be specified")
    root_path = os.path.join(bundle, root["path"])
    relative = os.path.normpath(root["path"])
    if not os.path.isabs(relative) and (relative == ".." or relative.startswith("../")):
        raise SpecError(f"root.path {root['path']!r} escapes the bundle {bundle}")
    mounts = []
    for i, m in enumerate(_get(raw, "mounts", list, "", [])):
        where = f"mounts[{i}]"
        m = _typed(m, dict, where)
        destination = _get(m, "destination", str, where, "")
        if not destination:
            raise SpecError(f"{where}: destination must not be empty")
        mounts.append(Mount(destination, _get(m, "type", str, where, ""), _get(m, "source", str, where, ""),
                            _strings(m, "options", where)))
    hooks: dict[str, list[Hook]] = {}
    for kind, entries in _get(raw, "hooks", dict, "", {}).items():
        if kind not in HOOK_KINDS:
            continue
        hooks[kind] = []
        for i, h in enumerate(_typed(entries, list, f"hooks.{kind}")):
            where = f"hooks.{kind}[{i}]"
            h = _typed(h, dict, where)
            hooks[kind].append(Hook(_get(h, "path", str, where, ""), _strings(h, "args", where),
                                    _strings(h, "env", where), _get(h, "timeout", int, where)))
    process = parse_process(raw["process"]) if raw.get("process") is not None else None
    spec = Spec(oci_version=version, root_path=root_path, root_readonly=_get(root, "readonly", bool, "root", False),
                process=process, hostname=_get(raw, "hostname", str, "", ""),
                domainname=_get(raw, "domainname", str, "", ""), mounts=mounts, hooks=hooks,
                linux=_parse_linux(_get(raw, "linux", dict, "", {})),
                annotations=_get(raw, "annotations", dict, "", {}))
    validate(spec)
    return spec


def validate(spec: Spec) -> None:
    """Checks runc makes before creating anything."""
    if not os.path.isdir(spec.root_path):
        raise SpecError(f"rootfs ({spec.root_path}) does not exist")
    linux = spec.linux
    if linux.namespace("mount") is None:
        raise SpecError("a mount namespace is required (add {\"type\": \"mount\"} to linux.namespaces)")
    if spec.hostname and linux.namespace("uts") is None:
        raise SpecError("unable to set hostname without a private UTS namespace")
    if spec.domainname and linux.namespace("uts") is None:
        raise SpecError("unable to set domainname without a private UTS namespace")
    user_ns = linux.namespace("user")
    if (linux.uid_mappings or linux.gid_mappings) and user_ns is None:
        raise SpecError("user namespaces aren't enabled in the kernel or uid/gid mappings given without one")
    if user_ns is not None and not user_ns.path and not (linux.uid_mappings and linux.gid_mappings):
        raise SpecError("user namespaces enabled, but no user mapping found")
    for ns in linux.namespaces:
        if ns.path and not os.path.exists(ns.path):
            raise SpecError(f"namespace path {ns.path!r} for {ns.type!r} does not exist")
    if linux.rootfs_propagation not in ("", "shared", "slave", "private", "unbindable",
                                        "rshared", "rslave", "rprivate", "runbindable"):
        raise SpecError(f"rootfsPropagation of {linux.rootfs_propagation!r} is invalid")
    for name in linux.sysctl:
        if name.startswith("net.") and linux.namespace("network") is None:
            raise SpecError(f"sysctl {name!r} is not allowed in the hosts network namespace")


def load_bundle(bundle: str) -> Spec:
    """Read and validate BUNDLE/config.json."""
    return parse_spec(load_config(bundle), bundle)


def load_config(bundle: str) -> Any:
    """The decoded BUNDLE/config.json."""
    try:
        return read_json(os.path.join(bundle, "config.json"))
    except FileNotFoundError:
        raise SpecError("JSON specification file config.json not found") from None
    except OSError as error:
        raise SpecError(f"config.json: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"config.json: invalid JSON: {error.reason}") from None
    except ValueError as error:  # json.JSONDecodeError
        raise SpecError(f"config.json: invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
