"""The annotation value: a JSON array of mounts, checked against the same rules of shape as
mountgate's parser and the JSON Schema ``schema/annotation.schema.json``. The paths themselves are
judged by mountgate, not here: its fixed rules (canonical absolute paths, no "/", "/proc", "/sys"
or "/dev" target; docs/reference.md section 6) and the cluster's policy. One rule more: a string
must be encodable as UTF-8, which JSON Schema cannot express (see entry_problems)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: The annotation key mountgate reads unless its policy names another.
ANNOTATION = "mountgate.io/mounts"
#: mountgate refuses an annotation with more entries than this before reading any of them.
MAX_ENTRIES = 1000
#: After this many malformed entries mountgate reads no more of them (its MAX_MALFORMED_ENTRIES).
_MAX_MALFORMED_ENTRIES = 10

#: Each field with its two accepted spellings (mountgate's, deer-flow's) and its JSON type.
_FIELDS: tuple[tuple[str, str, type, bool], ...] = (
    ("hostPath", "host_path", str, True),
    ("mountPath", "container_path", str, True),
    ("readOnly", "read_only", bool, False),
)
#: Each known key, in the order mountgate names keys given twice and fields of the wrong type.
_ENTRY_KEYS = tuple(key for canonical, alias, _, _ in _FIELDS for key in (canonical, alias))
_KNOWN_KEYS = frozenset(_ENTRY_KEYS)
_EXPECTED = {key: expected for canonical, alias, expected, _ in _FIELDS for key in (canonical, alias)}
_ALLOWED_KEYS = "(allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)"
#: How many of an entry's unknown keys one problem names; the rest are counted (mountgate's MAX_LISTED_KEYS).
_MAX_LISTED_KEYS = 5
#: The longest key a problem shows whole, in UTF-16 code units as mountgate counts (MAX_SHOWN_KEY_LENGTH).
_MAX_SHOWN_KEY_LENGTH = 64
_ELLIPSIS = "…"
#: An array index ("0" to "4294967294"): JavaScript lists an object's keys of this form first.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Mount:
    """One requested mount. ``read_only=None`` leaves it to the policy: the mount is read-only where
    it must be (the deciding allowedHostPaths entry has readOnly: true, or the deciding entry among
    both lists does, or an entry of either list with readOnly: true applies below ``host_path``;
    see docs/reference.md section 6), read-write otherwise."""

    host_path: str
    mount_path: str
    read_only: bool | None = None

    def entry(self) -> dict[str, str | bool]:
        """The entry in mountgate's spelling."""
        entry: dict[str, str | bool] = {"hostPath": self.host_path, "mountPath": self.mount_path}
        if self.read_only is not None:
            entry["readOnly"] = self.read_only
        return entry


