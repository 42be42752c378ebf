"""The message an importer yields, checked by msgspec instead of pydantic where that is the same check.

:class:`~ringebu_journal.models.MessageIn` (pydantic, strict, ``extra="forbid"``) stays the
definition of a valid message. Its validation cost about 2.2 µs a message, a quarter of what
the Graph dump parser spends per comment. :class:`Message` is the same record as a
``msgspec.Struct``: the same field names in the same order, the same types and defaults, the
same ``thread_key()`` and ``content_hash()``. :func:`message_in` takes what ``MessageIn(…)``
takes (as one dict) and returns

* a :class:`Message`, when ``msgspec.convert(fields, Message, strict=True)`` accepts the values
  (about 0.4 µs) and what msgspec checks otherwise than pydantic's strict mode holds too: the
  enums and the time are instances of their classes (msgspec would also take their text), the
  time is in UTC, the attachments are a ``list`` of ``AttachmentIn``, no text holds a lone
  surrogate (pydantic refuses what cannot be UTF-8);
* otherwise ``MessageIn(**fields)`` itself — which raises pydantic's ``ValidationError`` for
  what it rejects, so every rejection is worded as before, and accepts the rest (a time in
  another zone, which its validator converts to UTC).

Invariants (``tests/importers/test_import_lean.py`` proves them over generated values of every
type a JSON document or the parser can put in a field): whenever :func:`message_in` returns a
:class:`Message`, ``MessageIn(**fields)`` accepts the same values and holds equal ones; whenever
pydantic rejects, :func:`message_in` raises its error. The store reads both kinds alike (the
same attribute names).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import msgspec

from ..models import (AttachmentIn, MessageIn, MessageKind, MessageStatus, Platform, content_hash_of,
                      thread_key_of)

_UTC = timezone.utc


class Message(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One version of one message, as an importer saw it (the fields of MessageIn)."""

    platform: Platform
    kind: MessageKind
    platform_message_id: Annotated[str, msgspec.Meta(min_length=1)]
    parent_platform_id: str | None = None
    post_platform_id: str | None = None
    conversation_id: str | None = None
    account_platform_id: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    author_is_municipality: bool = False
    text: str = ""
    created_at: datetime
    permalink: str | None = None
    attachments: list[Any] = msgspec.field(default_factory=list)
    status: MessageStatus = MessageStatus.active
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def thread_key(self) -> str:
        """The platform id that names this message's thread (``models.thread_key_of``)."""
        return thread_key_of(self)

    def content_hash(self) -> str:
        """What makes a new version (``models.content_hash_of``)."""
        return content_hash_of(self)


_convert = msgspec.convert


def message_in(fields: dict[str, Any]) -> Message | MessageIn:
    """A valid message from ``fields`` (``MessageIn``'s keyword arguments, as a dict); raises
    pydantic's ``ValidationError`` for what ``MessageIn`` rejects."""
    # What msgspec would convert and pydantic's strict mode refuses (a text for an enum or a
    # time, a tuple for a list) or converts otherwise (a time in another zone): pydantic's way.
    get = fields.get
    created = get("created_at")
    if (type(get("platform")) is not Platform or type(get("kind")) is not MessageKind
            or type(created) is not datetime or created.tzinfo is not _UTC
            or ("status" in fields and type(fields["status"]) is not MessageStatus)
            or ("attachments" in fields and type(fields["attachments"]) is not list)):
        return MessageIn(**fields)
    try:
        m = _convert(fields, Message, strict=True)
    except Exception:       # noqa: BLE001 — a ValidationError, or msgspec failing to word one (a
        return MessageIn(**fields)      # lone surrogate in a wrong value): pydantic answers either way
    if m.attachments and any(type(a) is not AttachmentIn for a in m.attachments):
        return MessageIn(**fields)
    # pydantic refuses a text with a lone surrogate (it cannot be UTF-8); msgspec takes it
    joined = "".join([m.platform_message_id, m.parent_platform_id or "", m.post_platform_id or "",
                      m.conversation_id or "", m.account_platform_id or "", m.author_id or "", m.author_name or "",
                      m.text, m.permalink or "", *m.extra])
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return MessageIn(**fields)
    return m


def _same_fields() -> None:
    """Message has MessageIn's fields, in its order, with its defaults (checked on import)."""
    ours = Message.__struct_fields__
    theirs = tuple(MessageIn.model_fields)
    if ours != theirs:
        raise RuntimeError(f"fastmsg.Message fields {ours} differ from MessageIn's {theirs}")
    sample = {"platform": Platform.facebook, "kind": MessageKind.post, "platform_message_id": "1",
              "created_at": datetime(2024, 1, 1, tzinfo=_UTC)}
    if msgspec.structs.asdict(Message(**sample)) != MessageIn(**sample).__dict__:
        raise RuntimeError("fastmsg.Message defaults differ from MessageIn's")


_same_fields()

__all__ = ["Message", "message_in"]
