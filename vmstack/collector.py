"""``paused()``: the cyclic garbage collector held off around work that makes many long-lived objects
and next to no cyclic garbage (a board's run, unpickling a big module), whose passes would walk those
objects again and again; reference counting still frees the rest. It runs again after, if it ran
before."""

from __future__ import annotations

import gc


class paused:  # named as used: `with paused():`
    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self.collecting:
            gc.enable()
