"""The registry of numbers and the dates a person reads, end to end on SQLite and PostgreSQL.

Numbers and dates are given once, in the transaction that makes a message journal, and every
export — full or incremental, before or after a moderator's change — shows the same ones.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import MetaData, Table, select

from noark.validate import validate_package
from ringebu_journal import organisation
from ringebu_journal.app import App
from ringebu_journal.db import migrate
from ringebu_journal.db.engine import Database
from ringebu_journal.db.tables import JournalNumber, Message
from ringebu_journal.errors import UsageError
from ringebu_journal.export.mapping import record_system_id
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.moderation import flag, record_action

from conftest import JUD, PAGE, T0, World

N = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"
E = "{http://www.arkivverket.no/standarder/noark5/endringslogg}"
NUMBERS = JournalNumber.__table__
MSG = Message.__table__


def _journalposts(pkg: Path) -> dict[str, dict[str, str]]:
    root = etree.parse(str(pkg / "arkivstruktur.xml")).getroot()
    out = {}
    for reg in root.iter(N + "registrering"):
        if not reg.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "journalpost":
            continue
        fields = ("journalaar", "journalsekvensnummer", "journalpostnummer", "journaldato", "arkivertDato",
                  "opprettetDato", "dokumentetsDato", "journalstatus")
        out[reg.findtext(N + "systemID")] = {f: reg.findtext(N + f) for f in fields}
    return out


def _saksmapper(pkg: Path) -> dict[str, dict[str, str]]:
    root = etree.parse(str(pkg / "arkivstruktur.xml")).getroot()
    out = {}
    for m in root.iter(N + "mappe"):
        if m.findtext(N + "saksaar") is None:
            continue
        fields = ("mappeID", "saksaar", "sakssekvensnummer", "saksdato", "opprettetDato", "avsluttetDato",
                  "saksansvarlig")
        out[m.findtext(N + "systemID")] = {f: m.findtext(N + f) for f in fields}
    return out


def _sid(name: str) -> str:
    return record_system_id("facebook", f"{PAGE}_{name}")


def test_numbers_and_dates_survive_a_moderator_change(world, make_app, tmp_path):
    app, w = world
    full1 = export_noark5(app, tmp_path / "full1").path
    part1 = export_noark5(app, tmp_path / "part1", date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)).path
    jp1, sm1 = _journalposts(full1), _saksmapper(full1)
    assert jp1 and sm1 and _journalposts(part1) == jp1 and _saksmapper(part1) == sm1
    assert jp1[_sid("skyss3")]["journalstatus"] == "Arkivert"

    mod = make_app("moderator", "Mona Moderator")
    flag(mod, [f"id:{w.ids['skyss3']}"], "exclude", "Svaret er ikke et saksdokument")     # journal → reversed
    flag(mod, [f"id:{w.ids['fest2']}"], "exclude", "Uten betydning")                       # archive → out
    flag(mod, [f"id:{w.ids['dm1']}"], "journal", "Et spørsmål som skal besvares")          # archive → journal
    full2 = export_noark5(app, tmp_path / "full2").path
    part2 = export_noark5(app, tmp_path / "part2", date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)).path
    assert validate_package(full2).ok and validate_package(part2).ok
    jp2, sm2 = _journalposts(full2), _saksmapper(full2)
    assert _journalposts(part2) == jp2 and _saksmapper(part2) == sm2

    # every journalpost and saksmappe of the first export: the same numbers and dates
    for sid, before in jp1.items():
        after = jp2[sid]
        assert {k: v for k, v in after.items() if k != "journalstatus"} == \
               {k: v for k, v in before.items() if k != "journalstatus"}, sid
    assert all(sm2[sid] == before for sid, before in sm1.items())
    # the reversed one keeps its number and utgår; the new one takes the next number of its year
    assert jp2[_sid("skyss3")]["journalstatus"] == "Utgår"
    assert all(jp2[s]["journalstatus"] == "Arkivert" for s in jp1 if s != _sid("skyss3"))
    dm1 = record_system_id("messenger", f"{PAGE}_dm1")
    assert dm1 not in jp1
    today = datetime.now(timezone.utc).astimezone(organisation.DEFAULTS.zone).date()
    assert int(jp2[dm1]["journalsekvensnummer"]) == 1 + max(
        int(v["journalsekvensnummer"]) for v in jp1.values() if v["journalaar"] == str(today.year)) \
        if any(v["journalaar"] == str(today.year) for v in jp1.values()) else jp2[dm1]["journalsekvensnummer"] == "1"
    assert jp2[dm1]["journaldato"] == today.isoformat()

    # endringslogg names the element, who changed it, before and after
    log = etree.parse(str(full2 / "endringslogg.xml")).getroot()
    changes = [{c.tag[len(E):]: c.text for c in e} for e in log.iter(E + "endring")]
    assert {c["referanseMetadata"] for c in changes} <= {"journalstatus", "skjerming"}
    reversal = [c for c in changes if c["referanseArkivenhet"] == _sid("skyss3") and c["nyVerdi"] == "Utgår"]
    assert len(reversal) == 1 and reversal[0]["tidligereVerdi"] == "Arkivert"
    assert reversal[0]["endretAv"] == "Mona Moderator"
    by_judge = [c for c in changes if c["referanseArkivenhet"] == _sid("skyss2")]
    assert by_judge and by_judge[0]["endretAv"].startswith("Dommeren, regelsett test") and \
        by_judge[0]["tidligereVerdi"] == "NULL" and by_judge[0]["nyVerdi"] == "Arkivert"
    assert not any(c["referanseArkivenhet"] == record_system_id("facebook", f"{PAGE}_fest2") for c in changes)
    # the excluded journalpost keeps its metadata but carries no documents
    root = etree.parse(str(full2 / "arkivstruktur.xml")).getroot()
    reg = next(r for r in root.iter(N + "registrering") if r.findtext(N + "systemID") == _sid("skyss3"))
    assert reg.find(N + "dokumentbeskrivelse") is None and "utgår" in reg.findtext(f"{N}merknad/{N}merknadstekst")


def test_numbers_are_given_once_and_never_shared(make_app):
    """Two moderators journalføring at the same time, each in their own connection: every
    journalpost gets its own number, consecutive, and a second decision never renumbers."""
    app = make_app("archivist")
    w = World(app)
    with app.db.write() as conn:
        for i in range(12):
            w.message(conn, f"m{i}", thread=f"t{i}", kind="comment", text=f"Jeg søker om plass nummer {i} i barnehagen",
                      minutes=i, author=f"Innbygger {i}")
            w.judge(conn, f"m{i}", "archive", ["soknad"])
    mods = [make_app("moderator", "Mona"), make_app("moderator", "Mats")]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(k, 12, 2):
                flag(mods[k], [f"id:{w.ids[f'm{i}']}"], "journal", "Søknad")
        except BaseException as exc:   # reported below: a lost number or a deadlock must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with app.db.read() as conn:
        rows = conn.execute(select(NUMBERS)).mappings().all()
    assert sorted(r["journalsekvensnummer"] for r in rows) == list(range(1, 13))
    assert all(r["journalpostnummer"] == 1 for r in rows)
    before = sorted((r["platform_message_id"], r["journalsekvensnummer"], r["journaldato"]) for r in rows)
    flag(mods[0], [f"id:{w.ids['m3']}"], "archive", "Likevel ikke")
    flag(mods[0], [f"id:{w.ids['m3']}"], "journal", "Likevel")
    with app.db.read() as conn:
        after = sorted((r["platform_message_id"], r["journalsekvensnummer"], r["journaldato"])
                       for r in conn.execute(select(NUMBERS)).mappings())
    assert after == before


# judgments as the 0001 schema has them (later migrations add columns, e.g. model_hash)
JUD_0001 = Table("judgments", MetaData(), *[c._copy() for c in JUD.columns if c.name != "model_hash"])


def _db_at_0001(url: str) -> Database:
    db = Database(url)
    with db.write() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    return db


def test_migration_numbers_existing_journal_messages_deterministically(db_url, tmp_path):
    db = _db_at_0001(db_url)
    app = App(db=db, actor="arkivar", data_dir_given=(tmp_path / "data").absolute(), role="archivist")
    w = World(app)
    with db.write() as conn:
        for name, minutes, decided in (("a", 0, 500), ("b", 5, 100), ("c", 10, 300), ("d", 15, 200)):
            w.message(conn, name, thread="samme" if name in ("a", "b") else name, kind="comment",
                      text=f"Klage nummer {name} på vedtaket", minutes=minutes, author="Per")
            conn.execute(JUD_0001.insert().values(
                message_id=w.ids[name], decision="journal" if name != "d" else "archive", confidence=0.9,
                categories=["klage"], actions=[], screening={}, reasons=[], policy_version="gammel",
                policy_hash="0" * 64, context_hash="", judged_at=T0 + timedelta(minutes=decided), actor="arkivar"))
    migrate.upgrade(db)
    with db.read() as conn:
        rows = {r["platform_message_id"].split("_")[-1]: r for r in conn.execute(select(NUMBERS)).mappings()}
    # by decision time: b (100), c (300), a (500); d is not journal
    assert [rows[k]["journalsekvensnummer"] for k in ("b", "c", "a")] == [1, 2, 3]
    assert "d" not in rows
    assert rows["a"]["case_id"] == rows["b"]["case_id"] and rows["a"]["journalpostnummer"] == 2
    assert rows["b"]["journaldato"] == date(2026, 3, 2)
    db.dispose()


def test_dates_are_oslo_days(world, make_app, tmp_path):
    app, w = world
    late = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)      # 00:30 on 2 March in Ringebu
    with app.db.write() as conn:
        minutes = int((late - T0).total_seconds() // 60)
        w.message(conn, "natt", thread="natt", kind="comment", minutes=minutes, author="Nattugle",
                  text="Jeg klager på at gatelyset i Ringebu sentrum har vært slukket i en uke")
        w.judge(conn, "natt", "journal", ["klage"], minutes=minutes + 5)    # 23:35 UTC → journaldato 2 March
    only = export_noark5(app, tmp_path / "dag", date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)).path
    jp = _journalposts(only)[_sid("natt")]
    assert jp["dokumentetsDato"] == "2026-03-02" and jp["journaldato"] == "2026-03-02"
    assert jp["opprettetDato"].endswith("Z")            # timestamps stay UTC
    xml = (only / "arkivstruktur.xml").read_text(encoding="utf-8")
    assert "Facebook-kommentar 2026-03-02" in xml and "Facebook-kommentar 2026-03-01" not in xml
    with pytest.raises(UsageError, match="nothing to export"):      # 1 March (UTC) holds nothing in Oslo time
        export_noark5(app, tmp_path / "dagen-foer", date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))
    # the arkivdel period holds every journaldato and saksdato; ADDML says the same period
    full = export_noark5(app, tmp_path / "alt").path
    root = etree.parse(str(full / "arkivstruktur.xml")).getroot()
    start = root.findtext(f".//{N}arkivperiodeStartDato")
    end = root.findtext(f".//{N}arkivperiodeSluttDato")
    for v in _journalposts(full).values():
        assert start <= v["journaldato"] <= end
    for v in _saksmapper(full).values():
        assert start <= v["saksdato"] <= end
    addml = (full / "arkivuttrekk.xml").read_text(encoding="utf-8")
    assert start in addml and end in addml


def test_original_data_is_json_with_a_konvertering(world, tmp_path):
    app, w = world
    pkg = export_noark5(app, tmp_path / "pakke").path
    root = etree.parse(str(pkg / "arkivstruktur.xml")).getroot()
    objs = list(root.iter(N + "dokumentobjekt"))
    originals = [o for o in objs if o.findtext(N + "formatDetaljer") == "fmt/817"]
    pdfs = [o for o in objs if o.findtext(N + "formatDetaljer") == "fmt/477"
            and o.findtext(N + "variantformat") == "Arkivformat"]     # not the redacted variants
    assert originals and len(originals) == len(pdfs)
    for o in originals:
        ref = o.findtext(N + "referanseDokumentfil")
        assert ref.endswith(".json") and o.findtext(N + "format") == "json"
        json.loads((pkg / ref).read_text(encoding="utf-8"))
    for o in pdfs:
        k = o.find(N + "konvertering")
        assert k is not None
        assert k.findtext(N + "konvertertFraFormat") == "fmt/817" and k.findtext(N + "konvertertTilFormat") == "fmt/477"
        assert k.findtext(N + "konverteringsverktoey").startswith("Typst ")
        assert k.findtext(N + "konvertertDato")
    report = validate_package(pkg)
    assert report.ok and report.analyses["N5.46 antall konverterte dokumenter"].startswith(f"{len(pdfs)} ")


def test_avskrivning_from_recorded_actions(world, make_app, tmp_path):
    app, w = world
    mod = make_app("moderator", "Mona Moderator")
    record_action(mod, f"id:{w.ids['skyss3']}", "referred_post", "Henvist til postmottak")
    pkg = export_noark5(app, tmp_path / "pakke").path
    root = etree.parse(str(pkg / "arkivstruktur.xml")).getroot()
    regs = {r.findtext(N + "systemID"): r for r in root.iter(N + "registrering")}
    av = regs[_sid("skyss2")].find(N + "avskrivning")
    assert av is not None
    today = datetime.now(timezone.utc).astimezone(organisation.DEFAULTS.zone).date().isoformat()
    assert av.findtext(N + "avskrivningsmaate") == "Tatt til etterretning"
    assert av.findtext(N + "avskrivningsdato") == today and av.findtext(N + "avskrevetAv") == "Mona Moderator"
    assert av.findtext(N + "referanseAvskrivesAvJournalpost") == _sid("skyss3")
    assert regs[_sid("skyss3")].find(N + "avskrivning") is None          # outgoing: nothing to avskrive
    result = CliRunner().invoke(__import__("ringebu_journal.cli.main", fromlist=["cli"]).cli, ["validate", str(pkg)])
    assert result.exit_code == 0, result.output
    for control in ("N5.27", "N5.35", "N5.40 antall avskrivninger: 1", "N5.46", "N5.60"):
        assert control in result.output


def test_parties_and_public_posts(world, make_app, tmp_path):
    app, w = world
    mod = make_app("moderator", "Mona Moderator")
    flag(mod, [f"id:{w.ids['skyss1']}"], "journal", "Kunngjøringen hører til saken")
    pkg = export_noark5(app, tmp_path / "pakke").path
    root = etree.parse(str(pkg / "arkivstruktur.xml")).getroot()
    regs = {r.findtext(N + "systemID"): r for r in root.iter(N + "registrering")}
    post = regs[_sid("skyss1")]
    types = [k.findtext(N + "korrespondanseparttype") for k in post.iter(N + "korrespondansepart")]
    assert types == ["Intern avsender"] and post.findtext(f"{N}korrespondansepart/{N}korrespondansepartNavn") == "Servicetorget"
    citizen = regs[_sid("skyss2")]
    assert citizen.findtext(f"{N}korrespondansepart/{N}korrespondansepartNavn") == "Per Hansen"
    vsm = citizen.find(N + "virksomhetsspesifikkeMetadata")
    rj = "{https://ringebu.kommune.no/ringebu-journal/noark5/virksomhetsspesifikke/1}"
    assert vsm.findtext(f"{rj}korrespondansepart/{rj}plattform") == "facebook"
    assert vsm.findtext(f"{rj}korrespondansepart/{rj}brukerID") == "u-Per Hansen"
    assert validate_package(pkg).ok


def test_journal_decision_stored_around_the_registry_is_numbered_once(world, tmp_path):
    """A judgment written straight into the table (another tool) gets its number at the next export,
    by its decision time, and keeps it."""
    app, w = world
    with app.db.write() as conn:
        conn.execute(JUD.insert().values(
            message_id=w.ids["dm1"], decision="journal", confidence=0.9, categories=["tjenestesporsmal"], actions=[],
            screening={}, reasons=[], policy_version="annet", policy_hash="1" * 64, context_hash="",
            judged_at=T0 + timedelta(minutes=400), actor="annet verktøy"))
    first = _journalposts(export_noark5(app, tmp_path / "en").path)
    dm1 = record_system_id("messenger", f"{PAGE}_dm1")
    assert first[dm1]["journaldato"] == "2026-03-02" and first[dm1]["journalstatus"] == "Arkivert"
    assert _journalposts(export_noark5(app, tmp_path / "to").path) == first
