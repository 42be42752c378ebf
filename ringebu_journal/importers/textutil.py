"""Text helpers shared by the importers: safe stored text, times, raw JSON, mojibake repair.

Stored ``text`` must be valid for XML 1.0 (the Noark 5 export) and for PostgreSQL ``text``
(no NUL). Characters XML 1.0 forbids (C0 controls except TAB/LF/CR, U+FFFE/U+FFFF) and lone
surrogates are replaced by U+FFFD in the stored text; the raw payload keeps them verbatim
(as JSON escapes), so nothing is lost. The number of replacements goes into ``extra``.

Limits that reject one record, never the batch: JSON nested deeper than ``MAX_JSON_DEPTH``
(:func:`loads` raises :class:`TooDeep`, also where Python's parser would run out of stack),
and message times outside ``MIN_TIME`` … tomorrow (:func:`time_problem`).
"""

from __future__ import annotations

import json
import re
from hashlib import sha256 as _sha256
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from orjson import dumps as _orjson_dumps

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

MAX_TEXT_CHARS = 1_000_000  # longer texts are rejected (Facebook's own limit is ~63,000)
MAX_JSON_DEPTH = 100        # nesting of one record; platforms nest fewer than 15 levels
MIN_TIME = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)   # clocks of capturing machines drift; a message is never from the future


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels — refused (no platform nests this deep)")


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            if d > limit:
                return True
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            if d > limit:
                return True
            stack.extend((x, d + 1) for x in v)
    return False


def check_depth(value: Any) -> Any:
    """``value`` if it nests at most MAX_JSON_DEPTH containers deep, else TooDeep (iterative: no recursion)."""
    if deeper_than(value, MAX_JSON_DEPTH):
        raise TooDeep()
    return value


def loads(text: str | bytes, *, check: bool = True) -> Any:
    """json.loads with the nesting limit; raises json.JSONDecodeError or TooDeep.

    ``check=False``: only what Python's parser cannot parse at all is TooDeep; the caller checks
    each entry of the document with :func:`deeper_than`, so one deep entry rejects that entry."""
    return _loads(text, json.loads, check)


def loads_noting_numbers(text: str, data: bytes | None = None) -> tuple[Any, bool]:
    """:func:`loads` of one text, and whether it held a fraction, an exponent or NaN/Infinity.

    Without such numbers, :func:`raw_json` may encode the text's objects with orjson (whose
    integers and strings come out byte for byte as ``json.dumps`` writes them; its floats may not).

    One shared decoder (built once: building one per text cost as much as the parsing) stops at
    the first such number; the text is then parsed again the standard way. Graph API responses
    hardly ever hold one, and errors (invalid JSON, nesting) are always the standard parser's.
    ``data``: the text's UTF-8 bytes where the caller has them (the depth is read from them
    without encoding the text again)."""
    try:
        return _loads(text, _NO_FRACTIONS.decode, True, data), False
    except _HasFraction:
        return _loads(text, json.loads, True, data), True


class _HasFraction(Exception):
    """Raised by the shared decoder at a fraction, an exponent or NaN/Infinity."""


def _stop_at_fraction(_s: str) -> float:
    raise _HasFraction()


_NO_FRACTIONS = json.JSONDecoder(parse_float=_stop_at_fraction, parse_constant=_stop_at_fraction)


def _loads(text: str | bytes, parse: Any, check: bool, data: bytes | None = None) -> Any:
    try:
        value = parse(text)
    except RecursionError:
        raise TooDeep() from None
    if isinstance(text, str):
        if data is not None:        # the same text as UTF-8 bytes: counted and measured without encoding
            if check and data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH and text_depth(data) > MAX_JSON_DEPTH:
                raise TooDeep()
        elif check and text.count("[") + text.count("{") > MAX_JSON_DEPTH and text_depth(text) > MAX_JSON_DEPTH:
            raise TooDeep()
        return value
    if check and text.count(b"[") + text.count(b"{") > MAX_JSON_DEPTH:          # only then can it nest deeper
        check_depth(value)
    return value


