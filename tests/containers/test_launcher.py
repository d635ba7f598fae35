"""The vmstack-runc launcher: an isolated interpreter without site (`-IS`) that runs the vmstack it was
written for, whatever the caller's PYTHONPATH says, and a one-line error when it cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vmstack.containers.launcher import candidate_interpreters, fastest_interpreter, write_launcher

REPO = Path(__file__).resolve().parents[2]


def test_launcher_runs_its_own_vmstack_isolated(tmp_path: Path) -> None:
    decoy = tmp_path / "decoy" / "vmstack" / "containers"
    decoy.mkdir(parents=True)
    for directory in (decoy, decoy.parent):
        (directory / "__init__.py").write_text("")
    (decoy / "runc_cli.py").write_text("def main():\n    print('decoy')\n    return 3\n")
    launcher = write_launcher(tmp_path / "vmstack-runc", REPO)
    shebang = launcher.read_text().splitlines()[0]
    assert shebang in [f"#!{path} -IS" for path in candidate_interpreters()]
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


def test_launcher_interpreter_is_one_that_imports_the_runtime(tmp_path: Path) -> None:
    """Of the candidates, one that is not there and one that is not Python are passed over."""
    chosen = fastest_interpreter(REPO, [str(tmp_path / "missing"), "/bin/false", sys.executable])
    assert chosen == sys.executable
    for interpreter in candidate_interpreters():
        version = subprocess.run([interpreter, "-IS", "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
        assert version.strip() == str(sys.version_info[:2])


def test_launcher_exit_status_and_output_survive_the_fast_exit(tmp_path: Path) -> None:
    """exit_now skips the interpreter's teardown: what was printed and the status still come out."""
    launcher = write_launcher(tmp_path / "vmstack-runc", REPO)
    listed = subprocess.run([str(launcher), "--root", str(tmp_path / "root"), "list", "--format", "json"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert (listed.returncode, listed.stdout) == (0, "[]\n"), listed.stderr
    missing = subprocess.run([str(launcher), "--root", str(tmp_path / "root"), "state", "nothing"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1 and "container does not exist" in missing.stderr
