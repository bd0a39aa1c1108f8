"""The annotation the helper builds, and its local check: the same answers as the JSON Schema
(which is tested, in the TypeScript suite, to answer as mountgate's own parser does), but for one
thing JSON Schema cannot express: a string with a lone surrogate, which the schema accepts and the
helper refuses (mountgate's path rules refuse it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mountgate_client import MAX_ENTRIES, AnnotationError, Mount, annotation_value, text_problems, value_problems

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schema" / "annotation.schema.json"
SCHEMA = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
UNKNOWN = "(allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)"
SURROGATE = "must be valid Unicode (it has a lone surrogate, which cannot be encoded as UTF-8; mountgate refuses it)"
REPEATED = "[0]: gives {} more than once; use one"

# (id, annotation text, problems the helper names; none means well-formed)
ROWS: list[tuple[str, str, list[str]]] = [
    ("an empty list", "[]", []),
    ("the mountgate spelling", '[{"hostPath":"/a","mountPath":"/b","readOnly":false}]', []),
    ("the deer-flow spelling", '[{"host_path":"/a","container_path":"/b","read_only":true}]', []),
    ("spellings mixed across fields", '[{"host_path":"/a","mountPath":"/b"}]', []),
    ("empty and relative paths (judged by mountgate, not here)", '[{"hostPath":"","mountPath":"x/../y"}]', []),
    (f"exactly {MAX_ENTRIES} entries", json.dumps([{"hostPath": "/a", "mountPath": "/b"}] * MAX_ENTRIES), []),
    (
        f"{MAX_ENTRIES + 1} entries",
        json.dumps([{"hostPath": "/a", "mountPath": "/b"}] * (MAX_ENTRIES + 1)),
        [f"the annotation has {MAX_ENTRIES + 1} entries, more than the {MAX_ENTRIES} mountgate reads"],
    ),
    ("not JSON", "mounts: /srv", ["the annotation is not valid JSON (Expecting value: line 1 column 1 (char 0))"]),
    ("arrays nested past the recursion limit", "[" * 100_000 + "]" * 100_000, ["the annotation is not valid JSON (nested too deeply to read)"]),
    (
        "an integer longer than Python reads",
        "[" + "1" * 5000 + "]",
        ["the annotation is not valid JSON (Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit)"],
    ),
    # json.loads reads NaN and Infinity, which are no JSON: mountgate's parser refuses the text, not an entry.
    ("NaN as a value", '[{"hostPath":"/a","mountPath":"/b","readOnly":NaN}]', ["the annotation is not valid JSON (NaN is not a JSON value)"]),
    ("-Infinity as an entry", '[{"hostPath":"/a","mountPath":"/b"},-Infinity]', ["the annotation is not valid JSON (-Infinity is not a JSON value)"]),
    ("Infinity alone", "Infinity", ["the annotation is not valid JSON (Infinity is not a JSON value)"]),
    ("an object", '{"hostPath":"/a","mountPath":"/b"}', ["the annotation must be a JSON array of mounts"]),
    ("null entries and nested lists", "[null,[]]", ["[0]: must be an object with hostPath and mountPath", "[1]: must be an object with hostPath and mountPath"]),
    ("an unknown key", '[{"hostPath":"/a","mountPath":"/b","subPath":"x"}]', [f'[0]: unknown key "subPath" {UNKNOWN}']),
    ("a __proto__ key", '[{"hostPath":"/a","mountPath":"/b","__proto__":{}}]', [f'[0]: unknown key "__proto__" {UNKNOWN}']),
    ('readOnly as the string "true"', '[{"hostPath":"/a","mountPath":"/b","readOnly":"true"}]', ["[0].readOnly: must be a boolean (true or false)"]),
    ("read_only as 1", '[{"host_path":"/a","container_path":"/b","read_only":1}]', ["[0].read_only: must be a boolean (true or false)"]),
    ("a hostPath that is a boolean", '[{"hostPath":true,"mountPath":"/b"}]', ["[0].hostPath: must be a string"]),
    ("a mountPath that is null", '[{"hostPath":"/a","mountPath":null}]', ["[0].mountPath: cannot be null"]),
    ("a missing hostPath", '[{"mountPath":"/b"}]', ["[0].hostPath: is required"]),
    ("both spellings of hostPath", '[{"hostPath":"/a","host_path":"/a","mountPath":"/b"}]', ["[0]: gives both hostPath and host_path; use one"]),
    ("both spellings of readOnly", '[{"hostPath":"/a","mountPath":"/b","readOnly":true,"read_only":true}]', ["[0]: gives both readOnly and read_only; use one"]),
    ("hostPath given twice (json.loads would keep the last)", '[{"hostPath":"/etc","hostPath":"/srv/sandbox/a","mountPath":"/b"}]', [REPEATED.format("hostPath")]),
    ("read_only given twice, once escaped", '[{"hostPath":"/a","mountPath":"/b","read_only":true,"read\\u005fonly":false}]', [REPEATED.format("read_only")]),
    ("a key given twice in a nested object only", '[{"hostPath":"/a","mountPath":"/b","x":{"k":1,"k":2}}]', [f'[0]: unknown key "x" {UNKNOWN}']),
    ("a bad second entry", '[{"hostPath":"/a","mountPath":"/b"},{"hostPath":"/a"}]', ["[1].mountPath: is required"]),
    ("a surrogate pair (one emoji)", '[{"hostPath":"/srv/sandbox/\\ud83d\\ude00","mountPath":"/b"}]', []),
    ("a surrogate pair written as two code points, not escaped", '[{"hostPath":"/srv/sandbox/\ud83d\ude00","mountPath":"/b"}]', []),
    # Named as one character, as mountgate reads it: two code points would not print as UTF-8.
    ("an unknown key with a pair written as two code points", '[{"hostPath":"/a","mountPath":"/b","\ud83d\ude00":1}]', [f'[0]: unknown key "\U0001f600" {UNKNOWN}']),
    ("a lone high surrogate in hostPath", '[{"hostPath":"/srv/sandbox/\\ud800","mountPath":"/b"}]', [f"[0].hostPath: {SURROGATE}"]),
    ("a lone low surrogate in container_path", '[{"hostPath":"/a","container_path":"/b\\udc00"}]', [f"[0].container_path: {SURROGATE}"]),
    ("a surrogate pair in reverse order", '[{"host_path":"/a\\ude00\\ud83d","mountPath":"/b"}]', [f"[0].host_path: {SURROGATE}"]),
    (
        "a pair written as two code points beside a lone surrogate in another field",
        '[{"hostPath":"/srv/sandbox/\ud83d\ude00","mountPath":"/b\ud800"}]',
        [f"[0].mountPath: {SURROGATE}"],
    ),
]


@pytest.mark.parametrize(("text", "problems"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_rows(text: str, problems: list[str]) -> None:
    assert text_problems(text) == problems
    if any(problem.startswith("the annotation is not valid JSON") for problem in problems):
        return
    if any(problem.endswith("more than once; use one") for problem in problems):
        # JSON Schema reads the value json.loads made, in which a repeated key is already gone.
        assert SCHEMA.is_valid(json.loads(text))
        return
    if any(problem.endswith(SURROGATE) for problem in problems):
        # The one difference: JSON Schema has no way to require well-formed Unicode.
        assert SCHEMA.is_valid(json.loads(text))
    else:
        assert SCHEMA.is_valid(json.loads(text)) == (problems == [])


# ---- agreement with the JSON Schema on generated values -------------------------------------

FIELDS = [("hostPath", "host_path", "string"), ("mountPath", "container_path", "string"), ("readOnly", "read_only", "boolean")]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
near_misses = {
    "string": st.sampled_from([None, 7, True, [], {}, ["srv", "a"]]) | json_values.filter(lambda v: not isinstance(v, str)),
    "boolean": st.sampled_from(["true", "false", 0, 1, None, [True]]) | json_values.filter(lambda v: not isinstance(v, bool)),
}
right_values = {"string": st.sampled_from(["/srv/sandbox/a", "/data", "", "rel", "/a/../b"]) | st.text(max_size=8), "boolean": st.booleans()}


@st.composite
def entries(draw: st.DrawFn) -> object:
    entry: dict[str, object] = {}
    for canonical, alias, kind in FIELDS:
        keys = draw(st.sampled_from([[canonical], [alias]] * 30 + [[]] * (1 if kind == "string" else 20) + [[canonical, alias]]))
        for key in keys:
            wrong = draw(st.sampled_from([False] * 39 + [True]))
            entry[key] = draw(near_misses[kind] if wrong else right_values[kind])
    if draw(st.sampled_from([False] * 29 + [True])):
        key = draw(st.sampled_from(["subPath", "HostPath", "hostpath", "read-only", "__proto__", "constructor", ""]) | st.text(max_size=6))
        entry[key] = draw(json_values)
    return entry


# Weighted choices by sampled_from (st.one_of picks among distinct strategies, ignoring repeats).
items = st.sampled_from([False] * 19 + [True]).flatmap(lambda junk: json_values if junk else entries())
# Mostly lists of entries, well-formed or a near miss away; then anything JSON, in a list or not.
annotation_values = st.sampled_from(["entries"] * 6 + ["json", "json list"]).flatmap(
    lambda kind: st.lists(items, max_size=3) if kind == "entries" else json_values if kind == "json" else st.lists(json_values, min_size=1, max_size=3)
)


# st.text() draws no surrogates, so the values here are all ones the schema can judge as the helper does.
@settings(max_examples=1500, deadline=None)
@given(annotation_values)
def test_agrees_with_the_json_schema(value: object) -> None:
    assert (value_problems(value) == []) == SCHEMA.is_valid(value)


# ---- building the annotation ----------------------------------------------------------------


def test_builds_the_mountgate_spelling() -> None:
    # read_only=False is written out (read-write asked for), unlike None (left to the policy).
    value = annotation_value([Mount("/srv/sandbox/a", "/data"), Mount("/srv/datasets/ä", "/ds", read_only=True), Mount("/srv/sandbox/b", "/w", read_only=False)])
    assert value == (
        '[{"hostPath":"/srv/sandbox/a","mountPath":"/data"},{"hostPath":"/srv/datasets/ä","mountPath":"/ds","readOnly":true},'
        '{"hostPath":"/srv/sandbox/b","mountPath":"/w","readOnly":false}]'
    )


def test_builds_exactly_max_entries() -> None:
    # The limit is on more than MAX_ENTRIES; a list of exactly that many is written.
    value = annotation_value([Mount("/a", "/b")] * MAX_ENTRIES)
    assert value == "[" + ",".join(['{"hostPath":"/a","mountPath":"/b"}'] * MAX_ENTRIES) + "]"


def test_takes_entries_in_either_spelling_as_they_are() -> None:
    value = annotation_value([{"host_path": "/a", "container_path": "/b", "read_only": False}])
    assert json.loads(value) == [{"host_path": "/a", "container_path": "/b", "read_only": False}]


def test_joins_a_surrogate_pair_given_as_two_code_points() -> None:
    # "\ud83d\ude00" in a Python string is two code points; JSON's reader makes one character of them.
    value = annotation_value([Mount("/srv/sandbox/\ud83d\ude00", "/data"), {"host_path": "/a\ud83d\ude00", "container_path": "/b"}])
    assert value == '[{"hostPath":"/srv/sandbox/\U0001f600","mountPath":"/data"},{"host_path":"/a\U0001f600","container_path":"/b"}]'
    value.encode("utf-8")


def test_a_python_value_with_a_pair_as_two_code_points_is_well_formed() -> None:
    # As annotation_value takes it: the kubernetes client sends the pair as one character.
    assert value_problems([{"hostPath": "/srv/sandbox/\ud83d\ude00", "mountPath": "/b"}]) == []


# (id, mounts, problems)
REFUSED: list[tuple[str, list[object], list[str]]] = [
    ("readOnly as a string", [{"hostPath": "/a", "mountPath": "/b", "readOnly": "true"}], ["[0].readOnly: must be a boolean (true or false)"]),
    ("a Mount whose path is not a string", [Mount("/a", 7)], ["[0].mountPath: must be a string"]),  # type: ignore[arg-type]
    # Not made a boolean: bool("false") is True.
    ("a Mount whose read_only is a string", [Mount("/a", "/b", "false")], ["[0].readOnly: must be a boolean (true or false)"]),  # type: ignore[arg-type]
    ("both spellings", [{"hostPath": "/a", "host_path": "/a", "mountPath": "/b"}], ["[0]: gives both hostPath and host_path; use one"]),
    ("too many", [Mount("/a", "/b")] * (MAX_ENTRIES + 1), [f"the annotation has {MAX_ENTRIES + 1} entries, more than the {MAX_ENTRIES} mountgate reads"]),
    ("a Mount with a lone surrogate", [Mount("/srv/sandbox/\ud800", "/mnt/work")], [f"[0].hostPath: {SURROGATE}"]),
    ("a mapping with a lone surrogate", [{"host_path": "/a", "container_path": "/mnt/\udfff"}], [f"[0].container_path: {SURROGATE}"]),
    ("a pair beside a lone surrogate", [Mount("/srv/\ud83d\ude00/\ud800", "/mnt/work")], [f"[0].hostPath: {SURROGATE}"]),
    ("a string in docker's host:container form", ["/srv:/b"], ["[0]: must be a Mount or a mapping"]),
    ("None", [Mount("/a", "/b"), None], ["[1]: must be a Mount or a mapping"]),
    ("a number", [5], ["[0]: must be a Mount or a mapping"]),
    ("a list of key-value pairs", [[("hostPath", "/a"), ("mountPath", "/b")]], ["[0]: must be a Mount or a mapping"]),
    ("one bad entry among good ones, each named", [None, {"hostPath": "/a"}], ["[0]: must be a Mount or a mapping", "[1].mountPath: is required"]),
    (
        "items that are no mount count toward mountgate's stop after ten malformed entries",
        [None] * 11 + [Mount("/a", "/b")],
        [f"[{index}]: must be a Mount or a mapping" for index in range(10)] + ["the annotation entries [10] to [11] were not read (mountgate stops after 10 malformed entries)"],
    ),
    # mountgate's parser reads such an entry (its path rules refuse it later): it does not count toward the stop.
    (
        "lone surrogates, after mountgate's problems for the entry",
        [Mount("/srv/\ud800", "/b")] * 10 + [{"hostPath": "/\udc00", "x": 1}],
        [f"[{index}].hostPath: {SURROGATE}" for index in range(10)] + [f'[10]: unknown key "x" {UNKNOWN}', f"[10].hostPath: {SURROGATE}"],
    ),
]


@pytest.mark.parametrize(("mounts", "problems"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED])
def test_refuses_what_mountgate_would(mounts: list[Mount], problems: list[str]) -> None:
    with pytest.raises(AnnotationError) as raised:
        annotation_value(mounts)
    assert raised.value.problems == problems


def test_the_error_message_names_every_problem() -> None:
    # What a traceback shows: each problem, not only the first.
    with pytest.raises(AnnotationError) as raised:
        annotation_value([{"hostPath": "/a"}, {"mountPath": "/b"}])
    assert str(raised.value) == "[0].mountPath: is required; [1].hostPath: is required"


# (id, mounts, message): one mount, or the annotation text, where a list of mounts belongs.
NOT_A_LIST: list[tuple[str, object, str]] = [
    (
        "the annotation text",
        '[{"host_path":"/srv/sandbox/a","container_path":"/mnt/a"}]',
        "mounts must be a list of Mount or mappings, not a str (annotation_value writes the annotation text itself)",
    ),
    ("bytes", b"[]", "mounts must be a list of Mount or mappings, not a bytes (annotation_value writes the annotation text itself)"),
    ("a bytearray", bytearray(b"[]"), "mounts must be a list of Mount or mappings, not a bytearray (annotation_value writes the annotation text itself)"),
    ("one mapping", {"host_path": "/srv/sandbox/a", "container_path": "/mnt/a"}, "mounts must be a list of Mount or mappings, not a single dict (put it in a list)"),
    ("one Mount", Mount("/srv/sandbox/a", "/mnt/a"), "mounts must be a list of Mount or mappings, not a single Mount (put it in a list)"),
]


@pytest.mark.parametrize(("mounts", "message"), [row[1:] for row in NOT_A_LIST], ids=[row[0] for row in NOT_A_LIST])
def test_refuses_what_is_not_a_list_of_mounts(mounts: object, message: str) -> None:
    # Iterated, a string is its characters and a mapping its keys: "[0]: must be a Mount or a mapping"
    # for each, or, past 1000 characters, "more than the 1000 entries mountgate reads".
    with pytest.raises(TypeError) as raised:
        annotation_value(mounts)  # type: ignore[arg-type]
    assert str(raised.value) == message
