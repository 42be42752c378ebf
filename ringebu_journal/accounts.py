"""The registry of official profiles: which accounts are the municipality's, who answers for them.

The guideline: "Tjenesteenhetene kan opprette profiler på sosiale medier på vegne av kommunen,
men skal varsle om bruken til rådmannen" and "Dersom du ikke kan følge opp en profil … er det
bedre at du stenger siden … Gi da beskjed til brukere om at siden er stengt, og når den
eventuelt åpner igjen." So each own account is registered with its responsible unit and the
date the rådmann was notified, and a closure records its notice and reopening date.

Every change is audited (``account.add``, ``account.change``, ``account.close``,
``account.reopen``) with the object id ``platform:platform_id``. The closure history that the
compliance report needs (was the page closed during a silent stretch?) is read back from those
audit events: the trail is the history.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from .app import App, now
from .db.tables import Account, AuditEvent, Message
from .errors import Hint, Note, UsageError
from .models import Platform

ACC = Account.__table__
MSG = Message.__table__
AUDIT = AuditEvent.__table__
PLATFORMS = tuple(p.value for p in Platform)


def account_platform(platform: str) -> str:
    """The platform an account is registered under: a page's Messenger inbox is the Facebook page."""
    return "facebook" if platform == "messenger" else platform


def account_key(platform: str, platform_id: str) -> str:
    return f"{account_platform(platform)}:{platform_id}"


def _today() -> date:
    return now().date()


@dataclass(frozen=True)
class AccountInfo:
    """One of the municipality's accounts as the registry holds it."""

    platform: str
    platform_id: str
    name: str | None
    unit: str | None
    own: bool
    registered: bool
    notified_date: date | None         # when the rådmann was notified of the profile
    closed: bool
    reopens_date: date | None
    closed_notice: str | None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.platform_id}"

    @property
    def radmann_notified(self) -> str:
        return self.notified_date.isoformat() if self.notified_date else "no"

    @property
    def status(self) -> str:
        if self.closed and self.reopens_date:
            return f"closed until {self.reopens_date}"
        return "closed" if self.closed else "open"

    def as_dict(self) -> dict[str, Any]:
        """The listing's row (`accounts list --format json|csv`)."""
        return {**asdict(self), "rådmann_notified": self.radmann_notified, "status": self.status}


@dataclass(frozen=True)
class AccountChange:
    """What :func:`add_account`, :func:`close_account` or :func:`reopen_account` did: the account
    now, and ``change`` — added, changed, unchanged, closed or reopened."""

    account: AccountInfo
    change: str
    closed_from: date | None = None    # close: the first day closed


def _public(row: Any) -> AccountInfo:
    return AccountInfo(
        platform=row.platform, platform_id=row.platform_id, name=row.name, unit=row.unit,
        own=bool(row.own), registered=bool(row.registered), notified_date=row.notified_date,
        closed=bool(row.closed), reopens_date=row.reopens_date, closed_notice=row.closed_notice,
    )


def _audit_state(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in d.items()}


# -- registry ---------------------------------------------------------------------------------


def add_account(app: App, platform: str, platform_id: str, *, name: str, unit: str,
                notified_date: date | None = None) -> AccountChange:
    """Register (or update) an official profile. Returns the account and what happened.

    ``result.change`` is ``"added"`` (not registered before), ``"changed"`` or ``"unchanged"``.
    An existing ``notified_date`` is kept when none is given.
    """
    app.require("account.manage")
    platform = (platform or "").strip().lower()
    if platform not in PLATFORMS:
        raise UsageError(f"unknown platform {platform!r} — choose one of: {', '.join(PLATFORMS)}")
    platform = account_platform(platform)
    platform_id = (platform_id or "").strip()
    if not platform_id:
        raise UsageError("the account id is empty — give the page's or profile's id on the platform")
    if len(platform_id) > 200:
        raise UsageError("the account id is longer than 200 characters — give the platform's id, not a URL")
    name = (name or "").strip()
    unit = (unit or "").strip()
    if not name:
        raise UsageError("--name is empty — give the profile's name as it shows on the platform")
    if not unit:
        raise UsageError("--unit is empty — give the unit (tjenesteenhet) that answers for the profile")
    if notified_date is not None and notified_date > _today():
        raise UsageError(f"--notified-date {notified_date} is in the future — give the date the rådmann was notified")
    key = f"{platform}:{platform_id}"
    with app.db.write() as conn:
        row = conn.execute(select(ACC).where(ACC.c.platform == platform, ACC.c.platform_id == platform_id)).first()
        if row is None:
            values = {"platform": platform, "platform_id": platform_id, "name": name, "unit": unit,
                      "own": True, "registered": True, "notified_date": notified_date, "closed": False,
                      "created_at": now()}
            conn.execute(ACC.insert().values(**values))
            after = {k: values[k] for k in ("name", "unit", "own", "registered", "notified_date")}
            app.audit(conn, "account.add", "account", key, after=_audit_state(after))
            change = "added"
        else:
            before = asdict(_public(row))
            new = {"name": name, "unit": unit, "own": True, "registered": True,
                   "notified_date": notified_date if notified_date is not None else row.notified_date}
            diff_before = {k: before[k] for k in new if before[k] != new[k]}
            if not diff_before:
                change = "unchanged"
            else:
                conn.execute(ACC.update().where(ACC.c.id == row.id).values(**new))
                diff_after = {k: new[k] for k in diff_before}
                change = "changed" if row.registered else "added"
                app.audit(conn, "account.add" if change == "added" else "account.change", "account", key,
                          before=_audit_state(diff_before), after=_audit_state(diff_after))
        current = conn.execute(select(ACC).where(ACC.c.platform == platform, ACC.c.platform_id == platform_id)).first()
    return AccountChange(_public(current), change)


