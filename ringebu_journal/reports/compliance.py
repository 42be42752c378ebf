"""The compliance report: does the municipality do on its profiles what its guideline says?

Each finding names its messages by the platform's own id and permalink so that staff can open
them. Findings are based on the judge's categories and actions, and on direct checks of the
text where the text is more reliable (a link to the website, a reply that refers to the post
address). ``docs/compliance.md`` describes every finding type.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from ..accounts import Closure, add_hint, closure_periods, find_account
from ..app import App
from .. import organisation
from ..clock import now, utc
from ..organisation import DEFAULTS
from ..errors import Hint, Note, StepRenderer, UsageError, render_text
from . import detect
from .data import UNKNOWN_ACCOUNT, Msg, Period, load_accounts, load_messages
from .settings import ComplianceSettings

SEVERITIES = ("high", "medium", "low", "info")
OUTCOMES = ("journal", "archive", "exclude", "review")

REPLY_CATEGORIES = ("faktafeil", "tjenestesporsmal", "kritikk")
OWN_PERSONAL_CATEGORIES = ("egen_personopplysninger", "personopplysninger", "sensitivt")


@dataclass(frozen=True)
class FindingType:
    name: str
    severity: str
    title: str
    guideline: str


FINDING_TYPES: dict[str, FindingType] = {t.name: t for t in (
    FindingType("unanswered_factual_error", "high", "Factual error not corrected",
                "Svar alltid ved faktafeil …"),
    FindingType("unanswered_service_question", "high", "Question about services not answered",
                "Svar alltid … på spørsmål om kommunens tjenester eller tilbud."),
    FindingType("unanswered_negative", "medium", "Negative comment not answered",
                "Forsøk å svare på negative kommentarer."),
    FindingType("late_reply", "low", "Answered, but later than the reply time",
                "Svar alltid ved faktafeil eller på spørsmål om kommunens tjenester eller tilbud."),
    FindingType("praise_not_thanked", "info", "Praise not thanked",
                "Svar også på positive kommentarer, si takk!"),
    FindingType("virus_link_up", "high", "Suspected virus or phishing link still up",
                "Sørg for å fjerne innlegg så raskt som mulig dersom det er mistanke om viruslenker."),
    FindingType("virus_link_removed_late", "medium", "Suspected virus or phishing link removed late",
                "Sørg for å fjerne innlegg så raskt som mulig dersom det er mistanke om viruslenker."),
    FindingType("case_not_referred", "high", "Case not referred to the post address",
                "Du skal aldri foreta saksbehandling gjennom sosiale medier. Vær nøye med å henvise henvendelser "
                "som krever saksbehandling til ordinær postadresse for registrering i arkivet …"),
    FindingType("political_not_referred", "medium", "Political message not referred to the political level",
                "Politiske henvendelser skal alltid henvises til politisk nivå."),
    FindingType("own_post_without_link", "medium", "Own post without a link to the website",
                "Informasjon fra Ringebu kommune som spres via sosiale medier skal først publiseres på kommunens "
                "egne nettsteder … og det skal lenkes dit."),
    FindingType("own_case_handling", "high", "Own post or reply looks like case handling",
                "Du skal aldri foreta saksbehandling gjennom sosiale medier."),
    FindingType("own_personal_data", "high", "Own post or reply contains personal data or screened information",
                "… ikke kommentere eller publisere informasjon … som enten er taushetsbelagt, kommer innunder "
                "forvaltningsloven, er av personvernhensyn, unntatt offentlighet …"),
    FindingType("silent_stretch", "medium", "Citizens wrote, the municipality was silent",
                "Dersom du ikke kan følge opp en profil etc. i ferie eller andre situasjoner, er det bedre at du "
                "stenger siden enn at den ikke blir fulgt opp."),
    FindingType("journal_not_exported", "medium", "Journal-worthy message not yet delivered to the archive",
                "Skal det journalføres? … det er innholdet som bestemmer hva som skal journalføres, ikke mediet."),
    FindingType("account_not_registered", "medium", "Own account not in the registry of official profiles",
                "Tjenesteenhetene kan opprette profiler … men skal varsle om bruken til rådmannen."),
    FindingType("radmann_not_notified", "low", "Rådmann not notified of the profile",
                "Tjenesteenhetene kan opprette profiler … men skal varsle om bruken til rådmannen."),
)}


@dataclass
class MessageRef:
    platform: str
    platform_message_id: str
    permalink: str | None
    created_at: datetime
    author: str | None
    excerpt: str

    @classmethod
    def of(cls, m: Msg) -> "MessageRef":
        text = " ".join(m.text.split())
        return cls(m.platform, m.platform_message_id, m.permalink, m.created_at, m.author_name,
                   text if len(text) <= 120 else text[:119] + "…")

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "platform_message_id": self.platform_message_id,
                "permalink": self.permalink, "created_at": self.created_at, "author": self.author,
                "excerpt": self.excerpt}


@dataclass
class Finding:
    type: str
    account: str
    summary: str
    at: datetime
    messages: list[MessageRef] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return FINDING_TYPES[self.type].severity

    @property
    def title(self) -> str:
        return FINDING_TYPES[self.type].title

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "severity": self.severity, "title": self.title, "account": self.account,
                "at": self.at, "summary": self.summary, "messages": [r.as_dict() for r in self.messages],
                "details": self.details}


@dataclass
class AccountReport:
    key: str
    info: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    reply_hours: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = self.info.get("name")
        return f"{self.key} ({name})" if name else self.key

    def severity_counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.key, **{k: self.info.get(k) for k in
                                        ("platform", "platform_id", "name", "unit", "registered", "notified_date",
                                         "closed", "reopens_date", "closed_notice")},
                "stats": self.stats, "severity_counts": self.severity_counts(),
                "findings": [f.as_dict() for f in self.findings]}


@dataclass
class ComplianceReport:
    generated_at: datetime
    as_of: datetime
    period: Period
    settings: ComplianceSettings
    accounts: list[AccountReport]
    weekly: dict[str, dict[str, int]]        # ISO week "2025-W27" → outcome → count
    organisation: str = DEFAULTS.name        # the profile's name, for the report's title

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.accounts for f in a.findings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at, "as_of": self.as_of,
            "period": {"from": self.period.start.date() if self.period.start else None,
                       "to": (self.period.end - timedelta(days=1)).date() if self.period.end else None},
            "settings": self.settings.as_dict(),
            "accounts": [a.as_dict() for a in self.accounts],
            "weekly": self.weekly,
        }


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _fmt_hours(h: float) -> str:
    return f"{h:.0f} h" if h < 72 else f"{h / 24:.1f} days"


def iso_week(t: datetime) -> str:
    y, w, _ = t.isocalendar()
    return f"{y}-W{w:02d}"


# -- the municipality's replies -------------------------------------------------------------


class Threads:
    """The current messages grouped by thread, for finding the municipality's replies."""

    def __init__(self, msgs: Iterable[Msg]):
        self.by_thread: dict[Any, list[Msg]] = defaultdict(list)
        for m in msgs:
            self.by_thread[m.thread_id if m.thread_id is not None else ("solo", m.id)].append(m)

    def municipal_replies(self, m: Msg) -> list[Msg]:
        """Later messages by the municipality that answer ``m``: a reply whose parent is ``m``, a
        reply after it in the same comment thread (Facebook nests only one level), or a later
        message in the same private conversation.
        """
        key = m.thread_id if m.thread_id is not None else ("solo", m.id)
        out = []
        for r in self.by_thread.get(key, ()):
            if not r.municipal or r.id == m.id or r.created_at < m.created_at:
                continue
            if r.parent_platform_id == m.platform_message_id:
                out.append(r)
            elif m.kind == "reply" and r.parent_platform_id and r.parent_platform_id == m.parent_platform_id:
                out.append(r)
            elif m.conversation_id and r.conversation_id == m.conversation_id:
                out.append(r)
        return out

    def first_reply_at(self, m: Msg) -> datetime | None:
        times = [r.created_at for r in self.municipal_replies(m)] + m.recorded("replied")
        return min(times) if times else None


