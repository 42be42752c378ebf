"""`ringebu-journal demo`: the whole job once, on bundled sample conversations.

Makes a fresh SQLite database in the output folder and plays each role in turn, as the
municipality would:

1. the admin creates the database and the users (archivist, moderator, auditor);
2. the archivist registers the official profiles and imports a Graph API harvest (Facebook
   page, Messenger, Instagram) and a file of manual captures (LinkedIn);
3. the archivist judges every message on its content;
4. the moderator confirms the journal proposals, overrides one decision with a reason and
   records the guideline's actions (a virus link hidden, a complaint referred to the post
   address);
5. the archivist exports a Noark 5 arkivuttrekk (validated against the official schemas and
   the Arkade controls) and the day's arkivmeldinger;
6. the auditor verifies the audit trail; the compliance summary is printed and the HTML
   report written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Callable

from .app import App, add_user, init_database
from .errors import UsageError

MARKER = ".ringebu-journal-demo"
PAGE = "104123456789012"
IG = "17841400000000001"
LINKEDIN = "ringebu-kommune-li"
# The demo data were captured in October 2026; reports are computed as of this moment so the
# demo prints the same figures whenever it runs.
AS_OF = datetime(2026, 10, 31, 12, 0, tzinfo=timezone.utc)


@dataclass
class DemoResult:
    out: Path
    lines: list[str] = field(default_factory=list)
    package: Path | None = None
    package_ok: bool = False
    audit_ok: bool = False


def _data(name: str) -> Path:
    return Path(str(resources.files("ringebu_journal.demo_data").joinpath(name)))


def _prepare(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{out} is a file — give a folder for the demo's output")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise UsageError(f"{out} exists and is not a demo folder — give a new or empty folder with --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by the ringebu-journal demo; safe to delete\n", encoding="utf-8")


def run(out: str | Path, say: Callable[[str], None] = print) -> DemoResult:
    from .accounts import add_account
    from .export.arkivmelding import export_arkivmelding
    from .export.noark5 import export_noark5
    from .importers.run import import_facebook_dump, import_jsonl
    from .judging import judge_stored, iter_judgments
    from .moderation import confirm, flag, record_action
    from .reports.compliance import compliance_summary
    from .reports.html import write_html_report
    from .audit_query import verify_trail

    out = Path(out).absolute()
    _prepare(out)
    url = f"sqlite:///{out / 'ringebu-journal.db'}"
    # the folder every later command finds by default beside the database (App: <stem>-data),
    # so `ringebu-journal --db demo-output/ringebu-journal.db …` works on the demo's attachments
    data_dir = out / "ringebu-journal-data"
    res = DemoResult(out=out)

    def as_(actor: str) -> App:
        return App.open(url, actor=actor, data_dir=data_dir)

    admin = as_("demo-admin")
    init_database(admin)
    for name, role in (("arkiv", "archivist"), ("moderator", "moderator"), ("revisor", "auditor")):
        add_user(admin, name, role)
    say(f"1. database {out / 'ringebu-journal.db'}: users demo-admin (admin), arkiv (archivist), "
        "moderator (moderator), revisor (auditor)")

    arkiv = as_("arkiv")
    add_account(arkiv, "facebook", PAGE, name="Ringebu kommune", unit="Kommunikasjon",
                notified_date=date(2024, 2, 1))
    add_account(arkiv, "instagram", IG, name="ringebukommune", unit="Kommunikasjon",
                notified_date=date(2024, 2, 1))
    # the LinkedIn page was opened by the business unit without telling the rådmann: a finding
    add_account(arkiv, "linkedin", LINKEDIN, name="Ringebu kommune", unit="Næring og samfunn")
    s1 = import_facebook_dump(arkiv, [str(_data("facebook-harvest.jsonl"))])
    s2 = import_jsonl(arkiv, [str(_data("manual-captures.jsonl"))])
    say("2. imported: " + _import_line(s1) + "; " + _import_line(s2))

    js = judge_stored(arkiv)
    say(f"3. {js.line()}")

    mod = as_("moderator")
    judged = list(iter_judgments(mod))
    journal = [f"{j['platform']}:{j['platform_message_id']}" for j in judged if j["decision"] == "journal"]
    confirm(mod, journal, reason="Gjennomgått: saksdokument, journalføres")
    review = [f"{j['platform']}:{j['platform_message_id']}" for j in judged if j["decision"] == "review"]
    if review:
        flag(mod, review, "archive", "Vurdert av moderator: ikke gjenstand for saksbehandling")
    # the moderator overrides one decision: a citizen points out a factual error in the
    # municipality's post; the judge left it out, she keeps it with the page's public debate
    flagged = next((j for j in judged if "bålforbudet gjelder ikke" in _text_of(mod, j["message_id"])), None)
    overrides = 0
    if flagged and flagged["decision"] != "archive":
        flag(mod, [f"{flagged['platform']}:{flagged['platform_message_id']}"], "archive",
             "Påpeker en faktafeil i kommunens innlegg; arkiveres som del av debatten på siden")
        overrides = 1
    actions = 0
    for j in judged:
        ref = f"{j['platform']}:{j['platform_message_id']}"
        if "virus" in j["categories"]:
            if _status_of(mod, j["message_id"]) == "active":   # one was hidden on the page already
                record_action(mod, ref, "hidden", "Mistenkt svindellenke skjult etter retningslinjene")
                actions += 1
        elif "refer_post" in j["actions"] and j["decision"] == "journal":
            record_action(mod, ref, "referred_post", "Henvist til postmottak@ringebu.kommune.no")
            actions += 1
    say(f"4. moderator: confirmed {len(journal)} journal proposals, settled {len(review)} reviews, "
        f"overrode {overrides} decision with a reason, recorded {actions} actions")

    exp = export_noark5(arkiv, out / "arkivuttrekk", workers=2)
    res.package = exp.path
    sm = exp.summary
    res.package_ok = bool(sm.get("valid", sm.get("validation_ok", True)))
    say(f"5. Noark 5 package {exp.path} (id {exp.package_id}): " + _summary_line(sm))
    am = export_arkivmelding(arkiv, out / "arkivmelding", workers=2)
    from noark.arkivmelding_outbox import validate_outbox

    box = validate_outbox(out / "arkivmelding")
    say(f"   arkivmelding outbox {out / 'arkivmelding'}: {len(am.created)} opprett, {len(am.updated)} oppdater, "
        f"{am.unchanged} already delivered; "
        + ("valid (Fiks Arkiv V2 XSDs, SHA-256, lifecycle)" if box.ok else f"{len(box.problems)} problems"))

    from noark.validate import validate_package

    report = validate_package(exp.path)
    res.package_ok = report.ok and box.ok
    say(f"   validation (official XSDs + Arkade controls): "
        f"{'0 errors' if report.ok else str(len(report.findings)) + ' problems'}")

    revisor = as_("revisor")
    summary = compliance_summary(revisor, as_of=AS_OF)
    html = write_html_report(revisor, out / "compliance.html", as_of=AS_OF)
    say("6. compliance (as of 2026-10-31):")
    for ln in summary.splitlines():
        say("   " + ln)
    say(f"   HTML report: {html}")
    v = verify_trail(revisor)
    res.audit_ok = v.ok
    say(f"   {v.line()}")
    for a in (admin, arkiv, mod, revisor):
        a.db.dispose()
    return res


def _status_of(app: App, message_id: int) -> str:
    from sqlalchemy import select

    from .db.tables import Message

    with app.db.read() as conn:
        return conn.execute(select(Message.__table__.c.status).where(Message.__table__.c.id == message_id)).scalar()


def _text_of(app: App, message_id: int) -> str:
    from sqlalchemy import select

    from .db.tables import Message

    with app.db.read() as conn:
        return conn.execute(select(Message.__table__.c.text).where(Message.__table__.c.id == message_id)).scalar() or ""


def _import_line(s) -> str:
    plats = s.counts.get("platforms", {})
    parts = [f"{p} {v.get('new', 0)}" for p, v in sorted(plats.items())]
    return f"{', '.join(parts)} new messages ({s.rejected} rejected)"


def _summary_line(sm: dict) -> str:
    keys = [k for k in ("saksmapper", "journalposter", "registreringer", "documents", "screened") if k in sm]
    if keys:
        return ", ".join(f"{sm[k]} {k}" for k in keys)
    return ", ".join(f"{k} {v}" for k, v in list(sm.items())[:6])
