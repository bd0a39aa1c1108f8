"""Warning headers as the Kubernetes API server sends them: ``299 - "text"``.

The API server writes one header per warning, with ``"`` and ``\\`` in the text escaped by a
backslash; anything between it and the client may join several headers into one, comma-separated
(RFC 9110), and a warning may carry a quoted date after its text (RFC 7234). The Python
``kubernetes`` client neither parses nor logs these headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_CODE_AND_AGENT = re.compile(r"[ \t]*([0-9]{3}) ([^ \t]+) ")


@dataclass(frozen=True)
class ApiWarning:
    code: int
    agent: str
    text: str
    date: str | None = None


@dataclass(frozen=True)
class ParsedWarnings:
    warnings: list[ApiWarning]
    #: The rest of each header that could not be read, from the first malformed warning on.
    unparsed: list[str]

    @property
    def texts(self) -> list[str]:
        return [warning.text for warning in self.warnings]


def _quoted(header: str, start: int) -> tuple[str, int] | None:
    """The quoted string that opens at header[start] (unescaped) and the index after it."""
    if start >= len(header) or header[start] != '"':
        return None
    text: list[str] = []
    index = start + 1
    while index < len(header):
        char = header[index]
        if char == "\\":
            if index + 1 >= len(header):
                return None
            text.append(header[index + 1])
            index += 2
        elif char == '"':
            return "".join(text), index + 1
        else:
            text.append(char)
            index += 1
    return None


def _skip_spaces(header: str, index: int) -> int:
    while index < len(header) and header[index] in " \t":
        index += 1
    return index


def _skip_empty_elements(header: str, index: int) -> int:
    """RFC 9110 5.6.1: a recipient ignores empty list elements (", ,")."""
    while index < len(header) and header[index] in " \t,":
        index += 1
    return index


def _parse_one(header: str, unparsed: list[str]) -> list[ApiWarning]:
    warnings: list[ApiWarning] = []
    index = 0
    while True:
        index = _skip_empty_elements(header, index)
        if index >= len(header):
            return warnings
        head = _CODE_AND_AGENT.match(header, index)
        text = _quoted(header, head.end()) if head else None
        if head is None or text is None:
            unparsed.append(header[index:])
            return warnings
        value, index = text
        date: str | None = None
        after = _skip_spaces(header, index)
        if after < len(header) and header[after] == '"':
            quoted_date = _quoted(header, after)
            if quoted_date is None:
                unparsed.append(header[after:])
                return warnings
            date, index = quoted_date[0], quoted_date[1]
        warnings.append(ApiWarning(int(head.group(1)), head.group(2), value, date))
        index = _skip_spaces(header, index)
        if index < len(header):
            if header[index] != ",":
                unparsed.append(header[index:])
                return warnings
            index += 1


def _as_utf8(value: str) -> str:
    """http.client reads header bytes as ISO-8859-1; the API server writes UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def parse_warning_headers(values: Iterable[str]) -> ParsedWarnings:
    """Every warning in the given ``Warning`` header values, in order."""
    warnings: list[ApiWarning] = []
    unparsed: list[str] = []
    for value in values:
        warnings.extend(_parse_one(_as_utf8(value), unparsed))
    return ParsedWarnings(warnings, unparsed)


def warning_header_values(headers: object) -> list[str]:
    """The ``Warning`` header values from the headers the ``kubernetes`` client returns (a urllib3
    HTTPHeaderDict, whose ``get`` would join them), from ``http.client``'s headers (``get_all``), or
    from any mapping of names to values, its names in any case."""
    for method in ("getlist", "get_all"):
        every = getattr(headers, method, None)
        if callable(every):
            values = every("Warning")
            return [str(value) for value in values] if isinstance(values, list) else []
    if isinstance(headers, Mapping):
        return [value for name, value in headers.items() if isinstance(name, str) and name.lower() == "warning" and isinstance(value, str)]
    return []
