"""WebAssembly spec conformance: the spec scripts carried in Debian's binaryen
source package (fetched by scripts/setup.sh), run through `vmstack wast`'s
runner. Every file within Wasm 2.0 must pass every assertion; files of
proposals beyond 2.0 are listed below with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmstack.wasm import script
from vmstack.wasm.errors import DecodeError
from vmstack.wasm.wast import run_wast_file

CACHE = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack"))

BEYOND_2_0 = {
    "address64.wast": "memory64 proposal",
    "align64.wast": "memory64 proposal",
    "bulk-memory64.wast": "memory64 proposal",
    "endianness64.wast": "memory64 proposal",
    "float_memory64.wast": "memory64 proposal",
    "load64.wast": "memory64 proposal",
    "memory64.wast": "memory64 proposal",
    "memory_grow64.wast": "memory64 proposal",
    "memory_redundancy64.wast": "memory64 proposal",
    "memory_trap64.wast": "memory64 proposal",
    "old_address64.wast": "memory64 proposal",
    "resizing64.wast": "memory64 proposal",
    "array.wast": "GC proposal",
    "struct.wast": "GC proposal",
    "i31.wast": "GC proposal",
    "ref_cast.wast": "GC proposal",
    "ref_eq.wast": "GC proposal",
    "br_on_null.wast": "typed function references proposal",
    "call_ref.wast": "typed function references proposal",
    "ref_as_non_null.wast": "typed function references proposal",
    "atomics.wast": "threads proposal",
    "exception-handling.wast": "exception handling proposal",
    "tags.wast": "exception handling proposal",
    "elem_reftypes.wast": "typed function references proposal: (ref null $t) tables",
    "multivalue.wast": "binaryen's own tuple syntax (tuple.make), not WebAssembly",
    "tuples.wast": "binaryen's own tuple syntax (non-defaultable tuple locals), not WebAssembly",
}

# Files of this old, edited copy that contradict Wasm 2.0 itself (the official 2.0 suite, which
# vmstack passes, asserts the opposite) or are broken by the edits.
CONTRADICT_2_0 = {
    "binary.wast": "MVP rule that call_indirect's table byte must be zero; 2.0 reads it as a table index",
    "elem.wast": "pre-2.0: out-of-bounds segments are link errors (2.0 traps) and `(elem $table ...)` syntax",
    "linking.wast": "pre-2.0: out-of-bounds segments are link errors, without 2.0's partial initialisation",
    "func.wast": "MVP: rejects multiple results, which 2.0's multi-value allows",
    "type.wast": "MVP: rejects multiple results, which 2.0's multi-value allows",
    "imports.wast": "MVP: rejects imported mutable globals, which 2.0 allows",
    "unreached-invalid.wast": "rejects br_table after unreachable with differing label types, valid in 2.0",
    "typecheck.wast": "pre-1.0 text syntax: `if` without `then`, `(block i32 ...)`",
    "ref_func.wast": "edited copy lost the (register \"M\") its second module imports from",
    "simd.wast": "binaryen's pre-standard SIMD test: v128 constants with the wrong lane count (line 300)",
    **{f"old_{name}.wast": "pre-1.0 draft: untyped spectest.print, `infinity`, old block syntax"
       for name in ("address", "block", "br_if", "call", "call_indirect", "float_exprs",
                    "float_literals", "func", "import", "loop", "select", "start",
                    "unreachable")},
}


def spec_dir() -> Path:
    found = sorted(CACHE.glob("src/binaryen-*/test/spec"))
    if not found:
        pytest.fail(f"binaryen's spec tests are missing under {CACHE}/src: run `bash scripts/setup.sh` first")
    return found[-1]


def _files(pattern: str) -> list[str]:
    found = sorted(CACHE.glob(f"src/binaryen-*/test/spec/{pattern}"))
    return sorted({p.name for p in found})


SCRIPTS = [name for name in _files("*.wast")
           if not name.endswith(".fail.wast") and name not in BEYOND_2_0 and name not in CONTRADICT_2_0]
FAIL_SCRIPTS = _files("*.fail.wast")


def test_the_spec_suite_is_present():
    assert len(SCRIPTS) >= 80, spec_dir()


ENGINES = ["interp", "jit"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", SCRIPTS)
def test_spec_script(name, engine):
    """Every script passes under each engine: the interpreter and the compiled tier alike."""
    result = run_wast_file(spec_dir() / name, engine=engine)
    assert result.failed == 0, "\n".join(result.failures[:20])
    assert result.passed > 0


@pytest.mark.parametrize("name", FAIL_SCRIPTS)
def test_malformed_script_is_rejected(name):
    """binaryen's *.fail.wast files hold one malformed module each: vmstack must reject it."""
    text = (spec_dir() / name).read_text()
    with pytest.raises(DecodeError):
        for command in script.parse_wast(text):
            if isinstance(command, script.ModuleCommand):
                command.module.to_binary()
