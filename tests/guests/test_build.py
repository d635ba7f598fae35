"""The guest build script: cached builds for wasm32-wasi and the host, the host builds' outputs (the
reference the wasm runs are compared against), the same stdout and exit status from the wasm builds
under vmstack and under wasmtime, and clean errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from .builders import load_guest_builder

ROOT = Path(__file__).resolve().parents[2]
WASMTIME_RUNNER = ROOT / "bench" / "wasmtime_runner.py"


guest_build = load_guest_builder()

# (guest, arguments, stdin, expected stdout): the reference outputs of the guests.
EXPECTED = [
    ("hello", [], None, "Hello, world!\n"),
    ("hello", ["from", "a test"], None, "Hello, world! from a test\n"),
    ("fib", [], None, "fib(24) = 46368\nok\n"),
    ("fib", ["30"], None, "fib(30) = 832040\nok\n"),
    ("sieve", [], None, "primes up to 200000: 17984, largest 199999\nok (2001 numbers cross-checked)\n"),
    ("sieve", ["1000000"], None, "primes up to 1000000: 78498, largest 999983\nok (2001 numbers cross-checked)\n"),
    ("nbody", [], None, "-0.169075164\n-0.169071607\nok\n"),
    ("nbody", ["1000"], None, "-0.169075164\n-0.169087605\nok\n"),  # the Benchmarks Game's reference
    ("sha256", [], None,
     "sha256 of 32 KiB: 95cd8733c3e9bc6f9b72d678223a5a661007cffb4ac39398af7fde80e1590c90\nok\n"),
    ("sha256", ["0"], None,
     "sha256 of 0 KiB: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nok\n"),
]
SMALL_GUESTS = ["hello", *guest_build.KERNELS]


def _outcome(command: list[str], stdin: Path | None = None) -> tuple[int, str]:
    """(exit status, stdout) of `command`, reading `stdin` (default nothing)."""
    with open(stdin or "/dev/null", "rb") as input_file:
        result = subprocess.run(command, stdin=input_file, capture_output=True, timeout=300, check=False)
    return result.returncode, result.stdout.decode(errors="replace")


def _three_ways(name: str, args: list[str], stdin: Path | None) -> dict[str, tuple[int, str]]:
    """The outcome of guest `name` natively, under `vmstack run` and under wasmtime-py."""
    wasm = str(guest_build.build(name, "wasm32-wasi"))
    return {
        "native": _outcome([str(guest_build.build(name, "host")), *args], stdin),
        "vmstack": _outcome([sys.executable, "-m", "vmstack", "run", wasm, *args], stdin),
        "wasmtime": _outcome([sys.executable, str(WASMTIME_RUNNER), wasm, *args], stdin),
    }


# (guest, arguments): small runs of every guest.
THREE_WAY_CASES = [("hello", []), ("hello", ["a", "b c"]), ("fib", ["20"]), ("sieve", ["50000"]),
                   ("nbody", ["500"]), ("sha256", ["8"])]


@pytest.mark.parametrize(("name", "args"), THREE_WAY_CASES)
def test_kernels_agree_natively_under_vmstack_and_wasmtime(name: str, args: list[str]) -> None:
    outcomes = _three_ways(name, args, None)
    assert outcomes["vmstack"] == outcomes["native"]
    assert outcomes["wasmtime"] == outcomes["native"]


@pytest.mark.parametrize("name", ["sqlite3", "lua"])
def test_debian_guests_agree_natively_under_vmstack_and_wasmtime(name: str) -> None:
    args, script = guest_build.WORKLOADS[name]
    outcomes = _three_ways(name, args, script)
    assert outcomes["native"][0] == 0
    assert {"sqlite3": "ada,alan,barbara,edsger,grace,ken", "lua": "Lua 5.4 done"}[name] in outcomes["native"][1]
    assert outcomes["vmstack"] == outcomes["native"]
    assert outcomes["wasmtime"] == outcomes["native"]


def _run(command: list[str], stdin: Path | None = None) -> str:
    with open(stdin or "/dev/null", "rb") as input_file:
        result = subprocess.run(command, stdin=input_file, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


@pytest.mark.parametrize("target", ["wasm32-wasi", "host"])
@pytest.mark.parametrize("name", SMALL_GUESTS)
def test_build_is_cached_by_recipe(name: str, target: str) -> None:
    program = guest_build.build(name, target)
    assert program.parent == guest_build.OUTPUT_CACHE / target
    assert program.name == f"{name}-{guest_build.recipe_hash(name, target)}.{program.suffix[1:]}"
    built_at = program.stat().st_mtime_ns
    assert guest_build.build(name, target) == program
    assert program.stat().st_mtime_ns == built_at


@pytest.mark.parametrize("name", SMALL_GUESTS)
def test_wasm_builds_keep_names_but_no_debug_info(name: str) -> None:
    data = guest_build.build(name, "wasm32-wasi").read_bytes()
    assert data[:8] == b"\0asm\1\0\0\0"
    assert b"\x04name" in data
    assert b".debug_info" not in data
    assert len(data) < 64 * 1024


@pytest.mark.parametrize(("name", "args", "stdin", "expected"), EXPECTED)
def test_host_build_output(name: str, args: list[str], stdin: Path | None, expected: str) -> None:
    assert _run([str(guest_build.build(name, "host")), *args], stdin) == expected


@pytest.mark.parametrize(("name", "args", "stdin", "expected"), EXPECTED)
def test_wasm_build_matches_under_wasmtime(name: str, args: list[str], stdin: Path | None, expected: str) -> None:
    wasm = guest_build.build(name, "wasm32-wasi")
    assert _run([sys.executable, str(WASMTIME_RUNNER), str(wasm), *args], stdin) == expected


def test_bundled_hello_runs() -> None:
    bundled = ROOT / "vmstack" / "guests" / "hello.wasm"
    assert _run([sys.executable, str(WASMTIME_RUNNER), str(bundled), "from", "vmstack"]) == \
        "Hello, world! from vmstack\n"


def test_recipe_change_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "answer.c"
    source.write_text('#include <stdio.h>\nint main(void) { printf("42\\n"); return 0; }\n')
    monkeypatch.setattr(guest_build, "OUTPUT_CACHE", tmp_path / "cache")
    monkeypatch.setitem(guest_build.RECIPES, "answer", guest_build.Recipe(sources=lambda: [source]))
    first = guest_build.build("answer", "host")
    assert _run([str(first)]) == "42\n"
    source.write_text('#include <stdio.h>\nint main(void) { printf("43\\n"); return 0; }\n')
    second = guest_build.build("answer", "host")
    assert second != first and _run([str(second)]) == "43\n"


def test_missing_toolchain_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = guest_build.Toolchain(compiler="no-such-cc", flags=(), link_flags=(), extension="elf",
                                    requirements=(("no-such-cc", "gcc-no-such-target"),))
    monkeypatch.setitem(guest_build.TOOLCHAINS, "host", missing)
    with pytest.raises(guest_build.BuildError, match="install the Debian package gcc-no-such-target"):
        guest_build.build("hello", "host")


def test_compiler_errors_are_build_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "broken.c"
    source.write_text("int main(void) { return undeclared; }\n")
    monkeypatch.setattr(guest_build, "OUTPUT_CACHE", tmp_path / "cache")
    monkeypatch.setitem(guest_build.RECIPES, "broken", guest_build.Recipe(sources=lambda: [source]))
    with pytest.raises(guest_build.BuildError, match="undeclared"):
        guest_build.build("broken", "host")


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert guest_build.main(["--target", "host", "hello"]) == 0
    assert str(guest_build.build("hello", "host")) in capsys.readouterr().out
    assert guest_build.main(["--target", "host", "no-such-guest"]) == 1
    assert "build.py: error: unknown guest 'no-such-guest'" in capsys.readouterr().err
