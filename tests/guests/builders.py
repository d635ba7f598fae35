"""The guest build scripts (guests/kernel/build.py, guests/baremetal/build.py) as modules for the tests."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def load_recipe(name: str) -> ModuleType:
    """guests/<name>/build.py, imported under the name <name>_build."""
    module_name = f"{name}_build"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, GUESTS / name / "build.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]
