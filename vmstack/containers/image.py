"""OCI images: read an image, unpack its layers into a rootfs, and turn its config into a runtime bundle.

An image is an OCI image layout directory (oci-layout, index.json, blobs/), the same layout in a tar
(skopeo's `oci-archive:`), or a docker archive (manifest.json, a config and layer tars, skopeo's
`docker-archive:`). A `REF` after a colon (`IMAGE.tar:latest`) picks one of several manifests by its
`org.opencontainers.image.ref.name` annotation or, in a docker archive, by repository tag.

Every blob is checked against its digest before it is used: manifests and configs by their sha256, each
layer by its descriptor's digest (compressed bytes) and by the config's `rootfs.diff_ids` (uncompressed
tar). Layers (tar, gzip) are applied in order. A layer's whiteouts (`.wh.NAME` removes NAME, and
`.wh..wh..opq` empties its directory) act on the layers below it, so they are applied before the layer's
other entries. Every path in a layer is resolved inside the rootfs the way the container will see it:
symlinks, absolute or relative, are followed with the rootfs as `/`, and `..` stops at it, so no entry
lands outside; an entry whose own name contains `..` is refused. Owners, modes, times, extended attributes
and device nodes are kept (so unpacking runs as root).

`bundle_spec` starts from the runtime's own default spec (`RUNTIME spec`; the runtime is vmstack's own
vmstack-runc unless another is named) and applies the image config (Env, Entrypoint, Cmd, WorkingDir,
User; ExposedPorts and Volumes are ignored) and the caller's overrides.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",  # the first is the default
                  "application/vnd.docker.distribution.manifest.v2+json")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MAX_NESTED_INDEXES = 4
HOST_ARCHITECTURE = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
"""This host's architecture as OCI platforms name it."""
REF_NAME = "org.opencontainers.image.ref.name"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
CONTAINERS_DIR = "/var/lib/vmstack/containers"
"""Where `run_image` keeps bundles (VMSTACK_CONTAINERS overrides it)."""
EXIT_IMAGE_ERROR = 125
"""The exit status of `vmstack container` when it fails before the container runs (docker's)."""
CHUNK = 1 << 20
MAX_SYMLINK_HOPS = 40


class ImageError(Exception):
    """An image that cannot be read, verified or unpacked: the message is one line for the user."""


# ---------------------------------------------------------------- where blobs come from


class _Files:
    """Named files of an image: a directory, or the members of a tar archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if path.is_file():
            try:
                self._tar = tarfile.open(path, "r:")  # noqa: SIM115 - open for the life of the image
            except (tarfile.TarError, OSError) as exc:
                raise ImageError(f"{path}: not a tar archive ({exc})") from None
            self._members = {_normal_name(m.name): m for m in self._tar.getmembers()}
        elif not path.is_dir():
            raise ImageError(f"{path}: no such image file or directory")

    def _inside(self, name: str) -> Path | None:
        """The regular file `name` of an image directory, if it is one and lies inside the directory."""
        target = Path(os.path.realpath(self.path / name))
        if not target.is_relative_to(os.path.realpath(self.path)) or not target.is_file():
            return None
        return target

    def exists(self, name: str) -> bool:
        if self._tar is not None:
            return name in self._members
        return self._inside(name) is not None

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if ".." in name.split("/") or name.startswith("/"):
            raise ImageError(f"{self.path}: {name!r} points outside the image")
        if self._tar is not None:
            member = self._members.get(name)
            stream = self._tar.extractfile(member) if member is not None else None
            if stream is None:
                raise ImageError(f"{self.path}: {name} is missing from the archive")
            with stream:
                yield stream
            return
        target = self._inside(name)
        if target is None:
            raise ImageError(f"{self.path}: {name} is missing from the image (or not a file inside it)")
        with open(target, "rb") as stream:
            yield stream

    def read(self, name: str, limit: int = 64 << 20) -> bytes:
        with self.open(name) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise ImageError(f"{self.path}: {name} is too large for a manifest or config")
        return data

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()


def _normal_name(name: str) -> str:
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageError(f"{what}: malformed JSON ({exc})") from None


def _sha256_hex(digest: Any, what: str) -> str:
    match = DIGEST.fullmatch(digest) if isinstance(digest, str) else None
    if not match:
        raise ImageError(f"{what}: unsupported or malformed digest {digest!r} (expected sha256:<64 hex>)")
    return match.group(1)


# ---------------------------------------------------------------- the image model


@dataclass
class Layer:
    """One layer blob: where it is, what its compressed bytes and its tar must hash to."""

    name: str
    digest: str | None  # sha256 hex of the blob as stored, when the format records it
    diff_id: str | None  # sha256 hex of the uncompressed tar, from the config


@dataclass
class Image:
    """An image ready to unpack: its config (the whole config JSON) and its layers, bottom first."""

    source: Path
    config: dict[str, Any]
    layers: list[Layer]
    files: _Files = field(repr=False)

    @property
    def run_config(self) -> dict[str, Any]:
        """The image config's `config` object (Env, Cmd, Entrypoint, WorkingDir, User...)."""
        value = self.config.get("config") or {}
        if not isinstance(value, dict):
            raise ImageError(f"{self.source}: the image config's 'config' is not an object")
        return value

    def close(self) -> None:
        self.files.close()


