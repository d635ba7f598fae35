"""vmstack.records against the dataclasses it stands in for: the same classes declared both ways
construct, compare, hash, print, refuse and pickle alike."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from vmstack.records import field, record


@record
class Entry:
    name: str
    size: int = 0
    tags: list[str] = field(default_factory=list)
    blob: bytes | None = field(default=None, repr=False)


@dataclasses.dataclass
class EntryDC:
    name: str
    size: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    blob: bytes | None = dataclasses.field(default=None, repr=False)


@record(frozen=True)
class Pair:
    left: tuple[str, ...]
    right: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.left} -> {self.right}"


@dataclasses.dataclass(frozen=True)
class PairDC:
    left: tuple[str, ...]
    right: tuple[str, ...] = ()


@record
class Single:
    only: int


CALLS = [(("a",), {}), (("a", 3),), (("a",), {"tags": ["x"]}), ((), {"name": "b", "blob": b"\0"}),
         (("a", 1, ["t"], b"z"), {})]


@pytest.mark.parametrize("call", CALLS)
def test_construction_and_repr_as_dataclasses(call) -> None:
    args, kwargs = call if len(call) == 2 else (call[0], {})
    ours, theirs = Entry(*args, **kwargs), EntryDC(*args, **kwargs)
    assert repr(ours) == repr(theirs).replace("EntryDC", "Entry")
    assert [ours.name, ours.size, ours.tags, ours.blob] == [theirs.name, theirs.size, theirs.tags, theirs.blob]


def test_defaults_are_fresh_and_class_attributes_stay_as_dataclasses_leave_them() -> None:
    first, second = Entry("a"), Entry("b")
    first.tags.append("x")
    assert second.tags == []
    assert Entry.size == EntryDC.size == 0 and Entry.blob is None
    assert not hasattr(Entry, "tags") and not hasattr(EntryDC, "tags")
    assert not hasattr(Entry, "name")


@pytest.mark.parametrize("args, kwargs", [((), {}), (("a", 1, [], None, 5), {}), (("a",), {"name": "b"}),
                                          (("a",), {"colour": 1})])
def test_bad_arguments_are_type_errors(args, kwargs) -> None:
    with pytest.raises(TypeError):
        EntryDC(*args, **kwargs)
    with pytest.raises(TypeError):
        Entry(*args, **kwargs)


def test_equality_hashing_and_freezing() -> None:
    assert Entry("a", 1) == Entry("a", 1) and Entry("a", 1) != Entry("a", 2)
    assert Entry("a") != EntryDC("a")  # another class: never equal
    with pytest.raises(TypeError):
        hash(Entry("a"))  # mutable and compared by value
    assert Pair(("i32",)) == Pair(("i32",), ()) and hash(Pair(("i32",))) == hash(Pair(("i32",), ()))
    assert len({Pair(("i32",)), Pair(("i32",), ()), Pair(("i64",))}) == 2
    assert hash(Pair(("i32",), ("f32",))) != hash(Pair(("f32",), ("i32",)))
    with pytest.raises(AttributeError):
        Pair(("i32",)).left = ()
    with pytest.raises(AttributeError):
        del Pair(("i32",)).right
    with pytest.raises(dataclasses.FrozenInstanceError):
        PairDC(("i32",)).left = ()  # the same kind of error
    assert str(Pair(("a",), ("b",))) == "('a',) -> ('b',)"  # a class's own methods stay
    assert Single(3) == Single(3) and repr(Single(3)) == "Single(only=3)"


def test_pickling_and_copying_keep_records_whole() -> None:
    entry, pair = Entry("a", 2, ["t"], b"x"), Pair(("i32",), ("i64",))
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(entry, protocol)) == entry
        assert pickle.loads(pickle.dumps(pair, protocol)) == pair
    assert copy.deepcopy(entry) == entry and copy.copy(pair) == pair