def _removed_at(m: Msg) -> tuple[datetime | None, str]:
    """When the message was taken down: a recorded hidden/deleted action, else the first import
    that saw it hidden or deleted after an earlier one saw it up (an upper bound). A message
    that was already hidden or deleted when first captured was removed at an unknown time."""
    recorded = m.recorded("hidden", "deleted")
    if recorded:
        return recorded[0], "recorded"
    if m.removed_seen_at is not None:
        return m.removed_seen_at, "seen"
    if m.status in ("hidden", "deleted", "not_retrievable"):
        return m.created_at, "before capture"
    return None, ""


def _is_removed(m: Msg) -> bool:
    return _removed_at(m)[0] is not None


# -- open duties -----------------------------------------------------------------------------

#: the guideline's duties towards a message, named like the judge's actions
DUTIES = ("reply", "thank", "remove", "refer_post", "refer_political")
#: the judge's categories that bring a duty (with the actions in DUTIES); see open_duties
DUTY_CATEGORIES = frozenset({"virus", "ros", "politisk", *REPLY_CATEGORIES})


def may_have_duties(categories: Iterable[str], actions: Iterable[str]) -> bool:
    """Whether a judgment with these categories and actions can bring any duty (a cheap first
    sieve; :func:`open_duties` decides)."""
    return bool(DUTY_CATEGORIES.intersection(categories) or set(DUTIES).intersection(actions))


