"""Learned models staff have stored and the one in use.

Invariants:
- A stored model (table ``judge_models``) is the model file's exact bytes as text, keyed by their
  SHA-256; the same file stored twice is one row.
- The model in use is the setting ``judge.model`` (a SHA-256, or empty for the policy's own
  model). Changing it is one audited event ``model.use`` with the previous and the new hash, in
  the same transaction as the change; ``undo`` puts back the hash the latest ``model.use`` event
  replaced, and is itself such an event (so an undo can be undone).
- A model that does not load is never stored or put in use.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from . import clock
from .app import App
from .db.tables import AuditEvent, JudgeModel, Setting
from .errors import Hint, UsageError
from .judge.model import TextModel, parse_model

MODELS = JudgeModel.__table__
SETTINGS = Setting.__table__
AUDIT = AuditEvent.__table__
KEY = "judge.model"

_loaded: dict[str, TextModel] = {}


@dataclass(frozen=True)
class StoredModel:
    """A model file stored in the database: its SHA-256 (its name), version and training cases."""

    sha256: str
    version: str
    cases: int


@dataclass(frozen=True)
class ModelInfo:
    """One stored model as `model list` shows it."""

    sha256: str
    version: str
    in_use: bool
    trained_on: str                    # the training files' names, comma-separated
    created_at: datetime
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def store_model(app: App, data: bytes, where: str) -> StoredModel:
    """Store a model file (checked by loading it); returns its row. Audited as ``model.add``."""
    app.require("model.manage")
    model = parse_model(data, where)
    sha = hashlib.sha256(data).hexdigest()
    with app.db.write() as conn:
        if conn.execute(select(MODELS.c.sha256).where(MODELS.c.sha256 == sha)).first() is None:
            conn.execute(MODELS.insert().values(
                sha256=sha, version=model.version, content=data.decode("utf-8"),
                trained_on=model.trained_on, created_at=clock.now(), created_by=app.actor))
            app.audit(conn, "model.add", "judge_model", sha,
                      after={"sha256": sha, "version": model.version, "cases": model.cases,
                             "trained_on": [f["name"] for f in model.trained_on]})
    return StoredModel(sha, model.version, model.cases)


def _current(conn) -> str:
    row = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == KEY)).first()
    return row.value if row else ""


def _set(app: App, conn, sha: str, reason: str | None) -> tuple[str, str]:
    before = _current(conn)
    now = clock.now()
    if conn.execute(select(SETTINGS.c.key).where(SETTINGS.c.key == KEY)).first() is None:
        conn.execute(SETTINGS.insert().values(key=KEY, value=sha, updated_at=now, updated_by=app.actor))
    else:
        conn.execute(SETTINGS.update().where(SETTINGS.c.key == KEY).values(value=sha, updated_at=now,
                                                                             updated_by=app.actor))
    app.audit(conn, "model.use", "judge_model", sha or "default",
              before={"sha256": before}, after={"sha256": sha}, reason=reason)
    return before, sha


def resolve(conn, ref: str) -> str:
    """A stored model's full hash from a prefix of at least 8 characters."""
    ref = ref.strip().lower()
    if len(ref) < 8:
        raise UsageError(f"model {ref!r}: give at least 8 characters of its SHA-256 (see `model list`)")
    rows = [r.sha256 for r in conn.execute(select(MODELS.c.sha256).where(MODELS.c.sha256.like(ref + "%")))]
    if not rows:
        raise UsageError(f"model {ref!r} is not stored", Hint("store it first with {step}", "model.manage:add"))
    if len(rows) > 1:
        raise UsageError(f"model {ref!r} is ambiguous ({len(rows)} stored models start so): give more characters")
    return rows[0]


def use_model(app: App, ref: str | None, reason: str | None = None) -> tuple[str, str]:
    """Put a stored model in use (``ref`` None: back to the policy's own model)."""
    app.require("model.manage")
    with app.db.write() as conn:
        sha = resolve(conn, ref) if ref else ""
        if sha:
            row = conn.execute(select(MODELS.c.content).where(MODELS.c.sha256 == sha)).first()
            parse_model(row.content.encode("utf-8"), f"stored model {sha[:12]}")
        return _set(app, conn, sha, reason)


def undo(app: App, reason: str | None = None) -> tuple[str, str]:
    """Put back the model the latest ``model.use`` replaced."""
    app.require("model.manage")
    with app.db.write() as conn:
        row = conn.execute(select(AUDIT.c.before).where(AUDIT.c.action == "model.use")
                           .order_by(AUDIT.c.seq.desc()).limit(1)).first()
        if row is None:
            raise UsageError("no model was ever put in use: nothing to undo")
        before = row.before
        if isinstance(before, str):
            before = json.loads(before)
        return _set(app, conn, (before or {}).get("sha256", ""), reason or "undo")


def current(app: App) -> str:
    with app.db.read() as conn:
        return _current(conn)


def list_models(app: App) -> list[ModelInfo]:
    app.require("model.read")
    with app.db.read() as conn:
        in_use = _current(conn)
        rows = conn.execute(select(MODELS.c.sha256, MODELS.c.version, MODELS.c.trained_on, MODELS.c.created_at,
                                   MODELS.c.created_by).order_by(MODELS.c.created_at, MODELS.c.sha256)).mappings()
        return [ModelInfo(sha256=r["sha256"], version=r["version"], in_use=r["sha256"] == in_use,
                          trained_on=", ".join(f["name"] for f in r["trained_on"]), created_at=r["created_at"],
                          created_by=r["created_by"]) for r in rows]


def active_model(app: App) -> TextModel | None:
    """The stored model in use, or None when the policy's own model applies."""
    with app.db.read() as conn:
        sha = _current(conn)
        if not sha:
            return None
        if sha in _loaded:
            return _loaded[sha]
        row = conn.execute(select(MODELS.c.content).where(MODELS.c.sha256 == sha)).first()
    if row is None:
        raise UsageError(f"the model in use ({sha[:12]}) is not stored", Hint("run {step}", "model.manage:undo"))
    model = parse_model(row.content.encode("utf-8"), f"stored model {sha[:12]}")
    _loaded[sha] = model
    return model
