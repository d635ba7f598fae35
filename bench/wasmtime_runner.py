"""Run a WASI command module with wasmtime-py: `python3 wasmtime_runner.py PROG.wasm [ARGS...]`.

The guest gets the arguments, inherited stdin/stdout/stderr and no files; the exit status is the guest's.
Compiled code goes to wasmtime's own disk cache (~/.cache/wasmtime), so that a second run of a module does
not compile it again, as a second run under vmstack jit does not.
The benchmark uses it as the wasmtime peer and the guest tests as an oracle.
"""

import sys

import wasmtime


def run(program: str, args: list[str]) -> int:
    """Run `program` as a WASI command with argv [program, *args] and return its exit status."""
    config = wasmtime.Config()
    config.cache = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [program, *args]
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, program))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: wasmtime_runner.py PROG.wasm [ARGS...]")
    sys.exit(run(sys.argv[1], sys.argv[2:]))