def reply_duty(m: Msg) -> str | None:
    """The finding type an unanswered ``m`` makes, when the guideline says to answer it."""
    cats = m.categories
    for cat, type_ in (("faktafeil", "unanswered_factual_error"), ("tjenestesporsmal", "unanswered_service_question"),
                       ("kritikk", "unanswered_negative")):
        if cat in cats:
            return type_
    if "reply" in m.proposed_actions:
        return "unanswered_service_question"
    return None


def open_duties(m: Msg, threads: Threads) -> list[str]:
    """What the guideline asks the municipality to do about ``m`` that nobody has done yet.

    The one definition of an open duty: the compliance findings below add a time limit to it
    (a duty open longer than the reply or virus hours is a finding), and the moderators' queue
    lists every open duty as work to do. A duty is done by a recorded action (record-action) or
    by what the platform shows: a reply from the municipality in the thread, a reply that refers
    to the post address or the political level, the message hidden or deleted.
    """
    out: list[str] = []
    removed = _is_removed(m)
    if removed:
        return out
    if "virus" in m.categories or "remove" in m.proposed_actions:
        out.append("remove")
    if m.municipal:
        return out
    answered = threads.first_reply_at(m) is not None
    if reply_duty(m) and not answered:
        out.append("reply")
    if ("ros" in m.categories or "thank" in m.proposed_actions) and not answered:
        out.append("thank")
    if "refer_post" in m.proposed_actions and not (m.recorded("referred_post") or any(
            detect.refers_to_post(r.text) for r in threads.municipal_replies(m))):
        out.append("refer_post")
    if ("refer_political" in m.proposed_actions or "politisk" in m.categories) and not (
            m.recorded("referred_political") or any(
                detect.refers_to_political(r.text) for r in threads.municipal_replies(m))):
        out.append("refer_political")
    return out


