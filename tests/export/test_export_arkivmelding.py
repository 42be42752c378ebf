"""export arkivmelding: valid against the Fiks Arkiv V2 schema, never twice, an update after a
moderator's change."""

from __future__ import annotations

from sqlalchemy import select

from ringebu_journal.db.tables import Delivery
from ringebu_journal.export.arkivmelding import export_arkivmelding, validate_arkivmelding

from conftest import SECRET_NAME


def test_new_journalposts_then_nothing_then_update(world, tmp_path):
    app, w = world
    out = tmp_path / "levering"
    first = export_arkivmelding(app, out)
    assert len(first.created) == 4 and not first.updated
    for folder in first.created:
        xml = out / folder / "arkivmelding.xml"
        assert validate_arkivmelding(xml) == []
        files = [p.name for p in (out / folder).iterdir()]
        assert any(n.endswith(".pdf") for n in files) and any(n.endswith("original.json") for n in files)
    screened = [f for f in first.created if "<n5mdk:kode>13</n5mdk:kode>" in (out / f / "arkivmelding.xml").read_text()]
    assert screened and all("erSkjermet" in (out / f / "arkivmelding.xml").read_text() for f in screened)

    second = export_arkivmelding(app, out)                 # nothing new: never sent twice
    assert second.created == [] and second.updated == [] and second.unchanged == 4

    with app.db.write() as conn:                          # a moderator screens the complaint
        w.decide(conn, "skyss2", "flag", "journal", screen=True, minutes=400)
    third = export_arkivmelding(app, out)
    assert third.created == [] and len(third.updated) == 2
    for folder in third.updated:
        xml = (out / folder / "arkivmelding.xml").read_text()
        assert validate_arkivmelding(out / folder / "arkivmelding.xml") == []
        assert "Oppdatering" in xml and folder.split("-oppdatering-")[0] in xml
    with app.db.read() as conn:
        rows = conn.execute(select(Delivery.__table__).where(Delivery.__table__.c.kind == "arkivmelding")).mappings().all()
    assert len(rows) == 6
    assert len({r["system_id"] for r in rows}) == 4       # the same journalposts, updated


def test_screened_name_marked_in_arkivmelding(world, tmp_path):
    app, _ = world
    res = export_arkivmelding(app, tmp_path / "l")
    texts = [(tmp_path / "l" / f / "arkivmelding.xml").read_text() for f in res.created]
    with_name = [t for t in texts if SECRET_NAME in t]
    assert with_name and all("<erSkjermet>true</erSkjermet>" in t for t in with_name)
