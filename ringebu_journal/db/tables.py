"""SQLModel tables: the persistent form of the domain.

Schema changes go through Alembic migrations (``ringebu_journal/migrations``); these classes
are the source the migrations are written from. Times are stored as naive UTC datetimes
(both SQLite and PostgreSQL ``timestamp without time zone``); the audit trail keeps its time
as ISO 8601 text so that the hash chain is recomputed from exactly the stored characters.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    role: str = Field(max_length=20)            # archivist | moderator | auditor | admin
    active: bool = True
    created_at: datetime
    created_by: Optional[str] = Field(default=None, max_length=200)
    # the web workspace (0007_web_accounts): an argon2id hash, never the password
    password_hash: Optional[str] = Field(default=None, sa_column=Column(Text))
    password_changed_at: Optional[datetime] = None


class WebSession(SQLModel, table=True):
    """One signed-in browser: the SHA-256 of its cookie token (never the token), its CSRF token."""

    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_web_session_token"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64)
    user_name: str = Field(max_length=200, index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime


class Delegation(SQLModel, table=True):
    """An authenticated identity may act under a name (``name``; ``*``: under every name).

    See ringebu_journal/app.py: acting under a name other than one's identity needs one of these.
    """

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("name", "identity", name="uq_delegation"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)           # the acting name lent, or "*"
    identity: str = Field(max_length=200)       # the authenticated identity that may use it
    until: Optional[datetime] = None            # the delegation ends at this moment (UTC)
    created_at: datetime
    created_by: str = Field(max_length=200)     # the acting name of the admin who granted it
    created_identity: str = Field(max_length=200)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "platform_id", name="uq_account_platform_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    platform_id: str = Field(max_length=200)
    name: Optional[str] = Field(default=None, sa_column=Column(Text))
    unit: Optional[str] = Field(default=None, sa_column=Column(Text))
    own: bool = False
    registered: bool = False                    # entered in the registry of official profiles
    notified_date: Optional[date] = None        # when the rådmann was notified
    closed: bool = False
    reopens_date: Optional[date] = None
    closed_notice: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime


class Thread(SQLModel, table=True):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("platform", "thread_key", name="uq_thread_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    thread_key: str = Field(max_length=300)     # post id or conversation id
    kind: str = Field(max_length=20)            # post | conversation
    account_platform_id: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime


class Capture(SQLModel, table=True):
    __tablename__ = "captures"
    id: Optional[int] = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True, index=True)
    source: str = Field(max_length=100)
    locator: str = Field(sa_column=Column(Text, nullable=False))
    entry: Optional[str] = Field(default=None, max_length=500)
    retrieved_at: datetime
    size: int = 0
    payload: str = Field(sa_column=Column(Text, nullable=False))


class ImportBatch(SQLModel, table=True):
    __tablename__ = "import_batches"
    id: Optional[int] = Field(default=None, primary_key=True)
    importer: str = Field(max_length=50)
    input_sha256: str = Field(max_length=64, index=True)
    input_desc: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=20)          # running | done
    position: int = 0                           # how far a crashed run got, to resume exactly
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=200)
    started_at: datetime
    finished_at: Optional[datetime] = None


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("platform", "platform_message_id", "version", name="uq_message_version"),
        Index("ix_message_thread", "thread_id", "created_at"),
        Index("ix_message_author", "author_id"),
        # the replies under a parent in order of time: the thread around a message (0007_web_accounts)
        # and the judge's thread context, which reads the siblings created within a batch's time
        # span (0009_judge_speed); one index serves both. Partial since 0010_import_indexes: only
        # rows with the value, the only ones ever looked up.
        Index("ix_message_parent_created", "platform", "parent_platform_id", "created_at",
              sqlite_where=sql_text("parent_platform_id IS NOT NULL"),
              postgresql_where=sql_text("parent_platform_id IS NOT NULL")),
        Index("ix_message_conversation", "platform", "conversation_id", "created_at",
              sqlite_where=sql_text("conversation_id IS NOT NULL"), postgresql_where=sql_text("conversation_id IS NOT NULL")),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    platform_message_id: str = Field(max_length=300)
    version: int = 1
    previous_id: Optional[int] = Field(default=None, foreign_key="messages.id")
    is_current: bool = True
    thread_id: Optional[int] = Field(default=None, foreign_key="threads.id")
    kind: str = Field(max_length=20)
    parent_platform_id: Optional[str] = Field(default=None, max_length=300)
    post_platform_id: Optional[str] = Field(default=None, max_length=300)
    conversation_id: Optional[str] = Field(default=None, max_length=300)
    account_platform_id: Optional[str] = Field(default=None, max_length=200)
    author_id: Optional[str] = Field(default=None, max_length=300)
    author_name: Optional[str] = Field(default=None, sa_column=Column(Text))
    author_is_municipality: bool = False
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(index=True)
    permalink: Optional[str] = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="active", max_length=20)
    content_hash: str = Field(max_length=64)
    raw: str = Field(default="", sa_column=Column(Text, nullable=False))  # this message's object from the capture
    raw_sha256: str = Field(max_length=64)
    capture_id: Optional[int] = Field(default=None, foreign_key="captures.id")
    batch_id: Optional[int] = Field(default=None, foreign_key="import_batches.id")
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    imported_at: datetime
    lock_version: int = 0                       # optimistic locking of moderator decisions


# Full-text search over messages (migration 0006_search) has no class here: on SQLite it is the
# FTS5 table ``messages_fts`` (external content: ``messages``) kept in step by triggers, on
# PostgreSQL GIN expression indexes on ``messages`` (see ringebu_journal/search.py).


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    sha256: Optional[str] = Field(default=None, max_length=64, index=True)
    media_type: Optional[str] = Field(default=None, max_length=100)
    kind: Optional[str] = Field(default=None, max_length=30)
    filename: Optional[str] = Field(default=None, sa_column=Column(Text))
    source_url: Optional[str] = Field(default=None, sa_column=Column(Text))
    size: Optional[int] = None
    stored_path: Optional[str] = Field(default=None, sa_column=Column(Text))
    note: Optional[str] = Field(default=None, sa_column=Column(Text))


class Judgment(SQLModel, table=True):
    __tablename__ = "judgments"
    __table_args__ = (Index("ix_judgment_message", "message_id", "id"), Index("ix_judgment_decision", "decision"))
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id")
    decision: str = Field(max_length=20)
    confidence: float
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    screening: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    policy_version: str = Field(max_length=100)
    policy_hash: str = Field(max_length=64)
    context_hash: str = Field(default="", max_length=64)  # message + thread context judged
    judged_at: datetime
    actor: str = Field(max_length=200)
    # SHA-256 of the learned model's file; empty when the rules alone judged
    model_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class JudgeModel(SQLModel, table=True):
    """A learned model staff have stored (``model add``); the one in use is the setting ``judge.model``."""

    __tablename__ = "judge_models"
    sha256: str = Field(primary_key=True, max_length=64)
    version: str = Field(max_length=100)
    content: str = Field(sa_column=Column(Text, nullable=False))    # the model file, JSON
    trained_on: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    created_by: str = Field(max_length=200)


class ModeratorDecision(SQLModel, table=True):
    __tablename__ = "moderator_decisions"
    __table_args__ = (Index("ix_decision_message", "message_id", "id"),
                      Index("ix_moderator_decision_decision", "decision"))
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id")
    kind: str = Field(max_length=20)            # flag | confirm | unflag
    decision: Optional[str] = Field(default=None, max_length=20)
    screen: Optional[bool] = None
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    judgment_id: Optional[int] = Field(default=None, foreign_key="judgments.id")  # what a confirm accepted
    lock_version: int                           # the message's lock_version this decision produced
    actor: str = Field(max_length=200)
    decided_at: datetime


class MessageAction(SQLModel, table=True):
    __tablename__ = "message_actions"
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    action: str = Field(max_length=30)          # hidden | deleted | replied | referred_post | referred_political
    note: Optional[str] = Field(default=None, sa_column=Column(Text))
    actor: str = Field(max_length=200)
    recorded_at: datetime


class Export(SQLModel, table=True):
    __tablename__ = "exports"
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)            # noark5 | arkivmelding
    package_id: str = Field(max_length=64, index=True)
    path: str = Field(sa_column=Column(Text, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=200)
    created_at: datetime


class Delivery(SQLModel, table=True):
    """What was sent to the archive for a message, so nothing is delivered twice."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_delivery_message", "message_id", "kind"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id")
    kind: str = Field(max_length=20)            # noark5 | arkivmelding
    export_id: int = Field(foreign_key="exports.id")
    system_id: str = Field(max_length=36)       # journalpost/registrering systemID
    state_hash: str = Field(max_length=64)      # hash of what was delivered (decision, screening, text)
    delivered_at: datetime


