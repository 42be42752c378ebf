"""Moderator decisions: the effective decision, flag / confirm / unflag, reasons, audit events, conflicts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ringebu_journal import audit, moderation
from ringebu_journal.db.tables import AuditEvent, ModeratorDecision
from ringebu_journal.errors import ConflictError, UsageError

from .conftest import run_cli
from .seed import HJEMMEL, add_judgment, new_version

DEC = ModeratorDecision.__table__
AUD = AuditEvent.__table__


def eff(app, mid):
    with app.db.read() as conn:
        return moderation.effective_decision(conn, mid)


def decision_events(app, mid):
    with app.db.read() as conn:
        rows = conn.execute(select(AUD).where(AUD.c.object_type == "message", AUD.c.object_id == str(mid),
                                              AUD.c.action.like("decision.%")).order_by(AUD.c.seq)).mappings()
        return [dict(r, before=json.loads(r["before"]), after=json.loads(r["after"])) for r in rows]


def test_effective_decision_follows_latest_moderator_then_judge(seeded):
    app, ids = seeded.moderator, seeded.ids
    klage = ids["klage"]
    e = eff(app, klage)
    assert (e.decision, e.source, e.decided_by, e.decision_id) == ("journal", "judge", "arkivar", None)
    assert "klage.vedtak «klager herved på vedtaket»" in e.reason

    [o] = moderation.flag(app, [str(klage)], "archive", "Klagen er allerede mottatt per brev (sak 26/123)")
    assert o.stored and o.lock_version == 1
    e = eff(app, klage)
    assert (e.decision, e.source, e.decided_by, e.kind) == ("archive", "moderator", "kari", "flag")
    assert e.reason == "Klagen er allerede mottatt per brev (sak 26/123)"
    assert e.decision_id == o.decision_id and e.lock_version == 1

    # a newer judgment does not override a moderator's decision
    with app.db.write() as conn:
        add_judgment(conn, klage, "exclude", 0.6, ["prat"])
    assert eff(app, klage).decision == "archive"

    moderation.unflag(app, [str(klage)], "Feil sak: brevet gjaldt en annen eiendom")
    e = eff(app, klage)
    assert (e.decision, e.source, e.decision_id) == ("exclude", "judge", None)   # the LATEST judgment

    # an unjudged message
    with app.db.read() as conn:
        both = moderation.effective_decisions(conn, [klage, ids["post"]])
    assert set(both) == {klage, ids["post"]} and both[klage] == e


def test_confirm_records_the_judgment_and_keeps_its_screening(seeded):
    app, ids = seeded.moderator, seeded.ids
    ppt = ids["ppt"]
    [o] = moderation.confirm(app, [f"facebook:{seeded_pid(app, ppt)}"])
    assert o.stored
    e = eff(app, ppt)
    assert (e.decision, e.screen, e.source, e.kind, e.hjemmel) == ("journal", True, "moderator", "confirm", HJEMMEL)
    with app.db.read() as conn:
        d = conn.execute(select(DEC).where(DEC.c.id == o.decision_id)).mappings().one()
        latest_j = moderation._latest_ids(conn, moderation.JUD, [ppt])[ppt]
    assert d["judgment_id"] == latest_j and d["kind"] == "confirm" and d["screen"] is True
    [ev] = decision_events(app, ppt)
    assert ev["action"] == "decision.confirm" and ev["actor"] == "kari" and ev["role"] == "moderator"
    assert ev["before"]["source"] == "judge" and ev["after"]["source"] == "moderator"
    assert ev["after"]["judgment_id"] == latest_j


def seeded_pid(app, mid):
    from ringebu_journal.db.tables import Message

    m = Message.__table__
    with app.db.read() as conn:
        return conn.execute(select(m.c.platform_message_id).where(m.c.id == mid)).scalar()


def test_flag_screen_override_and_inherit(seeded):
    app, ids = seeded.moderator, seeded.ids
    moderation.flag(app, [str(ids["ppt"])], "archive", "Ikke en sak for kommunen, men inneholder helseopplysninger")
    assert eff(app, ids["ppt"]).screen is True          # --screen not given: the judge's proposal stands
    moderation.flag(app, [str(ids["ppt"])], "archive", "Opplysningene er allerede offentlige", screen=False)
    assert eff(app, ids["ppt"]).screen is False
    moderation.flag(app, [str(ids["klage"])], "journal", "Navngir nabo med sykdom", screen=True)
    assert eff(app, ids["klage"]).screen is True


def test_every_decision_is_audited_with_before_after_and_reason(seeded):
    app, ids = seeded.moderator, seeded.ids
    mid = ids["politisk"]
    moderation.flag(app, [str(mid)], "archive", "Del av offentlig debatt på kommunens side")
    moderation.flag(app, [str(mid)], "journal", "Krever svar fra ordføreren: henvist til politisk nivå")
    moderation.unflag(app, [str(mid)], "Overlates til neste vurdering")
    evs = decision_events(app, mid)
    assert [e["action"] for e in evs] == ["decision.flag", "decision.flag", "decision.unflag"]
    assert evs[0]["before"]["decision"] == "review" and evs[0]["after"]["decision"] == "archive"
    assert evs[1]["before"]["decision"] == "archive" and evs[1]["after"]["decision"] == "journal"
    assert evs[2]["before"]["decision"] == "journal" and evs[2]["after"] == {
        **evs[2]["after"], "decision": "review", "source": "judge"}
    assert evs[1]["reason"] == "Krever svar fra ordføreren: henvist til politisk nivå"
    with app.db.read() as conn:
        assert audit.verify(conn).ok


def test_user_errors_are_one_line_and_store_nothing(seeded):
    app, ids = seeded.moderator, seeded.ids
    with pytest.raises(UsageError, match="--reason"):
        moderation.flag(app, [str(ids["klage"])], "journal", "  ")
    with pytest.raises(UsageError, match="nothing to confirm"):
        moderation.confirm(app, [str(ids["politisk"])])           # the judge said review
    with pytest.raises(UsageError, match="no moderator decision to undo"):
        moderation.unflag(app, [str(ids["klage"])], "angrer")
    with pytest.raises(UsageError, match="no facebook message with id .finnes_ikke."):
        moderation.flag(app, [str(ids["klage"]), "facebook:finnes_ikke"], "journal", "bulk med skrivefeil")
    with pytest.raises(UsageError, match="one message"):
        moderation.flag(app, [str(ids["klage"]), str(ids["ppt"])], "journal", "x", expect_version=0)
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(DEC)).scalar() == 0


def test_stale_expect_version_is_a_conflict_showing_the_other_decision(seeded):
    app, ids = seeded.moderator, seeded.ids
    mid = ids["klage"]
    moderation.flag(app, [str(mid)], "journal", "Klage på gebyrvedtak: journalføres")   # kari, lock 0 → 1
    # ola saw the queue while the lock was still 0
    from ringebu_journal.app import App, add_user

    admin = App.open(seeded.url, actor="admin")
    admin.role = "admin"
    add_user(admin, "ola", "moderator")
    ola = App.open(seeded.url, actor="ola")
    ola.role = "moderator"
    [o] = moderation.flag(ola, [str(mid)], "exclude", "Bare et utbrudd", expect_version=0)
    assert not o.stored
    line = o.conflict
    assert "\n" not in line
    for needle in (f"message {mid}", "version 0, now 1", "kari flagged it journal", "Klage på gebyrvedtak",
                   "Nothing of yours was stored", "--expect-version 1"):
        assert needle in line, line
    with pytest.raises(ConflictError) as exc:
        moderation.raise_for_conflicts([o])
    assert exc.value.exit_code == 1
    # with the version he now sees, ola's decision goes through
    [o2] = moderation.flag(ola, [str(mid)], "exclude", "Bare et utbrudd", expect_version=1)
    assert o2.stored and eff(app, mid).decided_by == "ola"
    ola.db.dispose()
    admin.db.dispose()


def test_lock_lost_between_read_and_write_is_a_conflict(seeded):
    """The race itself: a decision read lock 0, another decision stored first."""
    app, ids = seeded.moderator, seeded.ids
    mid = ids["oppsigelse"]
    targets = moderation._targets(app, [str(mid)], None, "flag")        # reads lock 0
    moderation.confirm(app, [str(mid)], reason="Oppsigelse av barnehageplass: journalføres")  # lock → 1
    [o] = moderation._decide(app, targets, "flag", decision="exclude", reason="prøver")
    assert not o.stored and "confirmed the judge's journal" in o.conflict
    assert "Oppsigelse av barnehageplass" in o.conflict
    with app.db.read() as conn:
        kinds = [r[0] for r in conn.execute(select(DEC.c.kind).where(DEC.c.message_id == mid))]
    assert kinds == ["confirm"]
    assert [e["action"] for e in decision_events(app, mid)] == ["decision.confirm"]


def test_confirm_refuses_a_judgment_the_moderator_has_not_seen(seeded):
    app, ids = seeded.moderator, seeded.ids
    mid = ids["insta"]
    targets = moderation._targets(app, [str(mid)], None, "confirm")
    with app.db.write() as conn:
        newer = add_judgment(conn, mid, "archive", 0.8, ["kritikk"])
    [o] = moderation._decide(app, targets, "confirm")
    assert not o.stored and f"new judgment ({newer}, proposes archive)" in o.conflict


def test_decisions_hold_for_all_versions_and_old_version_ids_conflict(seeded):
    app, ids = seeded.moderator, seeded.ids
    v1 = ids["insta"]
    moderation.flag(app, [str(v1)], "journal", "Klage på brøyting av privat vei")
    v2 = new_version(app, v1, "Hvorfor er veien opp til Kvitfjell ikke brøytet?? Vi har betalt!!")
    for mid in (v1, v2):
        e = eff(app, mid)
        assert (e.decision, e.source) == ("journal", "moderator")
    # a moderator who still looks at version 1's id with its lock is told the message changed
    [o] = moderation.confirm(app, [f"id:{v1}"], expect_version=0)
    assert not o.stored and "conflict" in o.conflict
    # by the current id, the new version's lock counts
    [o] = moderation.flag(app, [str(v2)], "journal", "Ny tekst, samme klage", expect_version=0)
    assert o.stored and o.message_id == v2


def test_cli_flag_confirm_unflag_bulk_and_conflict_line(seeded, tmp_path):
    app, ids = seeded.moderator, seeded.ids
    url = seeded.url
    id_file = tmp_path / "ids.txt"
    id_file.write_text(f"# fra køen mandag\n{ids['klage']}\nmessenger:m_mid.9001.3\n\n", encoding="utf-8")
    code, out, err = run_cli(url, "kari", "confirm", "--from-file", str(id_file))
    assert code == 0, err
    assert out.count("confirm stored") == 2 and "now journal" in out

    code, out, err = run_cli(url, "kari", "flag", str(ids["politisk"]), "--journal", "--reason",
                             "Spørsmål til ordføreren om gebyrvedtaket", "--no-screen")
    assert code == 0, err
    code, out, err = run_cli(url, "kari", "flag", str(ids["politisk"]), "--exclude", "--reason", "x",
                             "--expect-version", "0")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: conflict on message")
    assert "kari flagged it journal without skjerming" in lines[0] and "Traceback" not in err

    code, out, err = run_cli(url, "kari", "flag", str(ids["politisk"]), "--exclude")
    assert code == 2 and "--reason" in err
    code, out, err = run_cli(url, "kari", "flag", str(ids["politisk"]), "--reason", "x")
    assert code == 2 and "--journal, --archive or --exclude" in err
    code, out, err = run_cli(url, "kari", "unflag", str(ids["politisk"]), "--reason",
                             "Ordføreren svarer selv i tråden")
    assert code == 0 and "now review (source judge)" in out, err
    code, out, err = run_cli(url, "kari", "confirm", "--from-file", str(tmp_path / "mangler.txt"))
    assert code == 2 and "cannot read" in err


def test_a_stricter_judgment_of_a_new_version_waits_for_a_moderator(seeded):
    """An edit that adds something sensitive does not go out on the moderator's earlier decision."""
    from ringebu_journal.export.decisions import export_decisions

    app, ids = seeded.moderator, seeded.ids
    v1 = ids["klage"]
    [o] = moderation.confirm(app, [str(v1)])
    assert o.stored and eff(app, v1).screen is False
    v2 = new_version(app, v1, "Jeg klager på vedtaket. Min datter Mia går i 3. klasse og har autisme.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["klage"], screen=True)
    for mid in (v1, v2):
        e = eff(app, mid)
        assert (e.decision, e.source, e.screen) == ("review", "judge", True)
        assert "waits for a moderator" in e.reason
    with app.db.read() as conn:
        assert export_decisions(conn, [v2])[v2].decision == "review"
    # the moderator's decision on the new version counts again
    [o] = moderation.flag(app, [str(v2)], "journal", "Ny tekst med helseopplysninger", screen=True)
    assert o.stored
    e = eff(app, v2)
    assert (e.decision, e.source, e.screen) == ("journal", "moderator", True)


def test_a_new_version_judged_no_stricter_keeps_the_moderators_decision(seeded):
    app, ids = seeded.moderator, seeded.ids
    v1 = ids["klage"]
    moderation.flag(app, [str(v1)], "journal", "Klage", screen=True)
    v2 = new_version(app, v1, "Jeg klager på vedtaket, skrivefeil rettet.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "archive", 0.9, ["klage"])              # milder: the moderator's decision holds
    assert (eff(app, v2).decision, eff(app, v2).source) == ("journal", "moderator")
    # the judge re-run on the same version the moderator decided on does not reopen it
    [o] = moderation.flag(app, [str(v2)], "archive", "Bare arkiv")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["klage"], screen=True)
    assert (eff(app, v2).decision, eff(app, v2).source) == ("archive", "moderator")
