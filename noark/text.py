"""Text and value formatting for Noark 5 XML: the one place where strings are made XML-safe.

XML 1.0 allows only #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and #x10000–#x10FFFF. Social-media
text carries control characters and, after bad decoding, lone surrogates; every such code point is
replaced by U+FFFD so the reader can still see that something was there. A string that is empty or
only whitespace after cleaning counts as *no value* (Noark: no empty elements; Arkade N5.63).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

REPLACEMENT = "\ufffd"

_ILLEGAL_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: str) -> str:
    """Return ``value`` with every character XML 1.0 forbids replaced by U+FFFD."""
    if _ILLEGAL_XML_CHARS.search(value) is None:
        return value
    return _ILLEGAL_XML_CHARS.sub(REPLACEMENT, value)


def has_content(value: str | None) -> bool:
    """True when ``value`` would produce a non-empty element."""
    return value is not None and value.strip() != ""


def format_datetime(value: datetime) -> str:
    """xs:dateTime, second precision; aware values are written in UTC with ``Z``."""
    if value.tzinfo is None:
        return value.replace(microsecond=0).isoformat()
    return value.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def format_date(value: date) -> str:
    """xs:date (``YYYY-MM-DD``)."""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def format_value(value: object) -> str:
    """Lexical XSD form of a model value (str, int, bool, date, datetime)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)
