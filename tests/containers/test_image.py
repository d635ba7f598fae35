"""OCI images: read, verified and unpacked by vmstack.containers.image, checked against images built by
Debian's umoci and skopeo (nobody here wrote them) and against umoci's own unpacking; hostile and broken
images, made here byte by byte, end in one-line errors and leave nothing behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pty
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
from contextlib import suppress
from pathlib import Path

import pytest

from vmstack.containers import image
from vmstack.containers.launcher import write_launcher
from vmstack.containers.rootfs import PASSWD, busybox_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="unpacking images (owners, device nodes) needs root")

RUNTIMES = ["runc", "vmstack-runc"]
"""The OCI runtimes that images are run through here and in test_clients.py (see `runtime_binaries`)."""
REPO = Path(__file__).resolve().parents[2]
IMAGE_ENV = "GREETING=hello from the image"
IMAGE_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"


def vmstack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmstack", *args], capture_output=True, text=True,
                          check=False, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def assert_one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == image.EXIT_IMAGE_ERROR, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmstack: error: ") and needle in lines[0], proc.stderr


def tool(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


# ---------------------------------------------------------------- images made by the real tools


def runtime_executables(directory: Path) -> dict[str, str]:
    """Each runtime's executable: Debian's runc from PATH, and vmstack-runc of this checkout through a
    launcher in `directory` like the console script pip makes, so that engines can exec it by path."""
    runc = shutil.which("runc")
    assert runc, "Debian's runc is not installed: run scripts/setup.sh"
    launcher = write_launcher(directory / "vmstack-runc", REPO)
    return {"runc": runc, "vmstack-runc": str(launcher)}


@pytest.fixture(scope="session")
def runtime_binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return runtime_executables(tmp_path_factory.mktemp("bin"))


def build_busybox_layout(workdir: Path) -> Path:
    """An OCI layout made by umoci: tag `latest` is a busybox rootfs with a config (Cmd, Env, WorkingDir,
    User); tag `two` adds a layer that deletes /etc/hosts and /var/tmp and replaces /home."""
    layout, bundle = workdir / "layout", workdir / "umoci-bundle"
    tool("umoci", "init", "--layout", str(layout))
    tool("umoci", "new", "--image", f"{layout}:latest")
    tool("umoci", "unpack", "--image", f"{layout}:latest", str(bundle))
    made = vmstack("container", "rootfs", "busybox", str(bundle / "rootfs"))
    assert made.returncode == 0, made.stderr
    tool("umoci", "repack", "--image", f"{layout}:latest", str(bundle))
    tool("umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "/bin/sh", "--config.cmd", "-c",
         "--config.cmd", "echo $GREETING; id -u; pwd", "--config.env", IMAGE_ENV, "--config.env", IMAGE_PATH,
         "--config.workingdir", "/var/www", "--config.user", "www-data", "--config.exposedports", "80/tcp")
    shutil.rmtree(bundle)
    tool("umoci", "unpack", "--image", f"{layout}:latest", str(bundle))
    (bundle / "rootfs" / "etc" / "hosts").unlink()
    shutil.rmtree(bundle / "rootfs" / "var" / "tmp")
    shutil.rmtree(bundle / "rootfs" / "home")
    (bundle / "rootfs" / "home" / "guest").mkdir(parents=True)
    (bundle / "rootfs" / "home" / "guest" / "note").write_text("second layer\n")
    tool("umoci", "repack", "--image", f"{layout}:two", str(bundle))
    shutil.rmtree(bundle)
    return layout


def archive(layout: Path, ref: str, kind: str, target: Path) -> Path:
    """The image `ref` of `layout` copied by skopeo into an `oci-archive` (named `ref`) or a
    `docker-archive` (tagged busybox:latest) tar."""
    destination = f"{kind}:{target}:" + ("busybox:latest" if kind == "docker-archive" else ref)
    tool("skopeo", "copy", "--quiet", f"oci:{layout}:{ref}", destination)
    return target


@pytest.fixture(scope="session")
def busybox_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_busybox_layout(tmp_path_factory.mktemp("busybox-image"))


@pytest.fixture(scope="session")
def busybox_images(busybox_layout: Path) -> dict[str, str]:
    """The same image three ways: layout directory, oci-archive and docker-archive."""
    where = busybox_layout.parent
    return {"layout": f"{busybox_layout}:latest",
            "oci-archive": str(archive(busybox_layout, "latest", "oci-archive", where / "oci.tar")),
            "docker-archive": str(archive(busybox_layout, "latest", "docker-archive", where / "docker.tar"))}


def tree(root: Path) -> dict[str, tuple]:
    """Everything a rootfs holds that an unpacker decides: type, mode, owner, link target, content."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            what = os.readlink(path)
        elif stat.S_ISREG(info.st_mode):
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = ""
        found[str(path.relative_to(root))] = (stat.filemode(info.st_mode), info.st_uid, info.st_gid, what)
    return found


