"""Plain record classes, as ``dataclasses`` makes them but without its cost at start-up: ``@record``
(``@record(frozen=True)``) gives a class whose annotated fields, in order, are its ``__init__``'s
parameters (defaults as class attributes or ``field(default=..., default_factory=...)``), compared
field by field (``__eq__``; a frozen record is hashable and refuses assignment) and shown by
``__repr__`` (without the fields marked ``field(repr=False)``).

The decoded form of a WebAssembly module (``wasm.module``) is such records, and every run imports
it: ``dataclasses`` compiles each class's methods from source (about a millisecond a class here)
and imports ``inspect`` with it, which took 25 ms of each run before the guest's first
instruction. These methods are shared closures over the field names instead.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

_MISSING = object()


class Field:
    """A field's default (a value, or a factory called for each instance) and whether repr shows it."""

    def __init__(self, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
                 repr: bool = True) -> None:
        self.default, self.default_factory, self.repr = default, default_factory, repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          repr: bool = True) -> Any:
    return Field(default, default_factory, repr)


class FrozenRecordError(AttributeError):
    """An assignment to a field of a frozen record."""


def record(cls: type | None = None, *, frozen: bool = False) -> Any:
    """Make ``cls`` a record class (see the module's docstring)."""
    if cls is None:
        return lambda cls: _make(cls, frozen)
    return _make(cls, frozen)


def _make(cls: type, frozen: bool) -> type:
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - inspect is what this avoids
    fields: dict[str, Field] = {}
    for name in names:
        declared = cls.__dict__.get(name, _MISSING)
        fields[name] = declared if isinstance(declared, Field) else Field(declared)
        if isinstance(declared, Field):  # as dataclasses: a plain default stays a class attribute
            if declared.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, declared.default)
    defaults = {name: f for name, f in fields.items() if f.default is not _MISSING or f.default_factory}
    values = attrgetter(*names) if names else (lambda self: ())
    if len(names) == 1:
        single = values
        values = lambda self: (single(self),)
    shown = [name for name in names if fields[name].repr]
    assign = object.__setattr__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, {len(args)} given")
        for name, value in zip(names, args):
            assign(self, name, value)
        for name in names[len(args):]:
            if name in kwargs:
                assign(self, name, kwargs.pop(name))
            elif name in defaults:
                f = defaults[name]
                assign(self, name, f.default_factory() if f.default_factory else f.default)
            else:
                raise TypeError(f"{cls.__name__}() missing argument {name!r}")
        if kwargs:
            raise TypeError(f"{cls.__name__}() got unexpected arguments {', '.join(map(repr, kwargs))}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return values(self) == values(other)

    def __repr__(self) -> str:
        shown_values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({shown_values})"

    cls.__init__, cls.__eq__ = __init__, __eq__
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__
    if frozen:
        def __setattr__(self, name: str, value: Any) -> None:
            raise FrozenRecordError(f"cannot assign to field {name!r}")

        def __delattr__(self, name: str) -> None:
            raise FrozenRecordError(f"cannot delete field {name!r}")

        cls.__setattr__, cls.__delattr__ = __setattr__, __delattr__
        cls.__hash__ = lambda self: hash(values(self))
    else:
        cls.__hash__ = None  # compared by value and mutable: not hashable (as dataclasses makes it)
    return cls