# -- the checks ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, msgs: list[Msg], settings: ComplianceSettings, as_of: datetime,
                 closures: dict[str, list[Closure]], period: Period):
        self.msgs = msgs
        self.settings = settings
        self.as_of = as_of
        self.closures = closures
        self.period = period
        self.threads = Threads(msgs)
        self.due = timedelta(hours=settings.reply_hours)

    def finding(self, type_: str, m: Msg | None, summary: str, account: str, *, refs: list[Msg] | None = None,
                at: datetime | None = None, **details: Any) -> Finding:
        refs = refs if refs is not None else ([m] if m else [])
        return Finding(type_, account, summary, at or (m.created_at if m else self.as_of),
                       [MessageRef.of(r) for r in refs], details)

    # Replies, thanks, referrals --------------------------------------------------------------

    def check_citizen(self, m: Msg, stats: dict[str, Any], reply_hours: list[float]) -> list[Finding]:
        out: list[Finding] = []
        removed = _is_removed(m)
        age = self.as_of - m.created_at
        first = self.threads.first_reply_at(m)
        duty = reply_duty(m)
        todo = open_duties(m, self.threads)
        overdue = age > self.due
        if duty and not removed:
            stats["needs_reply"] += 1
            if first is not None:
                took = first - m.created_at
                reply_hours.append(_hours(took))
                if took <= self.due:
                    stats["answered_in_time"] += 1
                else:
                    stats["answered_late"] += 1
                    out.append(self.finding("late_reply", m, f"answered after {_fmt_hours(_hours(took))} "
                                            f"(limit {self.settings.reply_hours:g} h)", m.account,
                                            reply_hours=_hours(took), needed=duty))
            elif overdue:
                stats["unanswered"] += 1
                out.append(self.finding(duty, m, f"no reply from the municipality after {_fmt_hours(_hours(age))} "
                                        f"(limit {self.settings.reply_hours:g} h)", m.account,
                                        waiting_hours=_hours(age)))
            else:
                stats["reply_pending"] += 1
        if "thank" in todo and overdue:
            out.append(self.finding("praise_not_thanked", m, "no thanks from the municipality", m.account))
        if "virus" in m.categories:
            out.extend(self.check_virus(m))
        if "refer_post" in todo and overdue:
            out.append(self.finding(
                "case_not_referred", m,
                "needs case handling ({}) and was not referred to the post address".format(
                    ", ".join(c for c in m.categories if c not in REPLY_CATEGORIES) or "refer_post"),
                m.account, waiting_hours=_hours(age)))
        if "refer_political" in todo and overdue:
            out.append(self.finding("political_not_referred", m,
                                    "political message not referred to the political level", m.account,
                                    waiting_hours=_hours(age)))
        return out

    def check_virus(self, m: Msg) -> list[Finding]:
        removed_at, how = _removed_at(m)
        limit = timedelta(hours=self.settings.virus_hours)
        if removed_at is None:
            up = _hours(self.as_of - m.created_at)
            return [self.finding("virus_link_up", m, f"still up after {_fmt_hours(up)} — hide or delete it now",
                                 m.account, up_hours=up, removed_at=None)]
        took = removed_at - m.created_at
        if how == "before capture" or took <= limit:
            return []
        word = "removed" if how == "recorded" else "seen removed at the latest"
        return [self.finding("virus_link_removed_late", m,
                             f"{word} after {_fmt_hours(_hours(took))} (limit {self.settings.virus_hours:g} h)",
                             m.account, up_hours=_hours(took), removed_at=removed_at, removal=how)]

    # The municipality's own messages -------------------------------------------------------

    def check_own(self, m: Msg) -> list[Finding]:
        out: list[Finding] = []
        if m.kind == "post":
            texts = [m.text, *m.attachment_urls, *(str(v) for v in m.extra.values() if isinstance(v, str))]
            if not detect.links_to(self.settings.domain, texts):
                out.append(self.finding("own_post_without_link", m,
                                        f"no link to {self.settings.domain}", m.account))
        case_words = detect.looks_like_case_handling(m.text)
        if case_words or "egen_saksbehandling" in m.categories:
            why = f"«{case_words}»" if case_words else "judged egen_saksbehandling"
            out.append(self.finding("own_case_handling", m, f"looks like case handling in public: {why}", m.account))
        numbers = detect.identity_numbers(m.text)
        cats = [c for c in m.categories if c in OWN_PERSONAL_CATEGORIES]
        if numbers or cats or m.screen:
            what = []
            if numbers:
                what.append("national identity number " + ", ".join(detect.mask_number(n) for n in numbers))
            if cats:
                what.append("judged " + ", ".join(cats))
            if m.screen:
                what.append("screening proposed (skjerming)")
            out.append(self.finding("own_personal_data", m, "; ".join(what), m.account))
        return out

    # Per message, whoever wrote it -----------------------------------------------------------

    def check_export(self, m: Msg) -> list[Finding]:
        if m.decision != "journal" or m.deliveries:
            return []
        age_days = round((self.as_of - m.created_at).total_seconds() / 86400, 1)
        overdue = age_days >= self.settings.export_overdue_days
        return [self.finding("journal_not_exported", m,
                             f"journal-worthy, not delivered to the archive; {age_days:g} days old"
                             + (" (overdue)" if overdue else ""), m.account, age_days=age_days, overdue=overdue)]

    # Per account ------------------------------------------------------------------------------

    def silent_stretches(self, key: str, msgs: list[Msg]) -> list[Finding]:
        in_period = [m for m in msgs if m.in_period]
        if not in_period:
            return []
        start = self.period.start or min(m.created_at for m in in_period)
        end = min(self.period.end or self.as_of, self.as_of)
        activity = sorted({m.created_at for m in in_period if m.municipal}
                          | {at for m in in_period for a, at, _ in m.actions if a == "replied" and start <= at < end})
        citizens = sorted((m for m in in_period if not m.municipal), key=lambda m: m.created_at)
        bounds = [start, *[t for t in activity if start < t < end], end]
        closed = self.closures.get(key, [])
        out = []
        limit = timedelta(days=self.settings.silent_days)
        for a, b in zip(bounds, bounds[1:]):
            for s, e in _minus(a, b, closed):
                if e - s < limit:
                    continue
                wrote = [m for m in citizens if s <= m.created_at < e]
                if len(wrote) < self.settings.silent_min_messages:
                    continue
                days = round((e - s).total_seconds() / 86400, 1)
                ongoing = e >= end and end == self.as_of
                summary = Note(f"no message from the municipality for {days:g} days ({s:%Y-%m-%d} – "
                               f"{'now' if ongoing else format(e, '%Y-%m-%d')}) while citizens wrote {len(wrote)} "
                               "messages", Hint("follow up, or close the page with a notice: {step}",
                                                "account.manage:close", account=key))
                out.append(self.finding("silent_stretch", None, summary, key, refs=wrote, at=s,
                                        start=s, end=e, days=days, citizen_messages=len(wrote), ongoing=ongoing))
        return out


