"""The Linux ABI for the riscv64 process VM: ELF loading, the initial stack and auxv, system calls,
signals, processes and green threads, on top of the core in vmstack.riscv.

    from vmstack.linux import run_program
    status = run_program("hello", ["hello", "world"], sysroot="/usr/riscv64-linux-gnu")
"""

from . import sys_files, sys_memory, sys_misc, sys_process, sys_signal  # noqa: F401 - register the calls
from .elf import ElfError
from .runner import default_sysroot, host_environment, run_program, with_overrides

__all__ = ["ElfError", "default_sysroot", "host_environment", "run_program", "with_overrides"]
