"""The vmstack-runc launcher: an isolated interpreter without site (`-IS`) that runs the vmstack it was
written for, whatever the caller's PYTHONPATH says, and a one-line error when it cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vmstack.containers.launcher import write_launcher

REPO = Path(__file__).resolve().parents[2]


def test_launcher_runs_its_own_vmstack_isolated(tmp_path: Path) -> None:
    decoy = tmp_path / "decoy" / "vmstack" / "containers"
    decoy.mkdir(parents=True)
    for directory in (decoy, decoy.parent):
        (directory / "__init__.py").write_text("")
    (decoy / "runc_cli.py").write_text("def main():\n    print('decoy')\n    return 3\n")
    launcher = write_launcher(tmp_path / "vmstack-runc", REPO)
    assert launcher.read_text().splitlines()[0] == f"#!{sys.executable} -IS"
    assert os.access(launcher, os.X_OK)
    done = subprocess.run([str(launcher), "--version"], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=str(decoy.parent.parent)))
    assert (done.returncode, done.stdout.split()[:2]) == (0, ["vmstack-runc", "version"]), done.stderr
    probe = subprocess.run([str(launcher), "spec", "--bundle", str(tmp_path)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert probe.returncode == 0 and (tmp_path / "config.json").exists(), probe.stderr


def test_launcher_command_line(tmp_path: Path) -> None:
    target = tmp_path / "bin" / "vmstack-runc"
    command = [sys.executable, "-m", "vmstack.containers.launcher", str(target)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    failed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    target.parent.mkdir()
    written = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert written.returncode == 0 and written.stdout.strip() == str(target)
    assert f"sys.path.insert(0, {str(REPO)!r})" in target.read_text()