_ONE_BRACKET = bytes.maketrans(b"[]", b"{}")
_ALL_BYTES = bytes(range(256))
_NOT_STRUCTURE = bytes(b for b in _ALL_BYTES if b not in b'[]{}"')


def text_depth(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep the containers of a valid JSON text nest (counted up to ``limit`` + 1), read
    from the text: as UTF-8 bytes (no byte of a multi-byte character is a quote or a bracket),
    escapes out, every byte but quotes and brackets out, strings out (every other piece between
    quotes), then innermost pairs
    removed once per level (each pass of ``replace`` removes exactly the deepest level). The same
    number as walking the parsed value, at the speed of a few C passes over the bytes."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # what is left between the n-th and (n+1)-th quote, n odd, is the inside of a string
    brackets = b"".join(data.translate(None, _NOT_STRUCTURE).split(b'"')[::2]).translate(_ONE_BRACKET)
    depth = 0
    while brackets and depth <= limit:
        inner = brackets.replace(b"{}", b"")
        if len(inner) == len(brackets):
            raise ValueError("text_depth needs valid JSON (its brackets do not pair)")
        brackets = inner
        depth += 1
    return depth


class NotAnArray(ValueError):
    """The document streamed by :func:`stream_array` is not a JSON array."""


class TooDeepEntry:
    """Stands for an array entry nested deeper than MAX_JSON_DEPTH (it is not built)."""


_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")


def stream_array(reader: Any) -> Iterator[Any]:
    """The entries of the JSON array read from ``reader`` (``.read(n)`` → bytes), one at a time.

    Built from ijson's event stream with a depth count: an entry deeper than MAX_JSON_DEPTH is
    read to its end without being built and comes as a TooDeepEntry (no recursion, no
    quadratic building). Whatever follows the array (``;``) is not read.
    """
    import ijson

    events = ijson.basic_parse(reader, use_float=True)
    first = next(events, None)
    if first is None or first[0] != "start_array":
        raise NotAnArray()
    for ev, val in events:
        if ev == "end_array":
            return
        if ev not in _OPEN:
            yield val
            continue
        builder = ijson.ObjectBuilder()
        builder.event(ev, val)
        depth, deep = 1, False
        for ev, val in events:
            if ev in _OPEN:
                depth += 1
                deep = deep or depth > MAX_JSON_DEPTH
            elif ev in _CLOSE:
                depth -= 1
            if not deep:
                builder.event(ev, val)
            if depth == 0:
                break
        yield TooDeepEntry() if deep else builder.value
    raise ijson.IncompleteJSONError("the array is not closed")


def latest_time(now: datetime | None = None) -> datetime:
    """The latest time a message can have: tomorrow, as seen from ``now`` (default: the clock)."""
    return (now or datetime.now(timezone.utc)) + FUTURE_SLACK


def time_problem(dt: datetime, latest: datetime | None = None) -> str | None:
    """Why a message time cannot be right (before MIN_TIME or after ``latest``, by default
    tomorrow), or None."""
    latest = latest or latest_time()
    if dt < MIN_TIME or dt > latest:
        return (f"time {dt.isoformat()} is outside the dates a message can have ({MIN_TIME.date()} to "
                f"{latest.date()}) — check the field and the clock of the capturing machine")
    return None


def clean_text(s: object) -> tuple[str, int]:
    """Text safe to store and export, and how many characters were replaced.

    Anything that is not a string (a number or an object where an export has text) gives empty
    text: the raw payload keeps what was there."""
    if not s or not isinstance(s, str):
        return "", 0
    if s.isprintable():
        return s, 0         # no control character, surrogate or noncharacter (none is printable)
    cleaned, n = _FORBIDDEN.subn("\ufffd", s)
    return cleaned, n


def clean_opt(s: object) -> tuple[str | None, int]:
    if s is None or not isinstance(s, str):
        return None, 0
    return clean_text(s)


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_COMPACT_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def raw_json(obj: Any, check: bool = True, numbers: bool = True) -> str:
    """The JSON text of one object, compact; lone surrogates stay escaped. ``check=False`` when
    the source text had no ``\\uD8xx``-style escape, so there cannot be a lone surrogate.

    ``numbers=False`` when the object holds no float (see :func:`loads_noting_numbers`): then
    orjson writes it, byte for byte the text ``json.dumps(ensure_ascii=False)`` writes, several
    times faster; what orjson refuses (lone surrogates, integers beyond 64 bits) goes the
    standard library's way below."""
    if not numbers:
        try:
            return _orjson_dumps(obj).decode("utf-8")
        except TypeError:       # orjson.JSONEncodeError is a TypeError
            pass
    s = _COMPACT.encode(obj)
    if not check:
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = _COMPACT_ASCII.encode(obj)
    return s


def raw_json_hashed(obj: Any, check: bool = True, numbers: bool = True) -> tuple[str, str]:
    """:func:`raw_json` and the SHA-256 (hex) of its UTF-8 bytes, hashed from the bytes orjson
    writes (the text is always valid UTF-8: lone surrogates are written as escapes), so the
    store does not encode the text again to hash it."""
    if not numbers:
        try:
            b = _orjson_dumps(obj)
        except TypeError:
            pass
        else:
            return b.decode("utf-8"), _sha256(b).hexdigest()
    s = raw_json(obj, check, True)
    return s, _sha256(s.encode("utf-8")).hexdigest()


def safe_payload(s: str) -> str:
    """A payload text that can be stored (lone surrogates and NUL escaped as JSON would)."""
    try:
        s.encode("utf-8")
        if "\x00" not in s:
            return s
    except UnicodeEncodeError:
        pass
    out = []
    for ch in s:
        o = ord(ch)
        if o == 0 or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


def parse_graph_time(value: Any) -> datetime | None:
    """Graph API times: ISO 8601 with +0000, or Unix seconds (webhooks)."""
    if type(value) is str and len(value) == 24 and value.endswith("+0000"):
        # Graph's own form (2024-05-02T08:15:30+0000): already UTC, nothing to strip or convert
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if dt.tzinfo is timezone.utc:
                return dt
    return parse_time_value(value)


def parse_time_value(value: Any) -> datetime | None:
    """:func:`parse_graph_time` for every form (its shortcut for Graph's own form gives the same)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return from_unix(value)
    if isinstance(value, str):
        v = value.strip()
        if v.isdigit():
            return from_unix(int(v))
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        try:
            return dt.astimezone(timezone.utc)
        except OverflowError:
            # year 1 with a positive offset, year 9999 with a negative one: kept at the wall-clock
            # time so that the range check (time_problem) names it, instead of "not a date"
            return dt.replace(tzinfo=timezone.utc)
    return None


def from_unix(value: int | float, *, millis: bool = False) -> datetime | None:
    try:
        secs = value / 1000 if millis else value
        return datetime.fromtimestamp(secs, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def fix_mojibake(s: str) -> str:
    """Undo Facebook's export bug (UTF-8 bytes escaped one by one) where it round-trips."""
    try:
        return s.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return s


def fix_tree(o: Any, counter: list[int]) -> Any:
    """Repair every string in a JSON tree; counter[0] counts repaired strings."""
    if isinstance(o, str):
        if o.isascii():
            return o
        fixed = fix_mojibake(o)
        if fixed != o:
            counter[0] += 1
        return fixed
    if isinstance(o, list):
        return [fix_tree(x, counter) for x in o]
    if isinstance(o, dict):
        return {fix_tree(k, counter): fix_tree(v, counter) for k, v in o.items()}
    return o


def as_id(value: Any) -> str | None:
    """Platform ids arrive as strings or as numbers (webhooks); store them as strings."""
    if type(value) is str:
        v = value.strip()
        return v or None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        v = value.strip()
        return v or None
    return None


def as_list(value: object) -> list:
    """A JSON array as a list; anything else (a number, a string, an object) as an empty list.

    Exports and archives are read defensively: a field of the wrong type loses that field, not
    the record or the batch."""
    return value if isinstance(value, list) else []