def open_image(reference: str) -> Image:
    """Read and verify the manifest and config of an image: a layout directory, an oci- or docker-archive."""
    path, ref = Path(reference), None
    if not path.exists() and ":" in reference:
        head, _, ref = reference.rpartition(":")
        path = Path(head)
    files = _Files(path)
    try:
        if files.exists("index.json"):
            return _open_oci(files, ref)
        if files.exists("manifest.json"):
            return _open_docker(files, ref)
        raise ImageError(f"{path}: neither an OCI image (index.json) nor a docker archive (manifest.json)")
    except BaseException:
        files.close()
        raise


def _verified_blob(files: _Files, descriptor: Any, what: str) -> bytes:
    if not isinstance(descriptor, dict):
        raise ImageError(f"{files.path}: {what} descriptor is not an object")
    hexdigest = _sha256_hex(descriptor.get("digest"), f"{files.path}: {what}")
    data = files.read(f"blobs/sha256/{hexdigest}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != hexdigest:
        raise ImageError(f"{files.path}: {what} digest mismatch: expected sha256:{hexdigest}, "
                         f"got sha256:{actual}")
    size = descriptor.get("size")
    if isinstance(size, int) and size != len(data):
        raise ImageError(f"{files.path}: {what} size mismatch: expected {size} bytes, got {len(data)}")
    return data


def _pick(candidates: list[Any], ref: str | None, names: Callable[[Any], list[str]], where: str) -> Any:
    if ref is not None:
        chosen = [c for c in candidates if ref in names(c)]
        if not chosen:
            raise ImageError(f"{where}: no image named {ref!r}")
        return chosen[0]
    if len(candidates) != 1:
        listed = ", ".join(n for c in candidates for n in names(c)) or "unnamed"
        raise ImageError(f"{where}: holds {len(candidates)} images ({listed}); pick one with IMAGE:REF")
    return candidates[0]


def _descriptors(index: Any, where: str) -> list[dict[str, Any]]:
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise ImageError(f"{where}: index has no 'manifests' list")
    return manifests


def _open_oci(files: _Files, ref: str | None) -> Image:
    where = str(files.path)
    index = _json(files.read("index.json"), f"{where}: index.json")
    descriptors = _descriptors(index, f"{where}: index.json")
    if not descriptors:
        raise ImageError(f"{where}: index.json lists no images")
    descriptor = _pick(descriptors, ref, lambda d: [(d.get("annotations") or {}).get(REF_NAME, "")], where)
    for _ in range(MAX_NESTED_INDEXES):  # an index of manifests per platform: take this host's
        if descriptor.get("mediaType") not in INDEX_TYPES:
            break
        nested = _json(_verified_blob(files, descriptor, "image index"), f"{where}: image index")
        descriptor = _platform_manifest(_descriptors(nested, f"{where}: image index"), where)
    manifest = _json(_verified_blob(files, descriptor, "manifest"), f"{where}: manifest")
    if not isinstance(manifest, dict) or manifest.get("mediaType", MANIFEST_TYPES[0]) not in MANIFEST_TYPES:
        raise ImageError(f"{where}: not an image manifest")
    config = _json(_verified_blob(files, manifest.get("config"), "config"), f"{where}: config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ImageError(f"{where}: the manifest has no 'layers' list")
    diff_ids = _diff_ids(config, len(layers), where)
    image_layers = []
    for number, (layer, diff_id) in enumerate(zip(layers, diff_ids), 1):
        if not isinstance(layer, dict):
            raise ImageError(f"{where}: layer {number} descriptor is not an object")
        hexdigest = _sha256_hex(layer.get("digest"), f"{where}: layer {number}")
        image_layers.append(Layer(f"blobs/sha256/{hexdigest}", hexdigest, diff_id))
    return Image(files.path, config, image_layers, files)


def _platform_manifest(descriptors: list[dict[str, Any]], where: str) -> dict[str, Any]:
    for descriptor in descriptors:
        platform = descriptor.get("platform") or {}
        if platform.get("os", "linux") == "linux" and platform.get("architecture", HOST_ARCHITECTURE) \
                == HOST_ARCHITECTURE:
            return descriptor
    raise ImageError(f"{where}: the image index has no linux/{HOST_ARCHITECTURE} image")


def _diff_ids(config: Any, count: int, where: str) -> list[str]:
    if not isinstance(config, dict):
        raise ImageError(f"{where}: the image config is not an object")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != count:
        raise ImageError(f"{where}: the config's rootfs.diff_ids does not list one digest per layer "
                         f"({count})")
    return [_sha256_hex(d, f"{where}: diff_id") for d in diff_ids]


def _open_docker(files: _Files, ref: str | None) -> Image:
    where = str(files.path)
    entries = _json(files.read("manifest.json"), f"{where}: manifest.json")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ImageError(f"{where}: manifest.json lists no images")

    def tags(entry: dict[str, Any]) -> list[str]:
        full = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)]
        return full + [t.rpartition("/")[2] for t in full] + [t.rpartition(":")[2] for t in full]

    entry = _pick(entries, ref, tags, where)
    config_name, layer_names = entry.get("Config"), entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list) \
            or not all(isinstance(n, str) for n in layer_names):
        raise ImageError(f"{where}: manifest.json entry needs 'Config' and 'Layers'")
    data = files.read(_normal_name(config_name))
    named = re.fullmatch(r"(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?", _normal_name(config_name))
    if named and hashlib.sha256(data).hexdigest() != named.group(1):
        raise ImageError(f"{where}: config digest mismatch: {config_name} hashes to "
                         f"sha256:{hashlib.sha256(data).hexdigest()}")
    config = _json(data, f"{where}: {config_name}")
    diff_ids = _diff_ids(config, len(layer_names), where)
    layers = [Layer(_normal_name(name), None, diff_id) for name, diff_id in zip(layer_names, diff_ids)]
    return Image(files.path, config, layers, files)