def _minus(a: datetime, b: datetime, closures: list[Closure]) -> list[tuple[datetime, datetime]]:
    """The parts of [a, b) when the account was not closed."""
    parts = [(a, b)]
    for c in closures:
        nxt = []
        for s, e in parts:
            if c.end <= s or c.start >= e:
                nxt.append((s, e))
                continue
            if c.start > s:
                nxt.append((s, c.start))
            if c.end < e:
                nxt.append((c.end, e))
        parts = nxt
    return parts


# -- the report ----------------------------------------------------------------------------


def _empty_stats() -> dict[str, Any]:
    return {"messages": 0, "citizen_messages": 0, "municipal_messages": 0,
            **{o: 0 for o in OUTCOMES}, "not_judged": 0,
            "needs_reply": 0, "answered_in_time": 0, "answered_late": 0, "unanswered": 0, "reply_pending": 0,
            "median_reply_hours": None, "journal_delivered": 0, "journal_waiting": 0}


def build_report(app: App, *, from_date: date | None = None, to_date: date | None = None,
                 account: str | None = None, settings: ComplianceSettings | None = None,
                 as_of: datetime | None = None) -> ComplianceReport:
    """Check the guideline's duties for the messages written from ``from_date`` to ``to_date``
    (inclusive, UTC), as of ``as_of`` (default now): what is still outstanding (no reply, still
    up, not delivered) is measured up to then; replies, actions and deliveries count whenever
    they were recorded.
    """
    app.require("report.read")
    settings = settings or ComplianceSettings()
    org = organisation.profile(app)
    if not settings.domain:
        settings = replace(settings, domain=org.domain)
    _check_settings(settings)
    generated = now()
    as_of = utc(as_of) if as_of else generated
    if from_date and to_date and to_date < from_date:
        raise UsageError(f"--to {to_date} is before --from {from_date} — give a period that runs forward")
    period = Period.of(from_date, to_date)
    with app.db.read() as conn:
        accounts = load_accounts(conn)
        keys: set[str] | None = None
        if account:
            row = find_account(conn, account)
            key = f"{row.platform}:{row.platform_id}"
            accounts = {key: dict(row._mapping)}
            keys = {key}
        msgs = load_messages(conn, period, keys)
        closures = closure_periods(conn)
    checker = _Checker(msgs, settings, as_of, closures, period)
    reports: dict[str, AccountReport] = {}
    for key, info in sorted(accounts.items()):
        if info.get("registered") or info.get("own") or keys:
            reports[key] = AccountReport(key, info, _empty_stats())
    weekly: dict[str, dict[str, int]] = {}
    by_account: dict[str, list[Msg]] = defaultdict(list)
    for m in msgs:
        by_account[m.account].append(m)
    for key, group in by_account.items():
        if not any(m.in_period for m in group):
            continue
        if key not in reports:
            platform, _, pid = key.partition(":") if key != UNKNOWN_ACCOUNT else ("", "", "")
            info = {"platform": platform or None, "platform_id": pid or None, "name": None, "unit": None,
                    "own": False, "registered": False}
            reports[key] = AccountReport(key, info, _empty_stats())
        rep = reports[key]
        for m in group:
            if not m.in_period:
                continue
            st = rep.stats
            st["messages"] += 1
            st["municipal_messages" if m.municipal else "citizen_messages"] += 1
            if m.decision in OUTCOMES:
                st[m.decision] += 1
                week = weekly.setdefault(iso_week(m.created_at), {o: 0 for o in OUTCOMES})
                week[m.decision] += 1
            else:
                st["not_judged"] += 1
            if m.decision == "journal":
                st["journal_delivered" if m.deliveries else "journal_waiting"] += 1
            if m.municipal:
                rep.findings.extend(checker.check_own(m))
            else:
                rep.findings.extend(checker.check_citizen(m, st, rep.reply_hours))
            rep.findings.extend(checker.check_export(m))
        if key != UNKNOWN_ACCOUNT:
            rep.findings.extend(checker.silent_stretches(key, group))
    for rep in reports.values():
        rep.findings.extend(_registry_findings(rep, by_account.get(rep.key, []), as_of))
        if rep.reply_hours:
            rep.stats["median_reply_hours"] = round(statistics.median(rep.reply_hours), 1)
        order = {s: i for i, s in enumerate(SEVERITIES)}
        rep.findings.sort(key=lambda f: (order[f.severity], f.type, f.at))
    return ComplianceReport(generated, as_of, period, settings, list(reports.values()), _fill_weeks(weekly),
                            organisation=org.name)


