"""The kit's problems are mountgate's, on generated annotation values rather than chosen ones: values
with several faults per entry and across entries are written out as text (so that keys can be given
twice or escaped), and each is read by text_problems and by mountgate's own parser, through
test/helpers/print-annotation-problems.ts, run once under Node.js for the whole batch. The seed is
fixed, so a failure names the same values on every run."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from mountgate_client import text_problems

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "test" / "helpers" / "print-annotation-problems.ts"
SEED = 20260522
COUNT = 400
NOT_JSON = "the annotation is not valid JSON ("

KNOWN = [("hostPath", str), ("host_path", str), ("mountPath", str), ("container_path", str), ("readOnly", bool), ("read_only", bool)]
UNKNOWN_KEYS = ["subPath", "x", "HostPath", "hostpath", "read-only", "__proto__", "constructor", "", "2", "10", "4294967295", "k\"ey", "clé", "\U0001f600", "y" * 70]
STRINGS = ["/srv/sandbox/a", "/data", "", "rel", "/a/../b", "/srv/é", "/srv/\U0001f600", 'q"uote', "back\\slash", "line\nbreak"]


def _written(rng: random.Random, text: str) -> str:
    """``text`` as a JSON string: non-ASCII escaped or not, and now and then one character given as
    \\u00XX that needs no escape (JSON reads it as the character; a repeated key may hide so)."""
    ensure_ascii = rng.random() < 0.5
    if text and rng.random() < 0.1:
        at = rng.randrange(len(text))
        if ord(text[at]) < 0x10000:
            head, tail = json.dumps(text[:at], ensure_ascii=ensure_ascii), json.dumps(text[at + 1 :], ensure_ascii=ensure_ascii)
            return f"{head[:-1]}\\u{ord(text[at]):04x}{tail[1:]}"
    return json.dumps(text, ensure_ascii=ensure_ascii)


def _string(rng: random.Random) -> str:
    return _written(rng, rng.choice(STRINGS))


def _any(rng: random.Random, depth: int = 0) -> str:
    kinds = ["null", "true", "false", "7", "-0.5", "1e400", "string"] + (["array", "object"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "string":
        return _string(rng)
    if kind == "array":
        return "[" + ",".join(_any(rng, depth + 1) for _ in range(rng.randrange(3))) + "]"
    if kind == "object":
        return "{" + ",".join(f"{_key(rng)}:{_any(rng, depth + 1)}" for _ in range(rng.randrange(3))) + "}"
    return kind


def _key(rng: random.Random) -> str:
    return _written(rng, rng.choice([key for key, _ in KNOWN] * 3 + UNKNOWN_KEYS))


def _field_value(rng: random.Random, expected: type) -> str:
    if rng.random() < 0.75:
        return _string(rng) if expected is str else rng.choice(["true", "false"])
    if rng.random() < 0.3:
        return "null"
    return _any(rng, 1) if expected is bool else rng.choice(["true", "7", "[]", "{}", '["/srv"]', "1e400"])


def _entry(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return _any(rng, 1) if rng.random() < 0.5 else rng.choice(["null", "[]", '"/srv:/b"', "1"])
    pairs: list[tuple[str, str]] = []
    for canonical, alias, expected in (("hostPath", "host_path", str), ("mountPath", "container_path", str), ("readOnly", "read_only", bool)):
        # Mostly one spelling; now and then none, both, or one given twice.
        choice = rng.choices(["canonical", "alias", "none", "both", "twice"], weights=[40, 30, 12 if expected is str else 40, 6, 5])[0]
        keys = {"canonical": [canonical], "alias": [alias], "none": [], "both": [canonical, alias], "twice": [rng.choice([canonical, alias])] * 2}[choice]
        pairs.extend((_written(rng, key), _field_value(rng, expected)) for key in keys)
    while rng.random() < 0.2:
        pairs.append((_key(rng), _field_value(rng, rng.choice([str, bool]))))
    rng.shuffle(pairs)
    separator = rng.choice([",", ", "])
    return "{" + separator.join(f"{key}:{value}" for key, value in pairs) + "}"


def _annotation(rng: random.Random) -> str:
    kind = rng.choices(["entries", "many", "not an array", "not JSON", "too many"], weights=[80, 12, 4, 3, 1])[0]
    if kind == "not an array":
        return rng.choice([_entry(rng), _string(rng), "null", "7", "true"])
    if kind == "too many":
        return "[" + ",".join(_entry(rng) for _ in range(1001)) + "]"
    count = rng.randrange(5) if kind == "entries" else rng.randrange(9, 25)
    text = "[" + rng.choice([",", ", "]).join(_entry(rng) for _ in range(count)) + "]"
    if kind == "not JSON":
        return rng.choice([text[:-1], text + "x", text.replace(":", "=", 1), "NaN", "mounts: /srv"])
    return text


def _values() -> list[str]:
    rng = random.Random(SEED)
    return [_annotation(rng) for _ in range(COUNT)]


def _mountgate_problems(values: list[str]) -> list[list[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: this test reads each value with mountgate's own parser (Node.js, and npm ci for tsx)")
    result = subprocess.run(
        [node, "--import", "tsx", str(SCRIPT)], cwd=ROOT, input=json.dumps(values), capture_output=True, text=True, encoding="utf-8", timeout=120, check=False
    )
    assert result.returncode == 0, f"{SCRIPT.relative_to(ROOT)} failed (run npm ci at the repository's root for tsx):\n{result.stderr}"
    problems: list[list[str]] = json.loads(result.stdout)
    return problems


def _comparable(problems: list[str]) -> list[str]:
    # The reason a text is not JSON is the reader's own, V8's or Python's: only that it is one such problem.
    return [NOT_JSON + "…)" if problem.startswith(NOT_JSON) else problem for problem in problems]


@pytest.fixture(scope="module")
def generated() -> list[tuple[str, list[str]]]:
    """Each generated value with mountgate's problems for it."""
    values = _values()
    problems = _mountgate_problems(values)
    assert len(problems) == len(values)
    return list(zip(values, problems, strict=True))


def test_names_the_problems_mountgate_names_on_generated_values(generated: list[tuple[str, list[str]]]) -> None:
    differ = [(value, want, got) for value, want in generated if _comparable(got := text_problems(value)) != _comparable(want)]
    shown = "\n".join(f"{value[:300]}\n  mountgate: {want}\n  kit:       {got}" for value, want, got in differ[:5])
    assert not differ, f"{len(differ)} of {len(generated)} values named otherwise, the first:\n{shown}"


def test_the_generated_values_reach_each_kind_of_problem(generated: list[tuple[str, list[str]]]) -> None:
    # Without these, agreement above would prove little: each kind of fault, and the stops, occur.
    named = [problem for _, problems in generated for problem in problems]
    for kind in [
        "is required",
        "cannot be null",
        "must be a string",
        "must be a boolean (true or false)",
        ": gives both ",
        "more than once; use one",
        "unknown key",
        "must be an object with hostPath and mountPath",
        "were not read (mountgate stops after 10 malformed entries)",
        "the annotation must be a JSON array of mounts",
        "more than the 1000 mountgate reads",
        NOT_JSON,
    ]:
        assert any(kind in problem for problem in named), kind