def find_account(conn: Connection, ref: str, *, registered_only: bool = False) -> Any:
    """The account row ``ref`` names: ``platform:id`` or the platform id alone when unique."""
    ref = (ref or "").strip()
    if not ref:
        raise UsageError("empty account id", Hint("give the platform id or platform:id (see {step})", "account.read"))
    head, sep, tail = ref.partition(":")
    if sep and head in PLATFORMS:
        rows = conn.execute(select(ACC).where(ACC.c.platform == account_platform(head),
                                              ACC.c.platform_id == tail)).all()
    else:
        rows = conn.execute(select(ACC).where(ACC.c.platform_id == ref)).all()
        if len(rows) > 1:
            own = [r for r in rows if r.own or r.registered]
            rows = own or rows
    if not rows:
        raise UsageError(f"no account {ref!r}", Hint("register it with {step}", "account.manage:add",
                                                     platform="PLATFORM", id="ID", name="NAME", unit="UNIT"))
    if len(rows) > 1:
        options = ", ".join(f"{r.platform}:{r.platform_id}" for r in rows)
        raise UsageError(f"{ref!r} names accounts on several platforms — write one of: {options}")
    row = rows[0]
    if registered_only and not row.registered:
        raise UsageError(f"{row.platform}:{row.platform_id} is not in the registry of official profiles",
                         add_hint(row.platform, row.platform_id, row.name))
    return row


def close_account(app: App, ref: str, *, reopens: date, notice: str, since: date | None = None) -> AccountChange:
    """Close a page that cannot be followed up, with the notice shown to users and its reopening date."""
    app.require("account.manage")
    notice = (notice or "").strip()
    if not notice:
        raise UsageError("--notice is empty — give the text that tells users the page is closed and when it opens")
    since = since or _today()
    if reopens is None:
        raise UsageError("--reopens is missing — give the date the page opens again (YYYY-MM-DD)")
    if reopens <= since:
        raise UsageError(f"--reopens {reopens} is not after the closing date {since} — give a later date")
    if reopens < _today():
        raise UsageError(f"--reopens {reopens} is in the past — give the date the page opens again")
    with app.db.write() as conn:
        row = find_account(conn, ref, registered_only=True)
        key = f"{row.platform}:{row.platform_id}"
        before = {"closed": bool(row.closed), "reopens_date": row.reopens_date, "closed_notice": row.closed_notice}
        conn.execute(ACC.update().where(ACC.c.id == row.id).values(
            closed=True, reopens_date=reopens, closed_notice=notice))
        after = {"closed": True, "closed_from": since, "reopens_date": reopens, "closed_notice": notice}
        app.audit(conn, "account.close", "account", key, before=_audit_state(before), after=_audit_state(after))
        current = conn.execute(select(ACC).where(ACC.c.id == row.id)).first()
    return AccountChange(_public(current), "closed", closed_from=since)


def reopen_account(app: App, ref: str) -> AccountChange:
    """Reopen a closed page. Reopening an open page changes nothing."""
    app.require("account.manage")
    with app.db.write() as conn:
        row = find_account(conn, ref, registered_only=True)
        if not row.closed:
            return AccountChange(_public(row), "unchanged")
        key = f"{row.platform}:{row.platform_id}"
        before = {"closed": True, "reopens_date": row.reopens_date, "closed_notice": row.closed_notice}
        conn.execute(ACC.update().where(ACC.c.id == row.id).values(closed=False, reopens_date=None, closed_notice=None))
        app.audit(conn, "account.reopen", "account", key, before=_audit_state(before),
                  after={"closed": False, "reopened": _today().isoformat()})
        current = conn.execute(select(ACC).where(ACC.c.id == row.id)).first()
    return AccountChange(_public(current), "reopened")