@pytest.mark.parametrize("kind", ["layout", "oci-archive", "docker-archive"])
def test_umoci_image_unpacks_and_its_config_becomes_the_bundle(kind: str, busybox_images: dict[str, str],
                                                               tmp_path: Path) -> None:
    made = vmstack("container", "bundle", "--runtime", "runc", busybox_images[kind], str(tmp_path / "b"))
    assert made.returncode == 0, made.stderr
    rootfs = tmp_path / "b" / "rootfs"
    assert (rootfs / "bin" / "busybox").read_bytes() == busybox_binary().read_bytes()
    assert os.readlink(rootfs / "bin" / "sh") == "/bin/busybox"
    assert (rootfs / "etc" / "passwd").read_text() == PASSWD
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777
    spec = json.loads((tmp_path / "b" / "config.json").read_text())
    assert spec["process"]["args"] == ["/bin/sh", "-c", "echo $GREETING; id -u; pwd"]
    assert IMAGE_ENV in spec["process"]["env"] and IMAGE_PATH in spec["process"]["env"]
    assert "TERM=xterm" in spec["process"]["env"]  # from runc's default spec
    assert spec["process"]["cwd"] == "/var/www"
    assert spec["process"]["user"] == {"uid": 33, "gid": 33}
    assert spec["root"] == {"path": "rootfs", "readonly": False}