class ArkivmeldingKey(SQLModel, table=True):
    """The lifecycle of one journalpost or saksmappe in the archive system, keyed by its stable
    systemID (a message's, not a version's; a case's thread): created → delivered → updated (n) →
    cancelled. See ringebu_journal/export/arkivmelding.py."""

    __tablename__ = "arkivmelding_keys"
    __table_args__ = (UniqueConstraint("kind", "system_id", name="uq_arkivmelding_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)            # journalpost | saksmappe
    system_id: str = Field(max_length=36)
    noekkel: str = Field(sa_column=Column(Text, nullable=False))   # referanseEksternNoekkel
    platform: Optional[str] = Field(default=None, max_length=20)
    platform_message_id: Optional[str] = Field(default=None, max_length=300)
    mappe_system_id: Optional[str] = Field(default=None, max_length=36)
    state: str = Field(max_length=20)           # created | delivered | updated | cancelled
    updates: int = 0
    state_hash: str = Field(max_length=64)      # what was last sent about it
    sent: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    avskrevet: bool = False
    first_seq: int
    last_seq: int
    updated_at: datetime


class OutboxMessage(SQLModel, table=True):
    """One message of the arkivmelding outbox (append-only, numbered 1, 2, 3 …) and the
    receiver's receipt for it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_key", "system_id"),
                      Index("ix_outbox_message", "message_id"))      # a message's deliveries (0007_web_accounts)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    outbox: str = Field(sa_column=Column(Text, nullable=False))
    folder: str = Field(max_length=200)
    type: str = Field(max_length=40)            # arkivmelding.opprett | arkivmelding.oppdater | avskrivning.opprett | dokumentobjekt.opprett
    key_kind: str = Field(max_length=20)        # journalpost | saksmappe | dokument
    system_id: str = Field(max_length=36)       # the journalpost the message is about (the saksmappe for a mappe update)
    melding_id: str = Field(max_length=36, unique=True)
    sha256: str = Field(max_length=64)          # of the payload
    message_id: Optional[int] = Field(default=None, foreign_key="messages.id")
    export_id: Optional[int] = Field(default=None, foreign_key="exports.id")
    audit_seq: Optional[int] = None             # the last audit event the export's snapshot reflected
    created_at: datetime
    receipt: str = Field(default="pending", max_length=20)   # pending | confirmed | failed
    receipt_file: Optional[str] = Field(default=None, sa_column=Column(Text))
    receipt_at: Optional[datetime] = None
    receipt_detail: Optional[str] = Field(default=None, sa_column=Column(Text))


class Setting(SQLModel, table=True):
    __tablename__ = "settings"
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime
    updated_by: str = Field(max_length=200)


class AuditEvent(SQLModel, table=True):
    """One link of the tamper-evident audit chain. See ringebu_journal/audit.py for the recipe."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_actor", "actor"),
        Index("ix_audit_action", "action"),
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=32, index=True)  # ISO 8601 UTC, e.g. 2026-11-25T14:40:13.123456Z
    actor: str = Field(max_length=200)
    role: str = Field(max_length=20)
    action: str = Field(max_length=60)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=300)
    before: str = Field(sa_column=Column(Text, nullable=False))   # canonical JSON text
    after: str = Field(sa_column=Column(Text, nullable=False))    # canonical JSON text
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    # who was authenticated (database session user, operating-system user, or the web's signed-in
    # user) when ``actor`` is the name acted under; NULL on events written before identities
    identity: Optional[str] = Field(default=None, max_length=200)
    # the UTF-8 bytes that are hashed (the recipe's canonical JSON of the fields above);
    # verify checks the chain over these and the columns above against them
    canonical: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class CaseNumber(SQLModel, table=True):
    """The registry of saksmapper: one row per case, numbered once (see ringebu_journal/registry.py)."""

    __tablename__ = "case_numbers"
    __table_args__ = (
        UniqueConstraint("case_key", name="uq_case_key"),
        UniqueConstraint("saksaar", "sakssekvensnummer", name="uq_case_number"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_key: str = Field(max_length=400)       # thread:<platform>:<thread_key> | message:<platform>:<id>
    platform: str = Field(max_length=20)
    thread_id: Optional[int] = Field(default=None, foreign_key="threads.id")
    saksaar: int
    sakssekvensnummer: int
    saksdato: date                              # local day the case was opened (organisation.time_zone)
    assigned_at: datetime
    assigned_by: str = Field(max_length=200)


class JournalNumber(SQLModel, table=True):
    """The registry of journalposter: one row per message that ever became journal, never changed."""

    __tablename__ = "journal_numbers"
    __table_args__ = (
        UniqueConstraint("platform", "platform_message_id", name="uq_journal_message"),
        UniqueConstraint("journalaar", "journalsekvensnummer", name="uq_journal_number"),
        UniqueConstraint("case_id", "journalpostnummer", name="uq_journalpost_in_case"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    platform_message_id: str = Field(max_length=300)
    message_id: int = Field(foreign_key="messages.id")          # the version that was journalført
    case_id: int = Field(foreign_key="case_numbers.id", index=True)
    journalaar: int
    journalsekvensnummer: int
    journalpostnummer: int
    journaldato: date                           # local day of the decision that made it journal
    assigned_at: datetime                       # that decision's time (UTC)
    assigned_by: str = Field(max_length=200)
