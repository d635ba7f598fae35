"""Build the bare-metal test programs (riscv-tests style, reporting through HTIF tohost).

Each NAME.S here becomes ~/.cache/vmstack/baremetal/NAME-<hash>.elf, the hash covering the sources,
link.ld, test.h and the assembler's version; it is rebuilt only when absent. Programs named sbi_* are
S-mode payloads for OpenSBI, linked at 0x80200000 (fw_jump's next address) and run with --bios default.

    python3 guests/baremetal/build.py [NAMES...]

From Python: `build(name) -> pathlib.Path`, `NAMES`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("VMSTACK_CACHE", Path.home() / ".cache" / "vmstack")) / "baremetal"
GCC = "riscv64-linux-gnu-gcc"
FLAGS = ["-march=rv64gc", "-mabi=lp64d", "-nostdlib", "-nostartfiles", "-static", "-mcmodel=medany",
         "-Wl,--no-relax", "-Wl,--build-id=none", "-T", str(SOURCE_DIR / "link.ld")]
NAMES = sorted(path.stem for path in SOURCE_DIR.glob("*.S"))
SBI_PAYLOAD_PREFIX = "sbi_"      # S-mode payloads for OpenSBI: linked where fw_jump jumps
SBI_PAYLOAD_FLAGS = ["-Wl,-Ttext=0x80200000"]


class BuildError(Exception):
    """A test program cannot be built."""


def build(name: str) -> Path:
    if not shutil.which(GCC):
        raise BuildError(f"{GCC} not found: install gcc-riscv64-linux-gnu (scripts/setup.sh does)")
    source = SOURCE_DIR / f"{name}.S"
    flags = FLAGS + (SBI_PAYLOAD_FLAGS if name.startswith(SBI_PAYLOAD_PREFIX) else [])
    digest = hashlib.sha256(" ".join(flags).encode())
    for path in (source, SOURCE_DIR / "link.ld", SOURCE_DIR / "test.h"):
        digest.update(path.read_bytes())
    digest.update(subprocess.run([GCC, "--version"], capture_output=True, check=True).stdout)
    output = CACHE_DIR / f"{name}-{digest.hexdigest()[:16]}.elf"
    if not output.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = output.with_suffix(".partial")
        result = subprocess.run([GCC, *flags, "-o", str(partial), str(source)], capture_output=True, text=True,
                                check=False)
        if result.returncode:
            raise BuildError(f"{source.name}: {result.stderr.strip()}")
        partial.rename(output)
    return output


def main(argv: list[str]) -> int:
    try:
        for name in argv or NAMES:
            print(build(name))
    except BuildError as error:
        print(f"guests/baremetal/build.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
