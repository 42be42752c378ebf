"""The organisation profile (ringebu_journal/organisation.py): Ringebu kommune's values until an
admin changes them; checked, audited; and every place that names the organisation reads it —
the package's arkivskaper, the mapper's administrativ enhet, the archive copies' heading, the
default hjemmel, the days numbers are dated in, the judge's own domain, the compliance report."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlalchemy import select

from ringebu_journal import organisation
from ringebu_journal.audit_query import AuditFilter, query
from ringebu_journal.db.tables import JournalNumber
from ringebu_journal.errors import UsageError
from ringebu_journal.export.decisions import export_decisions
from ringebu_journal.export.documents import plan_documents
from ringebu_journal.export.mapping import Selection, build_plan
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.judging import make_judge
from ringebu_journal.registry import local_day
from ringebu_journal.reports.compliance import build_report
from ringebu_journal.reports.html import render_html

from conftest import T0, build_world

N5 = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"
TESTVIK = {"name": "Testvik kommune", "kommunenummer": "3401", "organisasjonsnummer": "974 760 673",
           "own_domains": "testvik.kommune.no, www.testvik.no",
           "default_hjemmel": "Offl. § 13 jf. fvl. § 13 første ledd nr. 2", "time_zone": "Pacific/Kiritimati"}


def _profile_changes(app) -> list[dict]:
    """The profile's setting.change events (init on PostgreSQL records the data folder too)."""
    return [e for e in query(app, AuditFilter(action="setting.change")) if e["object_id"].startswith("organisation.")]


def test_a_new_database_has_ringebu_kommunes_profile(make_app):
    app = make_app("moderator")
    prof = organisation.profile(app)
    assert prof == organisation.DEFAULTS
    assert (prof.name, prof.kommunenummer, prof.organisasjonsnummer) == ("Ringebu kommune", "3439", "")
    assert prof.own_domains == ("ringebu.kommune.no",) and prof.time_zone == "Europe/Oslo"
    assert prof.default_hjemmel == "Offl. § 13 jf. fvl. § 13 første ledd nr. 1"


@pytest.mark.parametrize("key,value,needle", [
    ("kommunenummer", "343", "not four digits"),
    ("kommunenummer", "34391", "not four digits"),
    ("organisasjonsnummer", "961381186", "wrong check digit"),
    ("organisasjonsnummer", "96138118", "not nine digits"),
    ("time_zone", "Europe/Ringebu", "not a time zone"),
    ("time_zone", "../../etc/passwd", "not a time zone"),
    ("own_domains", "ringebu kommune", "not a domain name"),
    ("name", "  ", "1 to 200 characters"),
    ("colour", "red", "unknown organisation key"),
])
def test_a_bad_value_is_one_line_and_changes_nothing(make_app, key, value, needle):
    admin = make_app("admin")
    with pytest.raises(UsageError, match=needle) as err:
        organisation.set_value(admin, key, value)
    assert "\n" not in str(err.value)
    assert organisation.profile(admin) == organisation.DEFAULTS
    assert not _profile_changes(admin)


def test_a_change_is_stored_normalised_and_audited_once(make_app):
    admin = make_app("admin")
    change = organisation.set_value(admin, "organisasjonsnummer", "974 760 673")
    assert (change.before, change.after, change.changed) == ("", "974760673", True)
    again = organisation.set_value(admin, "organisasjonsnummer", "974760673")
    assert not again.changed
    organisation.set_value(admin, "own_domains", "Testvik.Kommune.no., www.testvik.no, testvik.kommune.no")
    prof = organisation.profile(admin)
    assert prof.organisasjonsnummer == "974760673"
    assert prof.own_domains == ("testvik.kommune.no", "www.testvik.no")
    events = _profile_changes(admin)
    assert [(e["object_id"], json.loads(e["before"])["value"], json.loads(e["after"])["value"]) for e in events] == [
        ("organisation.organisasjonsnummer", "", "974760673"),
        ("organisation.own_domains", "ringebu.kommune.no", "testvik.kommune.no,www.testvik.no"),
    ]


def test_every_place_that_names_the_organisation_reads_the_profile(make_app, tmp_path):
    admin = make_app("admin")
    for key, value in TESTVIK.items():
        organisation.set_value(admin, key, value)
    app = make_app("archivist")
    w = build_world(app)               # numbered after the change: in the profile's time zone
    with app.db.write() as conn:       # a screening that names no hjemmel
        w.message(conn, "nohj", thread="nohj", kind="comment", minutes=120, author="Eva Li", parent="nohj",
                  text="Jeg søker om støtte til tannregulering for sønnen min.")
        w.judge(conn, "nohj", "journal", ["soknad"], screen=True, hjemmel="")
    zone = ZoneInfo("Pacific/Kiritimati")

    with app.db.read() as conn:
        plan = build_plan(conn, Selection())
        rows = conn.execute(select(JournalNumber.__table__)).mappings().all()
        decided = export_decisions(conn, [w.ids["nohj"]])[w.ids["nohj"]]
    assert plan.organisation.name == "Testvik kommune"
    assert decided.screen and decided.hjemmel == "Offl. § 13 jf. fvl. § 13 første ledd nr. 2"
    # journaldato is the Kiritimati day of the decision (UTC+14: the next day for every decision here)
    assert rows and all(r["journaldato"] == local_day(r["assigned_at"], zone) for r in rows)
    assert all(r["journaldato"] > (T0 + timedelta(hours=1)).date() for r in rows)
    archived = [m for m in plan.mapper if m.kind == "mappe"]
    assert archived and all(m.administrativ_enhet == "Testvik kommune" for m in archived)
    heads = {json.loads(j.data)["sub"] for j in plan_documents(plan, app.data_dir)}
    assert heads == {"Testvik kommune · arkivkopi laget av ringebu-journal fra innhentede data"}

    assert make_judge(app).own_domain == "testvik.kommune.no"
    report = build_report(app)
    assert report.settings.domain == "testvik.kommune.no"
    assert "<h1>Testvik kommune — social media compliance</h1>" in render_html(report)

    res = export_noark5(app, tmp_path / "uttrekk")
    tree = etree.parse(str(tmp_path / "uttrekk" / "arkivstruktur.xml"))
    skaper = tree.find(f".//{N5}arkivskaper")
    assert skaper.findtext(f"{N5}arkivskaperID") == "3401"
    assert skaper.findtext(f"{N5}arkivskaperNavn") == "Testvik kommune"
    assert tree.getroot().findtext(f"{N5}tittel") == "Testvik kommune – sosiale medier"
    assert res.package_id
