"""Bad input to vmstack-runc: a one-line runc-like error, exit status 1 (as Debian's runc gives for the
same input), no traceback, and nothing left behind."""

from __future__ import annotations

import json

import pytest

from tests.containers.conftest import leftovers


def malformed(path) -> None:
    (path / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')


def missing_rootfs(path) -> None:
    config = json.loads((path / "config.json").read_text())
    config["root"]["path"] = str(path / "no-such-rootfs")
    (path / "config.json").write_text(json.dumps(config))


def unknown_namespace(path) -> None:
    config = json.loads((path / "config.json").read_text())
    config["linux"]["namespaces"].append({"type": "telepathy"})
    (path / "config.json").write_text(json.dumps(config))


BAD_BUNDLES = {
    "malformed config.json": (malformed, "config.json"),
    "missing rootfs": (missing_rootfs, "rootfs"),
    "unknown namespace type": (unknown_namespace, "telepathy"),
}


def assert_one_line_error(done, words: str) -> None:
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "level=error" in lines[0] and words in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("case", BAD_BUNDLES)
def test_bad_bundle(case, bundle, vmstack_runc, runc):
    spoil, words = BAD_BUNDLES[case]
    path = bundle()
    spoil(path)
    done = vmstack_runc("create", "--bundle", str(path), "bad1")
    assert_one_line_error(done, words)
    assert leftovers("bad1", vmstack_runc.root) == []
    oracle = runc("create", "--bundle", str(path), "bad1")
    assert oracle.returncode == done.returncode


def test_id_in_use(bundle, vmstack_runc, runc):
    path = bundle(lambda config: config["process"].update(args=["sleep", "600"]))
    assert vmstack_runc("create", "--bundle", str(path), "dup1").returncode == 0
    again = vmstack_runc("create", "--bundle", str(path), "dup1")
    assert_one_line_error(again, "dup1")
    assert json.loads(vmstack_runc("state", "dup1").stdout)["status"] == "created"  # the first one untouched
    assert vmstack_runc("delete", "dup1").returncode == 0
    assert leftovers("dup1", vmstack_runc.root) == []
    assert runc("create", "--bundle", str(path), "dup1").returncode == 0
    assert runc("create", "--bundle", str(path), "dup1").returncode == again.returncode


def test_id_escaping_the_root(bundle, vmstack_runc, runc):
    path = bundle()
    done = vmstack_runc("create", "--bundle", str(path), "../escaped")
    assert_one_line_error(done, "invalid container id")
    assert not (vmstack_runc.root.parent / "escaped").exists()
    assert runc("create", "--bundle", str(path), "../escaped").returncode == done.returncode


def test_rootfs_path_escaping_the_bundle(bundle, vmstack_runc):
    path = bundle()
    config = json.loads((path / "config.json").read_text())
    config["root"]["path"] = "../../../../../../../.."
    (path / "config.json").write_text(json.dumps(config))
    done = vmstack_runc("create", "--bundle", str(path), "esc1")
    assert_one_line_error(done, "escapes the bundle")
    assert leftovers("esc1", vmstack_runc.root) == []


def test_unknown_command_and_missing_container(vmstack_runc):
    assert vmstack_runc("frobnicate").returncode == 1
    missing = vmstack_runc("state", "nothere")
    assert_one_line_error(missing, "container does not exist")
