"""The guest build scripts (guests/build.py, guests/kernel/build.py, guests/baremetal/build.py) as modules
for the tests."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def _load(module_name: str, path: Path) -> ModuleType:
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def load_guest_builder() -> ModuleType:
    """guests/build.py (the user-level guests for wasm32-wasi, riscv64 and the host), imported as guest_build."""
    return _load("guest_build", GUESTS / "build.py")


def load_recipe(name: str) -> ModuleType:
    """guests/<name>/build.py, imported under the name <name>_build."""
    return _load(f"{name}_build", GUESTS / name / "build.py")
