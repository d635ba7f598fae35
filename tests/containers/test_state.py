"""The state's JSON, written and printed through the C encoder alone, against the json package (the
oracle): the same text for what the runtime writes (state.json, `state`, `list --format json`, the
log lines), and files replaced atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmstack.containers.state import read_json, to_json, write_file, write_json

VALUES = [
    {}, [], "", 0, None, True, -1.5, "ünïcode \u2028 \"quoted\" \\ \n\t",
    {"ociVersion": "1.0.2", "id": "c1", "pid": 4242, "status": "running", "bundle": "/b", "created": "x",
     "owner": "", "annotations": {"k": "v", "empty": {}, "list": [1, [], {}, [2, {"deep": None}]]}},
    [{"id": "a", "pid": 0}, {"id": "b", "pid": 1, "nested": [[], [[]]]}],
]


@pytest.mark.parametrize("value", VALUES)
def test_to_json_writes_what_json_dumps_writes(value: object) -> None:
    assert to_json(value) == json.dumps(value)
    assert to_json(value, compact=True) == json.dumps(value, separators=(",", ":"))
    assert to_json(value, indent="  ") == json.dumps(value, indent=2)
    assert to_json(value, indent="\t") == json.dumps(value, indent="\t")


def test_to_json_takes_keys_and_refuses_values_as_json_does() -> None:
    keys = {7: "int", None: "none", True: "bool", 2.5: "float"}
    assert to_json({"k": keys}, indent="  ") == json.dumps({"k": keys}, indent=2)
    for bad in ({"set": {1}}, {(1, 2): "tuple key"}):
        for indent in ("", "  "):
            with pytest.raises(TypeError):
                json.dumps(bad, indent=indent or None)
            with pytest.raises(TypeError):
                to_json(bad, indent=indent)


def test_write_file_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json(str(target), {"n": 1})
    held = target.open()  # a reader of the old file keeps reading the old content
    write_json(str(target), {"n": 2})
    assert json.loads(held.read()) == {"n": 1}
    held.close()
    assert read_json(str(target)) == {"n": 2}
    write_file(str(target), "3")
    assert target.read_text() == "3" and sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
