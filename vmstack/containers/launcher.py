"""The `vmstack-runc` executable that engines exec: a script whose shebang runs this interpreter isolated
and without `site` (`-IS`), with only vmstack's own location on sys.path.

pip's console script starts Python with `site`, which reads every .pth file of site-packages (an
editable install's import finder, whatever else the machine put there) at each call: tens of ms, for
a runtime that a container engine calls three times per container. `-I` is also right for a root
runtime: the caller's PYTHONPATH, PYTHONHOME and user site cannot change what runs. The location is
recorded when the launcher is written (the source tree of an editable install, or site-packages), so
it works for both kinds of install; the runtime needs the standard library only.

    python3 -m vmstack.containers.launcher [PATH]

writes it over the console script pip installed (or to PATH), for the running interpreter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import vmstack


def launcher_text(package_root: Path, interpreter: str = sys.executable) -> str:
    """The launcher's source: vmstack-runc's main, importable from `package_root` alone."""
    return (f"#!{interpreter} -IS\n"
            "# vmstack-runc, written by `python3 -m vmstack.containers.launcher`\n"
            f"import sys\nsys.path.insert(0, {str(package_root)!r})\n"
            "from vmstack.containers.runc_cli import main\nsys.exit(main())\n")


def write_launcher(path: Path, package_root: Path | None = None) -> Path:
    """Write an executable launcher at `path` running the vmstack found in `package_root` (by default
    the one this module belongs to), atomically: an engine may exec the old one meanwhile."""
    root = package_root or Path(vmstack.__file__).resolve().parent.parent
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(launcher_text(root))
    partial.chmod(0o755)
    os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    import sysconfig

    target = Path(args[0]) if args else Path(sysconfig.get_path("scripts")) / "vmstack-runc"
    try:
        print(write_launcher(target.absolute()))
    except OSError as error:
        print(f"launcher: error: {target}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