# ---------------------------------------------------------------- unpacking


class _HashingReader(io.RawIOBase):
    """Reads a stream through, hashing every byte read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        self.hash.update(data)
        buffer[:len(data)] = data
        return len(data)

    def drain(self) -> str:
        while self.readinto(bytearray(CHUNK)):
            pass
        return self.hash.hexdigest()


def _verified_layer(image: Image, layer: Layer, number: int, spool: IO[bytes]) -> None:
    """Decompress one layer into `spool`, checking its blob digest and its diff_id; fail before any use."""
    what = f"{image.source}: layer {number}"
    with image.files.open(layer.name) as stream:
        raw = _HashingReader(stream)
        buffered = io.BufferedReader(raw, CHUNK)
        magic = buffered.peek(4)[:4]
        if magic[:2] == b"\x1f\x8b":
            source: IO[bytes] = gzip.GzipFile(fileobj=buffered)
        elif magic == b"\x28\xb5\x2f\xfd":
            raise ImageError(f"{what}: zstd-compressed layers are not supported")
        else:
            source = buffered
        tar_hash = hashlib.sha256()
        try:
            while chunk := source.read(CHUNK):
                tar_hash.update(chunk)
                spool.write(chunk)
        except (OSError, EOFError) as exc:
            raise ImageError(f"{what}: corrupt compressed data ({exc})") from None
        buffered.read()
        blob_digest = raw.drain()
    if layer.digest is not None and blob_digest != layer.digest:
        raise ImageError(f"{what} digest mismatch: expected sha256:{layer.digest}, got sha256:{blob_digest}")
    if layer.diff_id is not None and tar_hash.hexdigest() != layer.diff_id:
        raise ImageError(f"{what} diff_id mismatch: expected sha256:{layer.diff_id}, "
                         f"got sha256:{tar_hash.hexdigest()}")
    spool.seek(0)


def unpack_image(image: Image, rootfs: str | os.PathLike[str]) -> Path:
    """Unpack every layer of `image`, bottom first, into `rootfs` (created if missing)."""
    root = Path(rootfs)
    root.mkdir(parents=True, exist_ok=True)
    scratch = root.parent if os.access(root.parent, os.W_OK) else None
    for number, layer in enumerate(image.layers, 1):
        with tempfile.TemporaryFile(dir=scratch) as spool:
            _verified_layer(image, layer, number, spool)
            unpack_layer(spool, root, f"{image.source}: layer {number}")
    return root


def unpack_layer(stream: IO[bytes], rootfs: Path, what: str = "layer") -> None:
    """Apply one uncompressed layer tar (seekable) to `rootfs`: its whiteouts first, then its entries."""
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            _LayerWriter(tar, rootfs, what).apply()
    except tarfile.TarError as exc:
        raise ImageError(f"{what}: malformed tar ({exc})") from None
    except OSError as exc:  # the host refused a write: full disk, a read-only or odd filesystem...
        raise ImageError(f"{what}: cannot unpack: {exc.strerror} ({exc.filename})") from None


def resolve_in_root(root: str, parts: list[str], follow_last: bool = True, what: str = "rootfs") -> str:
    """The host path of `parts` as seen from inside `root` (a real path): symlinks, absolute or relative,
    followed with `root` as /, and `..` stopping at it."""
    pending, resolved, hops = deque(parts), [], 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if (pending or follow_last) and os.path.islink(candidate):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise ImageError(f"{what}: too many levels of symbolic links in {'/'.join(parts)!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending.extendleft(reversed(target.split("/")))
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


class _LayerWriter:
    """Writes one layer's entries into a rootfs, every path resolved inside it."""

    def __init__(self, tar: tarfile.TarFile, rootfs: Path, what: str) -> None:
        self.tar = tar
        self.root = os.path.realpath(rootfs)
        self.what = what
        self.directory_times: list[tuple[str, float]] = []

    def apply(self) -> None:
        members = self.tar.getmembers()
        entries = []
        for member in members:
            parts = self._parts(member.name)
            if not parts:
                continue  # the rootfs itself
            base = parts[-1]
            if base == OPAQUE:
                self._clear(self.resolve(parts[:-1]))
            elif base.startswith(WHITEOUT + WHITEOUT):
                continue  # other aufs metadata (.wh..wh.plnk, ...)
            elif base.startswith(WHITEOUT):
                hidden = base[len(WHITEOUT):]
                if hidden in ("", ".", ".."):
                    raise ImageError(f"{self.what}: whiteout {member.name!r} names no file")
                self._remove(os.path.join(self.resolve(parts[:-1]), hidden))
            else:
                entries.append((parts, member))
        for parts, member in entries:
            self._write(parts, member)
        for path, mtime in reversed(self.directory_times):
            os.utime(path, (mtime, mtime), follow_symlinks=False)

    def _parts(self, name: str) -> list[str]:
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise ImageError(f"{self.what}: entry {name!r} escapes the rootfs (contains '..')")
        return parts

    def resolve(self, parts: list[str], follow_last: bool = True) -> str:
        return resolve_in_root(self.root, parts, follow_last, self.what)

    def _clear(self, directory: str) -> None:
        if os.path.isdir(directory) and not os.path.islink(directory):
            for name in os.listdir(directory):
                self._remove(os.path.join(directory, name))

    @staticmethod
    def _remove(path: str) -> None:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def _parent(self, parts: list[str], name: str) -> str:
        parent = self.resolve(parts[:-1])
        if not os.path.isdir(parent):
            if os.path.lexists(parent):
                raise ImageError(f"{self.what}: cannot create {name!r}: a parent is not a directory")
            os.makedirs(parent, mode=0o755)
        return parent

    def _write(self, parts: list[str], member: tarfile.TarInfo) -> None:
        path = os.path.join(self._parent(parts, member.name), parts[-1])
        existing = os.lstat(path) if os.path.lexists(path) else None
        if existing is not None and not (member.isdir() and stat.S_ISDIR(existing.st_mode)):
            self._remove(path)
        try:
            self._create(path, member)
        except OSError as exc:
            raise ImageError(f"{self.what}: cannot create {member.name!r}: {exc.strerror}") from None
        if member.islnk():
            return  # a hard link shares its target's inode: owner, mode and times are the target's
        os.lchown(path, member.uid, member.gid)
        if not member.issym():
            os.chmod(path, member.mode)
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                self._set_xattr(path, key[len("SCHILY.xattr."):], value)
        if member.isdir():
            self.directory_times.append((path, member.mtime))
        else:
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)

    def _create(self, path: str, member: tarfile.TarInfo) -> None:
        if member.isdir():
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
        elif member.isreg():
            source = self.tar.extractfile(member)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "wb") as target, source:
                shutil.copyfileobj(source, target, CHUNK)
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            target = self.resolve(self._parts(member.linkname), follow_last=False)
            if not os.path.lexists(target) or os.path.isdir(target) and not os.path.islink(target):
                raise ImageError(f"{self.what}: hard link {member.name!r} to a missing file "
                                 f"{member.linkname!r}")
            os.link(target, path, follow_symlinks=False)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(path, 0o600)
        else:
            raise ImageError(f"{self.what}: entry {member.name!r} has an unsupported type {member.type!r}")

    def _set_xattr(self, path: str, name: str, value: str) -> None:
        try:
            os.setxattr(path, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
        except OSError as exc:
            raise ImageError(f"{self.what}: cannot set {name} on {path}: {exc.strerror}") from None


# ---------------------------------------------------------------- the image config as a runtime bundle


@dataclass
class RunOptions:
    """What the user asks for on top of the image config (each None or empty keeps the image's choice)."""

    command: list[str] = field(default_factory=list)  # replaces the image's Cmd (Entrypoint stays)
    env: list[str] = field(default_factory=list)  # K=V, over the image's Env
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    terminal: bool = False


VMSTACK_RUNC = [sys.executable, "-m", "vmstack.containers.runc_cli"]
"""The runtime used unless another is named: this vmstack's own vmstack-runc."""


def default_spec(runtime: list[str]) -> dict[str, Any]:
    """The runtime's own default config.json (`RUNTIME spec`); `runtime` is its command."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            made = subprocess.run([*runtime, "spec", "--bundle", scratch], capture_output=True, text=True,
                                  check=False)
        except OSError as exc:
            raise ImageError(f"cannot run the runtime {runtime[0]!r}: {exc.strerror}") from None
        if made.returncode != 0:
            lines = made.stderr.strip().splitlines()
            raise ImageError(f"{runtime[0]} spec failed: {lines[-1] if lines else made.returncode}")
        return json.loads(Path(scratch, "config.json").read_text())


def _merge_env(base: list[str], *layers: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in [*base, *(item for layer in layers for item in layer)]:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise ImageError(f"environment entries must be K=V, got {item!r}")
        merged.pop(key, None)
        merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def _string_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImageError(f"the image config's {what} is not a list of strings")
    return value


def _read_table(rootfs: Path, name: str) -> list[list[str]]:
    """The colon-separated lines of a file under /etc, read inside the rootfs."""
    try:
        text = Path(resolve_in_root(os.path.realpath(rootfs), ["etc", name])).read_text(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(rootfs: Path, user: str) -> dict[str, Any]:
    """An OCI process.user for an image's User (`uid`, `name`, `uid:gid`, `name:group`...), from the
    rootfs's /etc/passwd and /etc/group."""
    name, _, group = user.partition(":")
    passwd = _read_table(rootfs, "passwd")
    groups = _read_table(rootfs, "group")
    entry = next((e for e in passwd if len(e) >= 4 and (e[0] == name or e[2] == name)), None)
    if name.isdigit():
        uid, gid = int(name), int(entry[3]) if entry and entry[3].isdigit() else 0
    elif entry is None or not entry[2].isdigit() or not entry[3].isdigit():
        raise ImageError(f"unable to find user {name}: no matching entries in the image's /etc/passwd")
    else:
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((g for g in groups if len(g) >= 3 and g[0] == group and g[2].isdigit()), None)
            if found is None:
                raise ImageError(f"unable to find group {group}: no matching entries in the image's "
                                 "/etc/group")
            gid = int(found[2])
    spec_user: dict[str, Any] = {"uid": uid, "gid": gid}
    login = entry[0] if entry else None
    extra = sorted({int(g[2]) for g in groups if len(g) >= 4 and g[2].isdigit() and login
                    and login in g[3].split(",") and int(g[2]) != gid})
    if extra:
        spec_user["additionalGids"] = extra
    return spec_user


def bundle_spec(base: dict[str, Any], image_config: dict[str, Any], rootfs: Path,
                options: RunOptions) -> dict[str, Any]:
    """A runtime config.json: `base` (a runtime's default spec) with the image config and `options`
    applied."""
    spec = json.loads(json.dumps(base))
    process = spec.setdefault("process", {})
    entrypoint = _string_list(image_config.get("Entrypoint"), "Entrypoint")
    command = options.command or _string_list(image_config.get("Cmd"), "Cmd")
    args = entrypoint + command
    if not args:
        raise ImageError("the image has no Entrypoint or Cmd: give a command after --")
    process["args"] = args
    process["env"] = _merge_env(process.get("env") or [], _string_list(image_config.get("Env"), "Env"),
                                options.env)
    workdir = options.workdir or image_config.get("WorkingDir") or "/"
    if not isinstance(workdir, str) or not workdir.startswith("/"):
        raise ImageError(f"the working directory must be an absolute path, got {workdir!r}")
    process["cwd"] = workdir
    user = options.user if options.user is not None else image_config.get("User") or ""
    process["user"] = resolve_user(rootfs, user) if user else {"uid": 0, "gid": 0}
    process["terminal"] = options.terminal
    spec["root"] = {"path": "rootfs", "readonly": False}
    if options.hostname:
        spec["hostname"] = options.hostname
    return spec


def make_bundle(image: Image, bundle: str | os.PathLike[str], options: RunOptions,
                base: dict[str, Any]) -> Path:
    """Unpack `image` into BUNDLE/rootfs and write BUNDLE/config.json; returns the bundle directory."""
    directory = Path(bundle)
    rootfs = unpack_image(image, directory / "rootfs")
    spec = bundle_spec(base, image.run_config, rootfs, options)
    cwd = resolve_in_root(os.path.realpath(rootfs), spec["process"]["cwd"].split("/"))
    os.makedirs(cwd, mode=0o755, exist_ok=True)  # as docker does for a WorkingDir missing from the image
    (directory / "config.json").write_text(json.dumps(spec, indent=2) + "\n")
    return directory


def create_bundle(reference: str, bundle: str | os.PathLike[str], options: RunOptions,
                  runtime: list[str] = VMSTACK_RUNC) -> Path:
    """Make a bundle from an image for `runtime` (a command); nothing is left behind if that fails."""
    directory = Path(bundle)
    if os.path.lexists(directory):
        raise ImageError(f"{directory}: already exists")
    image = open_image(reference)
    try:
        return make_bundle(image, directory, options, default_spec(runtime))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        image.close()


def run_image(reference: str, options: RunOptions, runtime: list[str] = VMSTACK_RUNC, name: str | None = None,
              remove: bool = False) -> int:
    """Run an image in the foreground through `RUNTIME run` (`runtime` is a command); returns the
    container's exit status.

    The bundle is kept under $VMSTACK_CONTAINERS/NAME (default /var/lib/vmstack/containers/NAME) unless
    `remove` is set."""
    name = name or f"vmstack-{secrets.token_hex(6)}"
    if not CONTAINER_NAME.fullmatch(name):
        raise ImageError(f"invalid container name {name!r} (letters, digits, '_', '.', '-')")
    bundle = Path(os.environ.get("VMSTACK_CONTAINERS", CONTAINERS_DIR)) / name
    if os.path.lexists(bundle):
        raise ImageError(f"container name {name} is in use ({bundle} exists)")
    options.hostname = options.hostname or name[:63]
    create_bundle(reference, bundle, options, runtime)
    try:
        status = _run_in_foreground([*runtime, "run", "--bundle", str(bundle), name])
        if status < 0:  # the runtime itself was killed: the container may outlive it
            subprocess.run([*runtime, "delete", "--force", name], capture_output=True, check=False)
    finally:
        if remove:
            shutil.rmtree(bundle, ignore_errors=True)
    return status if status >= 0 else 128 - status


FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _run_in_foreground(command: list[str]) -> int:
    """Run the runtime and wait for it. A terminal's SIGINT reaches the runtime directly (same process
    group), so it is ignored here; other signals sent to vmstack are passed on to the runtime, which
    passes them to the container."""
    runtime = subprocess.Popen(command)
    previous = {number: signal.signal(number, lambda number, frame: runtime.send_signal(number))
                for number in FORWARDED_SIGNALS}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return runtime.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
