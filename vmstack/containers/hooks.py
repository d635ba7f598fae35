"""OCI lifecycle hooks: each hook of a kind run in order with the container's state JSON on stdin,
its own args and env, and its timeout; a failing hook is reported as runc words it."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

    from vmstack.containers.spec import Hook


class HookError(Exception):
    """A hook exited non-zero, could not start, or timed out."""


def preload() -> None:
    """Import what run_hooks needs, for a process that will run hooks where it cannot import (the init,
    after pivot_root); other processes import it when they run their first hook."""
    import json  # noqa: F401
    import subprocess  # noqa: F401


def run_hooks(kind: str, hooks: list[Hook], state: dict[str, Any]) -> None:
    import json
    import subprocess  # only when there are hooks: start and delete stay light

    payload = json.dumps(state).encode()
    for index, hook in enumerate(hooks):
        argv = [hook.path] + hook.args[1:] if hook.args else [hook.path]
        try:
            done = subprocess.run(argv, check=False, executable=hook.path, input=payload, env=dict(
                e.split("=", 1) for e in hook.env if "=" in e), capture_output=True, timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            raise HookError(f"error running {kind} hook #{index}: timeout after {hook.timeout}s") from None
        except OSError as error:
            raise HookError(f"error running {kind} hook #{index}: {error.strerror}: {hook.path}") from None
        if done.returncode != 0:
            raise HookError(f"error running {kind} hook #{index}: exit status {done.returncode}, stdout: "
                            f"{done.stdout.decode(errors='replace').strip()}, stderr: "
                            f"{done.stderr.decode(errors='replace').strip()}")


def hooks_from_raw(raw_hooks: list[dict[str, Any]]) -> list[Hook]:
    """Hooks from their config.json form (as the state keeps poststart and poststop)."""
    if not raw_hooks:
        return []
    from vmstack.containers.spec import Hook  # the spec's dataclasses cost more than start itself

    return [Hook(h.get("path", ""), h.get("args") or [], h.get("env") or [], h.get("timeout"))
            for h in raw_hooks]