class AnnotationError(ValueError):
    """The mounts do not make a well-formed annotation; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _type_name(expected: type) -> str:
    return "a boolean (true or false)" if expected is bool else "a string"


def _is(value: object, expected: type) -> bool:
    # JSON has no bool/int overlap; Python's bool is an int, so check bool first and exactly.
    if expected is bool:
        return isinstance(value, bool)
    return isinstance(value, expected) and not isinstance(value, bool)


def _encodes_as_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _joined(text: str) -> str:
    """``text`` with each surrogate pair given as two code points ("\\ud83d\\ude00", as a Python
    string may hold one) joined into its one character, as JSON's reader joins an escaped pair;
    a text with a lone surrogate is returned as it is (entry_problems refuses it)."""
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return text


def _key_name(key: object) -> str:
    """A mapping's key as the annotation text carries it: json.dumps writes a number, a boolean or
    None as text (7 as "7", False as "false"); any other key it cannot write is named by repr."""
    if isinstance(key, str):
        return key
    try:
        return str(next(iter(json.loads(json.dumps({key: 0})))))
    except (TypeError, ValueError):
        return repr(key)


def _in_javascript_order(keys: list[str]) -> list[str]:
    """``keys`` in the order mountgate, in JavaScript, lists an object's keys: array indices first,
    in numeric order, then the others in the order given."""
    indices = sorted((key for key in keys if _ARRAY_INDEX.fullmatch(key) and int(key) <= 2**32 - 2), key=int)
    taken = set(indices)
    return indices + [key for key in keys if key not in taken]


def _utf16_unit(data: bytes, index: int) -> int:
    return int.from_bytes(data[2 * index : 2 * index + 2], "little")


def _shown_key(key: str) -> str:
    """A key as mountgate shows it: cut in the middle with "…" when longer than _MAX_SHOWN_KEY_LENGTH
    UTF-16 code units (what JavaScript counts: an astral character is two), three parts of the room
    before the cut to one after, never inside a surrogate pair (a lone surrogate at either side of the
    cut goes too, as mountgate takes it for half of one). A pair given as two code points is one
    character, as it is once sent."""
    data = key.encode("utf-16-le", "surrogatepass")
    length = len(data) // 2
    if length <= _MAX_SHOWN_KEY_LENGTH:
        return data.decode("utf-16-le", "surrogatepass")
    room = _MAX_SHOWN_KEY_LENGTH - len(_ELLIPSIS)
    head_end = -(-room * 3 // 4)
    tail_start = length - (room - head_end)
    if 0xD800 <= _utf16_unit(data, head_end - 1) <= 0xDBFF:
        head_end -= 1
    if 0xDC00 <= _utf16_unit(data, tail_start) <= 0xDFFF:
        tail_start += 1
    head = data[: 2 * head_end].decode("utf-16-le", "surrogatepass")
    tail = data[2 * tail_start :].decode("utf-16-le", "surrogatepass")
    return f"{head}{_ELLIPSIS}{tail}"


def _quoted(text: str) -> str:
    """``text`` as a JSON string, as JavaScript's JSON.stringify writes it: json.dumps with
    ensure_ascii=False writes the same (quote, backslash, \\b \\f \\n \\r \\t, other controls below
    U+0020 as \\u00xx; DEL, C1 controls, U+2028 and U+2029 as they are) but for a lone surrogate, which
    it leaves as it is and JSON.stringify escapes (\\ud800). A pair is one character here (see _shown_key)."""
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", json.dumps(text, ensure_ascii=False))


def _unknown_keys_problem(keys: list[str]) -> str:
    """One problem for an entry's unknown keys, worded as mountgate's: each quoted as a JSON string
    (cut first), the first _MAX_LISTED_KEYS named and the rest counted."""
    named = ", ".join(_quoted(_shown_key(key)) for key in keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return f"unknown key {named}{f' and {more:,} more' if more > 0 else ''} {_ALLOWED_KEYS}"


def _with_pairs_joined(entry: Mapping[str, object]) -> dict[str, object]:
    return {key: _joined(value) if isinstance(value, str) else value for key, value in entry.items()}


class _ReadObject(dict[str, object]):
    """A JSON object as text_problems read it, with the keys it gave more than once: json.loads keeps
    the last value of such a key, while other readers keep the first or refuse, so mountgate refuses
    the entry rather than read it one way."""

    repeated: frozenset[str] = frozenset()


def _read_object(pairs: list[tuple[str, object]]) -> _ReadObject:
    read = _ReadObject(pairs)
    seen: set[str] = set()
    repeated: set[str] = set()
    for key, _ in pairs:
        (repeated if key in seen else seen).add(key)
    read.repeated = frozenset(repeated)
    return read


def _entry_faults(item: object, where: str) -> tuple[list[str], list[str]]:
    """What mountgate's parser names for one entry, in its order, and then the kit's own problems
    (a lone surrogate, see entry_problems), which do not make the entry malformed to mountgate.

    mountgate names, in this order: each field given in both spellings; each known key given twice;
    each field of the wrong type, in the order of _ENTRY_KEYS; the unknown keys. Only when no field
    has the wrong type and no key is unknown does it go on to name a missing hostPath or mountPath.
    """
    if not isinstance(item, Mapping):
        return [f"{where}: must be an object with hostPath and mountPath"], []
    faults = [f"{where}: gives both {canonical} and {alias}; use one" for canonical, alias, _, _ in _FIELDS if canonical in item and alias in item]
    repeated = item.repeated if isinstance(item, _ReadObject) else frozenset()
    faults.extend(f"{where}: gives {key} more than once; use one" for key in _ENTRY_KEYS if key in repeated)
    refused: list[str] = []
    for key in _ENTRY_KEYS:
        if key not in item:
            continue
        value = item[key]
        if value is None:
            refused.append(f"{where}.{key}: cannot be null")
        elif not _is(value, _EXPECTED[key]):
            refused.append(f"{where}.{key}: must be {_type_name(_EXPECTED[key])}")
    unknown = _in_javascript_order([_key_name(key) for key in item if key not in _KNOWN_KEYS])
    if unknown:
        refused.append(f"{where}: {_unknown_keys_problem(unknown)}")
    faults.extend(refused)
    if not refused:
        faults.extend(
            f"{where}.{canonical}: is required" for canonical, alias, _, required in _FIELDS if required and canonical not in item and alias not in item
        )
    own = [
        f"{where}.{key}: must be valid Unicode (it has a lone surrogate, which cannot be encoded as UTF-8; mountgate refuses it)"
        for key in _ENTRY_KEYS
        if key in item and isinstance(item[key], str) and not _encodes_as_utf8(_joined(item[key]))
    ]
    return faults, own


def entry_problems(item: object, where: str) -> list[str]:
    """Why one parsed entry is not well-formed (empty when it is): what mountgate's parser names, in
    its order (see _entry_faults), then any string with a lone surrogate.

    A string with a lone surrogate ("\\ud800", which json.loads and Python strings allow) is refused:
    mountgate refuses it in a path, and a Python string holding one cannot be sent as UTF-8 (the
    API server would read U+FFFD in its place, another path than the one checked here). A pair
    given as two code points is one character (see _joined), in each string on its own: a lone
    surrogate elsewhere does not make it one.
    """
    faults, own = _entry_faults(item, where)
    return faults + own


def _entries_problems(items: list[object], faults_of: Callable[[object, str], tuple[list[str], list[str]]]) -> list[str]:
    """The problems of each entry in turn, until mountgate stops reading: after _MAX_MALFORMED_ENTRIES
    entries with a fault of its own, the rest are named as not read, good or bad."""
    problems: list[str] = []
    malformed = 0
    for index, item in enumerate(items):
        if malformed == _MAX_MALFORMED_ENTRIES:
            problems.append(
                f"the annotation entries [{index}] to [{len(items) - 1}] were not read (mountgate stops after {_MAX_MALFORMED_ENTRIES} malformed entries)"
            )
            break
        faults, own = faults_of(item, f"[{index}]")
        problems.extend(faults + own)
        if faults:
            malformed += 1
    return problems


def value_problems(value: object) -> list[str]:
    """Why a parsed annotation value is not well-formed (empty when it is)."""
    if not isinstance(value, list):
        return ["the annotation must be a JSON array of mounts"]
    if len(value) > MAX_ENTRIES:
        return [f"the annotation has {len(value)} entries, more than the {MAX_ENTRIES} mountgate reads"]
    return _entries_problems(value, _entry_faults)


def _no_constant(name: str) -> object:
    """json.loads reads NaN, Infinity and -Infinity, which JSON (and mountgate's parser) does not have."""
    raise ValueError(f"{name} is not a JSON value")


def text_problems(text: str) -> list[str]:
    """Why an annotation value, as written in the Pod, is not well-formed (empty when it is)."""
    try:
        # A pair written as two code points is one character once the text is sent (see _joined).
        value: object = json.loads(_joined(text), object_pairs_hook=_read_object, parse_constant=_no_constant)
    except RecursionError:
        # Python's decoder recurses per nesting level; the value is refused, never a crash.
        return ["the annotation is not valid JSON (nested too deeply to read)"]
    except ValueError as error:
        # JSONDecodeError, and the limit on digits of an integer (int_max_str_digits).
        return [f"the annotation is not valid JSON ({error})"]
    return value_problems(value)


def annotation_value(mounts: Iterable[Mount | Mapping[str, object]]) -> str:
    """The annotation value for ``mounts``: Mount objects, or entries already in either spelling.

    Raises AnnotationError when the result would not be well-formed, so that a mistake is
    found here rather than by the API server, and TypeError when ``mounts`` is one mount or a text
    rather than a list of them.
    """
    # Iterated, a text is its characters and a mapping its keys: each would be named as an entry
    # that is not a mount (or, past MAX_ENTRIES of them, as entries too many).
    if isinstance(mounts, (str, bytes, bytearray)):
        raise TypeError(
            f"mounts must be a list of Mount or mappings, not a {type(mounts).__name__} "
            "(annotation_value writes the annotation text itself)"
        )
    if isinstance(mounts, (Mount, Mapping)):
        raise TypeError(f"mounts must be a list of Mount or mappings, not a single {type(mounts).__name__} (put it in a list)")
    items = list(mounts)
    if len(items) > MAX_ENTRIES:
        raise AnnotationError(value_problems(items))
    entries = [_as_entry(mount) for mount in items]
    problems = _entries_problems(entries, _mount_faults)
    if problems:
        raise AnnotationError(problems)
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


#: In annotation_value, an item that is neither a Mount nor a mapping: a string, None or a list of
#: pairs is no entry (dict() would raise or silently take the pairs).
_NOT_A_MOUNT = object()


def _as_entry(mount: object) -> object:
    if isinstance(mount, Mount):
        return _with_pairs_joined(mount.entry())
    if isinstance(mount, Mapping):
        return _with_pairs_joined(mount)
    return _NOT_A_MOUNT


def _mount_faults(item: object, where: str) -> tuple[list[str], list[str]]:
    # Written out, such an item would be an entry mountgate finds malformed: it counts toward the stop.
    if item is _NOT_A_MOUNT:
        return [f"{where}: must be a Mount or a mapping"], []
    return _entry_faults(item, where)