def _fill_weeks(weekly: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Every ISO week from the first to the last, quiet weeks with zeros, so the chart's axis is time."""
    if not weekly:
        return {}
    mondays = [date.fromisocalendar(int(w[:4]), int(w[6:]), 1) for w in weekly]
    day, last = min(mondays), max(mondays)
    out: dict[str, dict[str, int]] = {}
    while day <= last:
        y, w, _ = day.isocalendar()
        key = f"{y}-W{w:02d}"
        out[key] = weekly.get(key) or {o: 0 for o in OUTCOMES}
        day += timedelta(days=7)
    return out


def _registry_findings(rep: AccountReport, msgs: list[Msg], as_of: datetime) -> list[Finding]:
    if rep.key == UNKNOWN_ACCOUNT:
        return []
    own_messages = [m for m in msgs if m.municipal and m.in_period]
    if not rep.info.get("registered"):
        if rep.info.get("own") or own_messages:
            platform, _, pid = rep.key.partition(":")
            return [Finding("account_not_registered", rep.key,
                            Note("the municipality posts here but the profile is not registered",
                                 add_hint(platform, pid, rep.info.get("name"))), as_of,
                            [MessageRef.of(m) for m in own_messages[:1]])]
        return []
    if not rep.info.get("notified_date"):
        return [Finding("radmann_not_notified", rep.key,
                        Note("no date the rådmann was notified",
                             Hint("record it with {step}", "account.manage:add-notified",
                                  platform=str(rep.info.get("platform")), id=str(rep.info.get("platform_id")))),
                        as_of)]
    return []


def _check_settings(s: ComplianceSettings) -> None:
    for name in ("reply_hours", "virus_hours", "silent_days", "export_overdue_days"):
        v = getattr(s, name)
        if v is None or v <= 0:
            raise UsageError(f"--{name.replace('_', '-')} {v} must be more than 0")
    if s.silent_min_messages < 1:
        raise UsageError(f"--silent-min-messages {s.silent_min_messages} must be at least 1")
    d = (s.domain or "").strip().lower()
    if not d or "." not in d or "/" in d or " " in d:
        raise UsageError(f"--domain {s.domain!r} is not a domain name — give e.g. ringebu.kommune.no")


# -- summary text --------------------------------------------------------------------------


def summary_lines(report: ComplianceReport, renderer: StepRenderer | None = None) -> list[str]:
    """A few lines per account; ``renderer`` shows the hints the front end's way (see errors.Hint)."""
    lines = []
    for rep in report.accounts:
        st = rep.stats
        info = rep.info
        state = []
        if info.get("unit"):
            state.append(f"unit {info['unit']}")
        if not info.get("registered"):
            state.append("NOT REGISTERED")
        elif info.get("notified_date"):
            state.append(f"rådmann notified {info['notified_date']}")
        else:
            state.append("rådmann not notified")
        if info.get("closed"):
            state.append(f"closed until {info.get('reopens_date')}")
        lines.append(f"{rep.label}: " + " · ".join(state))
        lines.append(
            f"  {st['messages']} messages ({st['citizen_messages']} from citizens): "
            f"{st['journal']} journal ({st['journal_waiting']} waiting for export), {st['archive']} archive, "
            f"{st['exclude']} exclude, {st['review']} review, {st['not_judged']} not judged")
        median = f", median reply {st['median_reply_hours']:g} h" if st["median_reply_hours"] is not None else ""
        lines.append(f"  replies: {st['answered_in_time']}/{st['needs_reply']} in time, {st['answered_late']} late, "
                     f"{st['unanswered']} unanswered{median}")
        sev = rep.severity_counts()
        if rep.findings:
            types = Counter(f.type for f in rep.findings)
            lines.append("  findings: " + ", ".join(f"{n} {s}" for s, n in sev.items() if n) + " — "
                         + ", ".join(f"{t} {n}" for t, n in sorted(types.items())))
        else:
            lines.append("  findings: none")
    if not report.accounts:
        lines.append(render_text(Note("no accounts and no messages in the period",
                                      Hint("register profiles with {step} and import conversations",
                                           "account.manage:register")), renderer))
    return lines


def compliance_summary(app: App, *, from_date: date | None = None, to_date: date | None = None,
                       account: str | None = None, settings: ComplianceSettings | None = None,
                       as_of: datetime | None = None) -> str:
    """A few lines per account: messages, outcomes, replies in time, findings by severity."""
    app.require("report.read")
    report = build_report(app, from_date=from_date, to_date=to_date, account=account, settings=settings, as_of=as_of)
    return "\n".join(summary_lines(report))