@pytest.mark.parametrize("kind", ["layout", "docker-archive"])
def test_whiteouts_from_umoci_match_umoci_unpack(kind: str, busybox_layout: Path, tmp_path: Path) -> None:
    two = f"{busybox_layout}:two" if kind == "layout" else str(archive(busybox_layout, "two", kind,
                                                                      tmp_path / "two.tar"))
    made = vmstack("container", "bundle", "--runtime", "runc", two, str(tmp_path / "ours"))
    assert made.returncode == 0, made.stderr
    tool("umoci", "unpack", "--image", f"{busybox_layout}:two", str(tmp_path / "umoci"))
    ours, theirs = tmp_path / "ours" / "rootfs", tmp_path / "umoci" / "rootfs"
    assert not (ours / "etc" / "hosts").exists() and not (ours / "var" / "tmp").exists()
    assert (ours / "home" / "guest" / "note").read_text() == "second layer\n"
    assert tree(ours) == tree(theirs)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_applies_the_image_config(runtime: str, busybox_images: dict[str, str], tmp_path: Path,
                                      runtime_binaries: dict[str, str]) -> None:
    binary = runtime_binaries[runtime]
    ran = vmstack("container", "run", "--rm", "--runtime", binary, busybox_images["oci-archive"],
                  env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["hello from the image", "33", "/var/www"]
    ran = vmstack("container", "run", "--rm", "--runtime", binary, "--name", f"vmstack-image-{runtime}",
                  "-e", "GREETING=overridden", "-w", "/made/here", "--user", "nobody",
                  busybox_images["docker-archive"],
                  "--", "sh", "-c", "echo $GREETING; id -u; pwd; hostname; exit 7",
                  env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert ran.returncode == 7, ran.stderr
    assert ran.stdout.splitlines() == ["overridden", "65534", "/made/here", f"vmstack-image-{runtime}"]
    assert list(tmp_path.iterdir()) == []  # --rm removed the bundles


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_signal_to_vmstack_reaches_the_container(runtime: str, busybox_images: dict[str, str],
                                                   tmp_path: Path, runtime_binaries: dict[str, str]) -> None:
    name = f"signalled-{runtime}-{os.getpid()}"  # runc keeps its names machine-wide
    command = [sys.executable, "-m", "vmstack", "container", "run", "--rm", "--name", name, "--runtime",
               runtime_binaries[runtime], busybox_images["layout"], "--", "sh", "-c",
               "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done"]
    env = {**os.environ, "VMSTACK_CONTAINERS": str(tmp_path)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, env=env) as run:
        assert run.stdout.readline() == "ready\n"
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
    assert (run.returncode, out) == (42, "got TERM\n"), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tty_gives_the_container_a_terminal(runtime: str, busybox_images: dict[str, str], tmp_path: Path,
                                            runtime_binaries: dict[str, str]) -> None:
    command = [sys.executable, "-m", "vmstack", "container", "run", "-t", "--rm", "--runtime",
               runtime_binaries[runtime], busybox_images["layout"], "--", "sh", "-c", "tty; exit 4"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: vmstack on a terminal, as a user at a shell would run it
        try:
            os.execve(sys.executable, command, {**os.environ, "VMSTACK_CONTAINERS": str(tmp_path)})
        finally:
            os._exit(127)
    output = b""
    with suppress(OSError):  # EIO once the child side is closed
        while chunk := os.read(terminal, 4096):
            output += chunk
    os.close(terminal)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    assert (status, output.splitlines()[:1]) == (4, [b"/dev/pts/0"]), output


def test_run_uses_vmstack_runc_unless_told(busybox_images: dict[str, str], tmp_path: Path,
                                           runc_spec: dict) -> None:
    made = vmstack("container", "bundle", busybox_images["layout"], str(tmp_path / "b"))
    assert made.returncode == 0, made.stderr
    spec = json.loads((tmp_path / "b" / "config.json").read_text())
    opened = image.open_image(busybox_images["layout"])
    expected = image.bundle_spec(image.default_spec(image.VMSTACK_RUNC), opened.run_config,
                                 tmp_path / "b" / "rootfs", image.RunOptions())
    opened.close()
    assert spec == expected
    assert spec["ociVersion"] != runc_spec["ociVersion"]  # vmstack-runc's base, not runc's
    ran = vmstack("container", "run", "--rm", busybox_images["layout"], "--", "cat", "/proc/1/cmdline",
                  env={"VMSTACK_CONTAINERS": str(tmp_path / "containers")})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "cat\0/proc/1/cmdline\0"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_without_rm_keeps_the_bundle_and_the_name(runtime: str, busybox_images: dict[str, str],
                                                     tmp_path: Path,
                                                     runtime_binaries: dict[str, str]) -> None:
    name, binary = f"kept-{runtime}", runtime_binaries[runtime]
    ran = vmstack("container", "run", "--runtime", binary, "--name", name, busybox_images["layout"],
                  "--", "sh", "-c", "echo kept > /tmp/mark", env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / name / "rootfs" / "tmp" / "mark").read_text() == "kept\n"
    again = vmstack("container", "run", "--runtime", binary, "--name", name, busybox_images["layout"],
                    env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert_one_line_error(again, f"container name {name} is in use")


# ---------------------------------------------------------------- images made here, byte by byte


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **fields: object) -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, len(data), 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def layer(*entries: tuple) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def blob(layout: Path, data: bytes, media_type: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def oci_layout(layout: Path, layers: list[bytes], config: dict | None = None) -> Path:
    """An OCI layout with these (uncompressed) layer tars, gzipped, and this image config."""
    descriptors = [blob(layout, gzip.compress(data), "application/vnd.oci.image.layer.v1.tar+gzip")
                   for data in layers]
    full_config = {"architecture": "amd64", "os": "linux", "config": config or {"Cmd": ["/bin/sh"]},
                   "rootfs": {"type": "layers",
                              "diff_ids": [f"sha256:{hashlib.sha256(d).hexdigest()}" for d in layers]}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": blob(layout, json.dumps(full_config).encode(),
                               "application/vnd.oci.image.config.v1+json"),
                "layers": descriptors}
    index = {"schemaVersion": 2,
             "manifests": [blob(layout, json.dumps(manifest).encode(), manifest["mediaType"])]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout


def unpack(layout: Path, target: Path) -> Path:
    opened = image.open_image(str(layout))
    try:
        return image.unpack_image(opened, target)
    finally:
        opened.close()


BASE = layer(entry("etc", tarfile.DIRTYPE), entry("etc/keep", data=b"keep"), entry("etc/gone", data=b"x"),
             entry("data", tarfile.DIRTYPE), entry("data/old", data=b"old"),
             entry("data/sub", tarfile.DIRTYPE), entry("data/sub/deep", data=b"deep"),
             entry("var", tarfile.DIRTYPE), entry("var/cache", tarfile.DIRTYPE),
             entry("var/cache/a", data=b"a"))


def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    top = layer(entry("etc/.wh.gone"), entry("var/.wh.cache"),
                entry("data", tarfile.DIRTYPE), entry("data/new", data=b"new"), entry("data/.wh..wh..opq"))
    rootfs = unpack(oci_layout(tmp_path / "img", [BASE, top]), tmp_path / "rootfs")
    assert sorted(p.name for p in (rootfs / "etc").iterdir()) == ["keep"]
    assert sorted(p.name for p in (rootfs / "var").iterdir()) == []
    # the opaque marker hides what lower layers put in data/, not what this layer adds (listed before it)
    assert sorted(p.name for p in (rootfs / "data").iterdir()) == ["new"]
    assert not any(".wh." in str(p) for p in rootfs.rglob("*"))


def test_a_multi_platform_index_gives_this_host_image(tmp_path: Path) -> None:
    layout = tmp_path / "img"
    manifests = {}
    for architecture in ("s390x", image.HOST_ARCHITECTURE):
        oci_layout(layout, [layer(entry(f"made-for-{architecture}", data=b"x"))])
        manifests[architecture] = json.loads((layout / "index.json").read_text())["manifests"][0]
    nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
              "manifests": [{**descriptor, "platform": {"os": "linux", "architecture": architecture}}
                            for architecture, descriptor in manifests.items()]}
    index = {"schemaVersion": 2,
             "manifests": [blob(layout, json.dumps(nested).encode(), nested["mediaType"])]}
    (layout / "index.json").write_text(json.dumps(index))
    rootfs = unpack(layout, tmp_path / "rootfs")
    assert [p.name for p in rootfs.iterdir()] == [f"made-for-{image.HOST_ARCHITECTURE}"]


def test_owners_modes_links_and_device_nodes(tmp_path: Path) -> None:
    top = layer(entry("dev", tarfile.DIRTYPE), entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3,
                                                     mode=0o666),
                entry("bin", tarfile.DIRTYPE), entry("bin/tool", data=b"#!/bin/sh\n", mode=0o4755, uid=0),
                entry("home", tarfile.DIRTYPE, uid=1000, gid=1000, mode=0o750),
                entry("home/file", data=b"mine", uid=1000, gid=100),
                entry("home/hard", tarfile.LNKTYPE, linkname="home/file"),
                entry("etc/link", tarfile.SYMTYPE, linkname="/etc/keep"))
    rootfs = unpack(oci_layout(tmp_path / "img", [BASE, top]), tmp_path / "rootfs")
    null = (rootfs / "dev" / "null").lstat()
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert stat.S_IMODE((rootfs / "bin" / "tool").stat().st_mode) == 0o4755
    home = (rootfs / "home").stat()
    assert (home.st_uid, home.st_gid, stat.S_IMODE(home.st_mode)) == (1000, 1000, 0o750)
    assert (rootfs / "home" / "hard").stat().st_ino == (rootfs / "home" / "file").stat().st_ino
    assert (rootfs / "home" / "file").stat().st_gid == 100
    assert os.readlink(rootfs / "etc" / "link") == "/etc/keep"


def test_symlinks_cannot_carry_writes_out_of_the_rootfs(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("host data")
    hops = "../" * (len(tmp_path.parts) + 4)
    hostile = layer(entry("abs", tarfile.SYMTYPE, linkname=str(outside)),
                    entry("rel", tarfile.SYMTYPE, linkname=hops + str(outside).lstrip("/")),
                    entry("abs/victim", data=b"overwritten"), entry("rel/planted", data=b"planted"),
                    entry("rel/hard", tarfile.LNKTYPE, linkname="abs/victim"))
    rootfs = unpack(oci_layout(tmp_path / "img", [BASE, hostile]), tmp_path / "rootfs")
    assert (outside / "victim").read_text() == "host data" and sorted(os.listdir(outside)) == ["victim"]
    inside = rootfs / str(outside).lstrip("/")  # where both links point when the rootfs is /
    assert (inside / "victim").read_text() == "overwritten"
    assert (inside / "planted").read_text() == "planted"
    assert (inside / "hard").stat().st_ino == (inside / "victim").stat().st_ino


@pytest.mark.parametrize("hostile", [
    entry("../escaped", data=b"x"),
    entry("etc/../../escaped", data=b"x"),
    entry("etc/hard", tarfile.LNKTYPE, linkname="../../../../etc/passwd"),
    entry(".wh..."),  # a whiteout of ".." would remove the directory holding the rootfs
])
def test_dot_dot_entries_are_refused(hostile: tuple, tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [BASE, layer(hostile)])
    made = vmstack("container", "bundle", "--runtime", "runc", str(layout), str(tmp_path / "b"))
    assert_one_line_error(made, "escapes the rootfs" if ".wh." not in hostile[0].name else "names no file")
    assert not (tmp_path / "b").exists() and not (tmp_path / "escaped").exists()
    assert (tmp_path / "img").is_dir()


def test_hard_link_to_a_host_file_is_refused(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [BASE, layer(entry("etc/shadow", tarfile.LNKTYPE,
                                                            linkname="/etc/shadow"))])
    links = os.stat("/etc/shadow").st_nlink
    made = vmstack("container", "bundle", "--runtime", "runc", str(layout), str(tmp_path / "b"))
    assert_one_line_error(made, "hard link")
    assert os.stat("/etc/shadow").st_nlink == links


def test_digest_mismatches_are_caught_before_unpacking(busybox_layout: Path, busybox_images: dict[str, str],
                                                       tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(busybox_layout, layout)
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = next(m["digest"] for m in index["manifests"]
                           if m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest[7:]).read_text())
    blob_path = layout / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    data = bytearray(blob_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob_path.write_bytes(bytes(data))
    made = vmstack("container", "bundle", "--runtime", "runc", f"{layout}:latest", str(tmp_path / "b"))
    assert_one_line_error(made, "layer 1")
    assert not (tmp_path / "b").exists()

    docker = tmp_path / "docker"
    with tarfile.open(busybox_images["docker-archive"]) as tar:
        tar.extractall(docker, filter="tar")
    layer_tar = next(p for p in docker.glob("*.tar"))
    with tarfile.open(layer_tar, "a") as tar:  # one more file: the tar no longer matches its diff_id
        tar.addfile(*entry("extra", data=b"x")[:1], io.BytesIO(b"x"))
    made = vmstack("container", "bundle", "--runtime", "runc", str(docker), str(tmp_path / "b"))
    assert_one_line_error(made, "diff_id mismatch")


def test_manifest_digest_mismatch(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [BASE])
    index = json.loads((layout / "index.json").read_text())
    manifest = layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]
    manifest.write_text(manifest.read_text().replace('"schemaVersion": 2', '"schemaVersion":  2'))
    made = vmstack("container", "bundle", "--runtime", "runc", str(layout), str(tmp_path / "b"))
    assert_one_line_error(made, "manifest digest mismatch")


def _not_a_tar(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _no_index(path: Path) -> None:
    path.mkdir()
    (path / "readme").write_text("hello")


def _broken_index(path: Path) -> None:
    oci_layout(path, [BASE])
    (path / "index.json").write_text('{"manifests": [')


def _missing_blob(path: Path) -> None:
    oci_layout(path, [BASE])
    for blob_file in (path / "blobs" / "sha256").iterdir():
        if blob_file.read_bytes()[:2] == b"\x1f\x8b":
            blob_file.unlink()


def _truncated_layer(path: Path) -> None:
    oci_layout(path, [BASE])
    index = json.loads((path / "index.json").read_text())
    manifest = json.loads((path / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())
    layer_blob = path / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    layer_blob.write_bytes(layer_blob.read_bytes()[:100])


def _two_images_no_ref(path: Path) -> None:
    oci_layout(path, [BASE])
    index = json.loads((path / "index.json").read_text())
    index["manifests"] *= 2
    (path / "index.json").write_text(json.dumps(index))


def _bad_digest_syntax(path: Path) -> None:
    oci_layout(path, [BASE])
    index = json.loads((path / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    (path / "index.json").write_text(json.dumps(index))


def _docker_layer_outside(path: Path) -> None:
    path.mkdir()
    (path.parent / "outside.tar").write_bytes(BASE)
    config = {"rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(BASE).hexdigest()}"]}}
    (path / "config.json").write_text(json.dumps(config))
    (path / "manifest.json").write_text(json.dumps([{"Config": "config.json", "Layers": ["../outside.tar"]}]))


def _blob_links_outside(path: Path) -> None:
    oci_layout(path, [BASE])
    for blob_file in (path / "blobs" / "sha256").iterdir():
        if blob_file.read_bytes()[:2] == b"\x1f\x8b":
            blob_file.unlink()
            blob_file.symlink_to("/dev/zero")


@pytest.mark.parametrize("make, needle", [
    (_docker_layer_outside, "points outside the image"),
    (_blob_links_outside, "not a file inside it"),
    (_not_a_tar, "not a tar archive"),
    (_no_index, "neither an OCI image"),
    (_broken_index, "malformed JSON"),
    (_missing_blob, "missing"),
    (_truncated_layer, "layer 1"),
    (_two_images_no_ref, "pick one with IMAGE:REF"),
    (_bad_digest_syntax, "malformed digest"),
])
def test_malformed_images_give_one_line_errors(make, needle: str, tmp_path: Path) -> None:
    make(tmp_path / "image")
    made = vmstack("container", "bundle", "--runtime", "runc", str(tmp_path / "image"), str(tmp_path / "b"))
    assert_one_line_error(made, needle)
    assert not (tmp_path / "b").exists()


def test_missing_image_and_bad_run_arguments(tmp_path: Path) -> None:
    containers = {"VMSTACK_CONTAINERS": str(tmp_path / "containers")}
    made = vmstack("container", "run", "--runtime", "runc", str(tmp_path / "nothing.tar"), env=containers)
    assert_one_line_error(made, "no such image")
    assert not (tmp_path / "containers").exists()
    layout = oci_layout(tmp_path / "img", [BASE], config={"Env": ["PATH=/bin"]})
    made = vmstack("container", "run", "--runtime", "runc", str(layout),
                   env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert_one_line_error(made, "no Entrypoint or Cmd")
    made = vmstack("container", "run", "--runtime", "runc", "--name", "../up", str(layout), env=containers)
    assert_one_line_error(made, "invalid container name")
    made = vmstack("container", "run", "--runtime", str(tmp_path / "no-runtime"), "--name", "x", str(layout),
                   "--", "sh", env={"VMSTACK_CONTAINERS": str(tmp_path)})
    assert_one_line_error(made, "cannot run the runtime")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- the image config, applied


@pytest.fixture(scope="module")
def runc_spec() -> dict:
    return image.default_spec(["runc"])


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD + "app:x:1000:1000::/home/app:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n")
    return tmp_path


def test_entrypoint_cmd_and_overrides(runc_spec: dict, rootfs: Path) -> None:
    config = {"Entrypoint": ["/bin/tini", "--"], "Cmd": ["serve", "--port", "80"]}
    spec = image.bundle_spec(runc_spec, config, rootfs, image.RunOptions())
    assert spec["process"]["args"] == ["/bin/tini", "--", "serve", "--port", "80"]
    spec = image.bundle_spec(runc_spec, config, rootfs, image.RunOptions(command=["sh"]))
    assert spec["process"]["args"] == ["/bin/tini", "--", "sh"]
    spec = image.bundle_spec(runc_spec, {"Entrypoint": ["/bin/echo"]}, rootfs, image.RunOptions())
    assert spec["process"]["args"] == ["/bin/echo"]
    assert spec["process"]["cwd"] == "/" and spec["process"]["user"] == {"uid": 0, "gid": 0}
    assert spec["process"]["terminal"] is False
    assert runc_spec["process"]["terminal"] is True  # the base is not changed


def test_env_merges_base_image_and_command_line(runc_spec: dict, rootfs: Path) -> None:
    config = {"Cmd": ["sh"], "Env": ["PATH=/opt/bin:/bin", "A=image", "B=image"]}
    spec = image.bundle_spec(runc_spec, config, rootfs, image.RunOptions(env=["B=cli", "C=cli"]))
    env = spec["process"]["env"]
    assert "PATH=/opt/bin:/bin" in env and "A=image" in env and "B=cli" in env and "C=cli" in env
    assert "TERM=xterm" in env  # runc's default stays
    assert len([item for item in env if item.startswith("PATH=")]) == 1
    with pytest.raises(image.ImageError, match="K=V"):
        image.bundle_spec(runc_spec, config, rootfs, image.RunOptions(env=["NOEQUALS"]))


@pytest.mark.parametrize("user, expected", [
    ("app", {"uid": 1000, "gid": 1000, "additionalGids": [10, 29]}),
    ("app:wheel", {"uid": 1000, "gid": 10, "additionalGids": [29]}),
    ("1000:5", {"uid": 1000, "gid": 5, "additionalGids": [10, 29]}),
    ("4242", {"uid": 4242, "gid": 0}),
    ("nobody", {"uid": 65534, "gid": 65534}),
    ("root:0", {"uid": 0, "gid": 0}),
])
def test_user_resolved_from_the_image_passwd_and_group(user: str, expected: dict, runc_spec: dict,
                                                       rootfs: Path) -> None:
    spec = image.bundle_spec(runc_spec, {"Cmd": ["sh"], "User": user}, rootfs, image.RunOptions())
    assert spec["process"]["user"] == expected


def test_unknown_user_group_and_relative_workdir(runc_spec: dict, rootfs: Path) -> None:
    with pytest.raises(image.ImageError, match="unable to find user ghost"):
        image.bundle_spec(runc_spec, {"Cmd": ["sh"], "User": "ghost"}, rootfs, image.RunOptions())
    with pytest.raises(image.ImageError, match="unable to find group ghosts"):
        image.bundle_spec(runc_spec, {"Cmd": ["sh"]}, rootfs, image.RunOptions(user="app:ghosts"))
    with pytest.raises(image.ImageError, match="absolute"):
        image.bundle_spec(runc_spec, {"Cmd": ["sh"], "WorkingDir": "relative"}, rootfs, image.RunOptions())


def test_passwd_behind_an_escaping_symlink_is_read_inside_the_rootfs(runc_spec: dict, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "real").mkdir(parents=True)
    (rootfs / "real" / "passwd").write_text("svc:x:77:77::/:/bin/sh\n")
    os.symlink("../../../../../../real", rootfs / "etc")
    spec = image.bundle_spec(runc_spec, {"Cmd": ["sh"], "User": "svc"}, rootfs, image.RunOptions())
    assert spec["process"]["user"] == {"uid": 77, "gid": 77}


def test_busybox_rootfs_has_every_applet(tmp_path: Path) -> None:
    made = vmstack("container", "rootfs", "busybox", str(tmp_path / "rootfs"))
    assert made.returncode == 0, made.stderr
    applets = tool(str(busybox_binary()), "--list-full").split()
    assert all(os.readlink(tmp_path / "rootfs" / applet) == "/bin/busybox" for applet in applets
               if applet != "bin/busybox")
    assert (tmp_path / "rootfs" / "etc" / "hostname").read_text() == "busybox\n"
    (tmp_path / "file").write_text("")
    made = vmstack("container", "rootfs", "busybox", str(tmp_path / "file"))
    assert_one_line_error(made, "not a directory")
