"""The Warning header parser on what the API server writes and on what proxies make of it."""

from __future__ import annotations

from http.client import HTTPMessage

import pytest
from urllib3 import HTTPHeaderDict

from mountgate_client import ApiWarning, parse_warning_headers, warning_header_values

W = ApiWarning

# (id, header values, warnings, unparsed)
ROWS: list[tuple[str, list[str], list[ApiWarning], list[str]]] = [
    ("one warning", ['299 - "merged into one mount"'], [W(299, "-", "merged into one mount")], []),
    ("no headers", [], [], []),
    ("an empty header", [""], [], []),
    (
        "one header per warning, in order",
        ['299 - "first"', '299 - "second"'],
        [W(299, "-", "first"), W(299, "-", "second")],
        [],
    ),
    (
        "several warnings comma-joined in one header",
        ['299 - "first", 299 - "second",299 - "third"'],
        [W(299, "-", "first"), W(299, "-", "second"), W(299, "-", "third")],
        [],
    ),
    (
        "a comma inside the quoted text",
        ['299 - "a, b, 299 - c", 299 - "d"'],
        [W(299, "-", "a, b, 299 - c"), W(299, "-", "d")],
        [],
    ),
    (
        "escaped quotes and backslashes",
        [r'299 - "entry \"a\" at C:\\x\\", 299 - "next"'],
        [W(299, "-", 'entry "a" at C:\\x\\'), W(299, "-", "next")],
        [],
    ),
    ("an escaped ordinary character", [r'299 - "\a\b"'], [W(299, "-", "ab")], []),
    (
        "a quoted date after the text",
        ['299 - "old" "Sat, 05 Dec 2026 01:00:00 GMT", 299 - "new"'],
        [W(299, "-", "old", "Sat, 05 Dec 2026 01:00:00 GMT"), W(299, "-", "new")],
        [],
    ),
    ("an agent with a host and port", ['199 api.example:6443 "x"'], [W(199, "api.example:6443", "x")], []),
    ("empty list elements", [', 299 - "x",, ,299 - "y",'], [W(299, "-", "x"), W(299, "-", "y")], []),
    ("leading and trailing blanks", ['  299 - "x"  ,  299 - "y"  '], [W(299, "-", "x"), W(299, "-", "y")], []),
    (
        "tabs as blanks (RFC 9110 OWS), also in an empty element",
        ['299 - "x"\t"Sat, 05 Dec 2026 01:00:00 GMT"\t,\t,\t299 - "y"'],
        [W(299, "-", "x", "Sat, 05 Dec 2026 01:00:00 GMT"), W(299, "-", "y")],
        [],
    ),
    (
        "UTF-8 text, as http.client hands it over (read as ISO-8859-1)",
        ['299 - "/srv/sandbox/ä ✓"'.encode().decode("latin-1")],
        [W(299, "-", "/srv/sandbox/ä ✓")],
        [],
    ),
    ("text already decoded", ['299 - "ä"'], [W(299, "-", "ä")], []),
    ("text already decoded, beyond ISO-8859-1", ['299 - "✓ ä"'], [W(299, "-", "✓ ä")], []),
    ("an unterminated quote", ['299 - "never closed'], [], ['299 - "never closed']),
    ("a trailing backslash", ['299 - "x\\'], [], ['299 - "x\\']),
    ("a code that is not three digits", ['29 - "x"'], [], ['29 - "x"']),
    ("no agent", ['299 "x"'], [], ['299 "x"']),
    ("unquoted text", ["299 - text"], [], ["299 - text"]),
    (
        "good warnings before a malformed one are kept",
        ['299 - "kept", garbage', '299 - "next header"'],
        [W(299, "-", "kept"), W(299, "-", "next header")],
        ["garbage"],
    ),
    ("junk after the text", ['299 - "x" y'], [W(299, "-", "x")], ["y"]),
    ("an unterminated date", ['299 - "x" "Sat'], [], ['"Sat']),
]


@pytest.mark.parametrize(("values", "warnings", "unparsed"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_parse(values: list[str], warnings: list[ApiWarning], unparsed: list[str]) -> None:
    parsed = parse_warning_headers(values)
    assert (parsed.warnings, parsed.unparsed) == (warnings, unparsed)


def test_texts() -> None:
    assert parse_warning_headers(['299 - "a", 299 - "b"']).texts == ["a", "b"]


def _http_message(headers: list[tuple[str, str]]) -> HTTPMessage:
    message = HTTPMessage()
    for name, value in headers:
        message[name] = value
    return message


# (id, headers, values)
HEADER_ROWS: list[tuple[str, object, list[str]]] = [
    ("urllib3 headers keep each Warning header", HTTPHeaderDict([("Warning", '299 - "a, b"'), ("warning", '299 - "c"')]), ['299 - "a, b"', '299 - "c"']),
    ("a plain mapping", {"Warning": '299 - "a"'}, ['299 - "a"']),
    ("a plain mapping, its name in lower case", {"warning": '299 - "a"', "Content-Type": "application/json"}, ['299 - "a"']),
    ("http.client's headers keep each Warning header", _http_message([("Warning", '299 - "a"'), ("warning", '299 - "b"')]), ['299 - "a"', '299 - "b"']),
    ("no Warning header", HTTPHeaderDict([("Content-Type", "application/json")]), []),
    ("http.client's headers without a Warning header", _http_message([("Content-Type", "application/json")]), []),
    ("no headers at all", None, []),
]


@pytest.mark.parametrize(("headers", "values"), [row[1:] for row in HEADER_ROWS], ids=[row[0] for row in HEADER_ROWS])
def test_header_values(headers: object, values: list[str]) -> None:
    assert warning_header_values(headers) == values


def test_urllib3_joins_what_the_parser_splits() -> None:
    headers = HTTPHeaderDict([("Warning", '299 - "a, \\"b\\""'), ("Warning", '299 - "c"')])
    joined = headers.get("Warning")
    assert isinstance(joined, str)
    assert parse_warning_headers([joined]).texts == ['a, "b"', "c"]
