"""The kit names the problems mountgate names, in its order, each worded character for character as
mountgate words it: both read test/admission/annotation-messages.json, whose cases the TypeScript
suite checks against mountgate's own parser (test/admission/annotation-messages.test.ts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

import pytest

from mountgate_client import AnnotationError, annotation_value, text_problems, value_problems

CORPUS_FILE = Path(__file__).resolve().parents[3] / "test" / "admission" / "annotation-messages.json"


class MessageCase(TypedDict):
    name: str
    annotation: str
    problems: list[str]


CASES: list[MessageCase] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))["cases"]
UNKNOWN = "(allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)"


def _no_key_twice(pairs: list[tuple[str, object]]) -> dict[str, object] | None:
    read = dict(pairs)
    return read if len(read) == len(pairs) else None


def _as_mappings(annotation: str) -> bool:
    """Whether the annotation is a list of objects, none giving a key twice: what annotation_value
    can be given as Python values (it takes a list, not one value, and a mapping has each key once;
    what it says of an item that is no mapping is its own)."""
    value = json.loads(annotation, object_pairs_hook=_no_key_twice)
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


MAPPING_CASES = [case for case in CASES if _as_mappings(case["annotation"])]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_names_the_problems_as_mountgate_does(case: MessageCase) -> None:
    assert text_problems(case["annotation"]) == case["problems"]


@pytest.mark.parametrize("case", MAPPING_CASES, ids=[case["name"] for case in MAPPING_CASES])
def test_annotation_value_names_them_alike(case: MessageCase) -> None:
    # The same entries given as Python values: what annotation_value raises is what mountgate would say.
    with pytest.raises(AnnotationError) as raised:
        annotation_value(json.loads(case["annotation"]))
    assert raised.value.problems == case["problems"]


# Python values JSON text cannot give; each name is that of the key as the annotation would carry it.
PYTHON_KEYS: list[tuple[str, dict[object, object], str]] = [
    # json.dumps writes a key that is a number, a boolean or None as text; JavaScript lists "1" first.
    ("keys that are not strings, as json.dumps writes them", {"hostPath": "/a", "mountPath": "/b", "z": 1, 7: 1, False: 1, None: 1}, '"7", "z", "false", "null"'),
    # A pair given as two code points is one character once sent (see annotation._joined).
    ("a key with a surrogate pair as two code points", {"hostPath": "/a", "mountPath": "/b", "\ud83d\ude00": 1}, '"\U0001f600"'),
    ("a long key of such pairs, cut by UTF-16 code units", {"hostPath": "/a", "mountPath": "/b", "\ud83d\ude00" * 40: 1}, '"' + "\U0001f600" * 24 + "…" + "\U0001f600" * 7 + '"'),
]


@pytest.mark.parametrize(("entry", "named"), [row[1:] for row in PYTHON_KEYS], ids=[row[0] for row in PYTHON_KEYS])
def test_names_python_keys_as_they_are_sent(entry: dict[object, object], named: str) -> None:
    assert value_problems([entry]) == [f"[0]: unknown key {named} {UNKNOWN}"]
