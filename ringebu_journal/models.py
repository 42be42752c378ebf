"""The domain model: what ringebu-journal knows about a conversation.

The ``…In`` models are what every importer produces and the importers' store
(``importers/store.py``) persists; the judge returns a :class:`JudgmentResult`; the enums name
the platforms, kinds, decisions and the guideline's actions everywhere. Input models are strict and forbid unknown fields, so a typo in an importer or in a
hand-written JSON Lines file is an error, not silently dropped data.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .clock import utc


class Platform(str, Enum):
    facebook = "facebook"
    messenger = "messenger"
    instagram = "instagram"
    x = "x"
    linkedin = "linkedin"
    tiktok = "tiktok"
    email = "email"
    other = "other"


class MessageKind(str, Enum):
    post = "post"          # a top-level post on a page or profile
    comment = "comment"    # a comment under a post
    reply = "reply"        # a reply to a comment
    message = "message"    # a private message in a conversation (Messenger, DM)


class MessageStatus(str, Enum):
    active = "active"
    hidden = "hidden"                    # hidden by a moderator or the platform (is_hidden)
    deleted = "deleted"                  # known deleted (webhook remove, is_unsent, moderator)
    not_retrievable = "not_retrievable"  # Graph API code 100/33: deleted *or* permission lost


class Decision(str, Enum):
    journal = "journal"
    archive = "archive"
    exclude = "exclude"
    review = "review"


class Action(str, Enum):
    reply = "reply"
    thank = "thank"
    refer_post = "refer_post"
    refer_political = "refer_political"
    remove = "remove"


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


class AccountIn(StrictInput):
    """An account on a platform: the municipality's own profiles and the citizens'."""

    platform: Platform
    platform_id: str = Field(min_length=1)
    name: str | None = None
    unit: str | None = None            # responsible unit (tjenesteenhet), own accounts only
    own: bool = False


class CaptureIn(StrictInput):
    """How and when a payload was captured: the provenance of a message version."""

    source: str = Field(min_length=1)   # e.g. "graph-api v25.0", "x-archive", "facebook-export", "jsonl", "manual"
    locator: str = Field(min_length=1)  # request URL (without token) or file path
    entry: str | None = None            # line number or entry name inside the file
    retrieved_at: datetime
    payload: str                        # the raw payload verbatim (JSON text for API data)
    sha256: str | None = None           # filled in from payload when missing

    @field_validator("retrieved_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return utc(v)

    def digest(self) -> str:
        return self.sha256 or sha256_hex(self.payload)


class AttachmentIn(StrictInput):
    """A photo, video or file that belongs to a message."""

    media_type: str | None = None       # MIME type when known, e.g. image/jpeg
    kind: str | None = None             # photo | video | file | link | sticker ...
    source_url: str | None = None       # where it was fetched from (harvest)
    filename: str | None = None         # original name (export)
    sha256: str | None = None           # content hash once the bytes are stored
    size: int | None = None
    note: str | None = None             # e.g. "not fetched: withheld by platform"


class MessageIn(StrictInput):
    """One version of one message, as an importer saw it."""

    platform: Platform
    kind: MessageKind
    platform_message_id: str = Field(min_length=1)
    parent_platform_id: str | None = None        # the comment or post this answers
    post_platform_id: str | None = None          # the top-level post of the thread
    conversation_id: str | None = None           # private conversations
    account_platform_id: str | None = None       # the municipality's account the thread lives on
    author_id: str | None = None
    author_name: str | None = None
    author_is_municipality: bool = False
    text: str = ""
    created_at: datetime
    permalink: str | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    status: MessageStatus = MessageStatus.active
    extra: dict[str, Any] = Field(default_factory=dict)  # platform fields worth keeping (edit info, repairs)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return utc(v)

    def thread_key(self) -> str:
        """The platform id that names this message's thread: post or conversation."""
        return thread_key_of(self)

    def content_hash(self) -> str:
        """What makes a new version: the text, the status and the attachments, not the capture."""
        return content_hash_of(self)


def thread_key_of(m: "MessageIn | Any") -> str:
    """The platform id that names a message's thread: its conversation, else its post, else (a
    post) itself, else its parent. Any object with ``MessageIn``'s fields (``fastmsg.Message``)."""
    if m.conversation_id:
        return m.conversation_id
    if m.post_platform_id:
        return m.post_platform_id
    if m.kind == MessageKind.post:
        return m.platform_message_id
    return m.parent_platform_id or m.platform_message_id


def content_hash_of(m: "MessageIn | Any") -> str:
    """What makes a new version of a message: the text, the status, the author's name and the
    attachments, not the capture. Any object with ``MessageIn``'s fields."""
    parts = [m.text, m.status.value, m.author_name or ""]
    parts += sorted((a.sha256 or a.source_url or a.filename or "") for a in m.attachments)
    return sha256_hex("\x1f".join(parts))


class ScreeningProposal(BaseModel):
    """The judge's proposal for skjerming in the public journal."""

    screen: bool = False
    mask: list[str] = Field(default_factory=list)     # text spans to mask in the public journal
    hjemmel: str | None = None                        # e.g. "Offl. § 13 jf. fvl. § 13 første ledd nr. 1"
    reasons: list[str] = Field(default_factory=list)


class Reason(BaseModel):
    """One rule that fired, with the text it matched."""

    rule: str
    description: str
    matched: str = ""
    effect: str = ""

    def line(self) -> str:
        m = f' «{self.matched}»' if self.matched else ""
        e = f" → {self.effect}" if self.effect else ""
        return f"{self.rule}{m}: {self.description}{e}"


class JudgmentResult(BaseModel):
    """What the judge decided about one message."""

    decision: Decision
    confidence: float = Field(ge=0.0, le=1.0)
    categories: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    screening: ScreeningProposal = Field(default_factory=ScreeningProposal)
    reasons: list[Reason] = Field(default_factory=list)
    policy_version: str = ""
    policy_hash: str = ""
    model_hash: str = ""          # SHA-256 of the learned model's file; empty when judged by rules alone
    language: str | None = None   # ISO 639-1 code, where the judge looked it up