def list_accounts(app: App) -> list[AccountInfo]:
    """Own and registered accounts, with the rådmann notice and closure state.

    Own accounts seen in imports but not registered are listed too, marked ``registered=False``.
    """
    app.require("account.read")
    with app.db.read() as conn:
        rows = conn.execute(select(ACC).where(or_(ACC.c.own.is_(True), ACC.c.registered.is_(True)))
                            .order_by(ACC.c.platform, ACC.c.platform_id)).all()
    return [_public(r) for r in rows]


# -- warnings for importers -------------------------------------------------------------------


def add_hint(platform: str, platform_id: str, name: str | None = None, unit: str | None = None) -> Hint:
    """What registers an account (the CLI shows the command, ready to copy)."""
    return Hint("run {step}", "account.manage:add", platform=account_platform(platform), id=platform_id,
                name=name or "NAME", unit=unit or "UNIT")


def registration_warning(platform: str, platform_id: str, name: str | None = None) -> Note:
    """The warning an import from an unregistered own account prints."""
    who = f" ({name})" if name else ""
    return Note(f"own account {account_platform(platform)} {platform_id}{who} is not in the registry of official "
                "profiles", add_hint(platform, platform_id, name))


def unregistered_own_accounts(conn: Connection) -> list[dict[str, Any]]:
    """Own accounts that are not registered: own account rows not registered, and accounts the
    municipality's own messages were posted on that have no registered row.
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for r in conn.execute(select(ACC.c.platform, ACC.c.platform_id, ACC.c.name)
                          .where(ACC.c.own.is_(True), ACC.c.registered.is_(False))):
        found[(r.platform, r.platform_id)] = {"platform": r.platform, "platform_id": r.platform_id, "name": r.name}
    registered = {(r.platform, r.platform_id) for r in conn.execute(
        select(ACC.c.platform, ACC.c.platform_id).where(ACC.c.registered.is_(True)))}
    seen = conn.execute(
        select(MSG.c.platform, MSG.c.account_platform_id).where(
            MSG.c.author_is_municipality.is_(True), MSG.c.account_platform_id.is_not(None)).distinct()
    ).all()
    for platform, pid in seen:
        key = (account_platform(platform), pid)
        if key not in registered and key not in found:
            found[key] = {"platform": key[0], "platform_id": pid, "name": None}
    out = sorted(found.values(), key=lambda d: (d["platform"], d["platform_id"]))
    for d in out:
        d["warning"] = registration_warning(d["platform"], d["platform_id"], d["name"])
    return out


# -- closure history (for the compliance report) --------------------------------------------


@dataclass(frozen=True)
class Closure:
    start: datetime     # aware UTC, inclusive
    end: datetime       # aware UTC, exclusive


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _day(value: str | None) -> datetime | None:
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc) if value else None


def closure_periods(conn: Connection) -> dict[str, list[Closure]]:
    """Periods each account (key ``platform:id``) was closed, from its audited closes and reopens.

    A closure runs from its ``closed_from`` date to the earliest of its planned reopening date,
    an explicit reopen and the next closure (which replaces it).
    """
    rows = conn.execute(
        select(AUDIT.c.object_id, AUDIT.c.action, AUDIT.c.at, AUDIT.c.after)
        .where(and_(AUDIT.c.object_type == "account",
                    AUDIT.c.action.in_(("account.close", "account.reopen"))))
        .order_by(AUDIT.c.seq)
    ).all()
    open_: dict[str, tuple[datetime, datetime]] = {}
    out: dict[str, list[Closure]] = {}

    def finish(key: str, at: datetime) -> None:
        if key in open_:
            start, planned = open_.pop(key)
            end = min(planned, at) if at >= start else planned
            if end > start:
                out.setdefault(key, []).append(Closure(start, end))

    for key, action, at, after in rows:
        when = _at(at)
        if action == "account.close":
            data = json.loads(after) if after else {}
            start = _day(data.get("closed_from")) or when
            planned = _day(data.get("reopens_date")) or (start + timedelta(days=36500))
            finish(key, start)
            open_[key] = (start, planned)
        else:
            finish(key, when)
    for key in list(open_):
        start, planned = open_.pop(key)
        out.setdefault(key, []).append(Closure(start, planned))
    return out
