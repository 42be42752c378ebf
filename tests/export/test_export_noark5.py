"""export noark5: a valid package, screening in the public journal, byte-identical re-export,
atomicity (injected failure, full disk, kill -9 of a real process) and PDF/A-2b documents."""

from __future__ import annotations

import re

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from noark.validate import validate_package
from ringebu_journal.db.tables import AuditEvent, Delivery, Export
from ringebu_journal.errors import ProblemsFound
from ringebu_journal.export import noark5 as noark5_mod
from ringebu_journal.export.noark5 import export_noark5

from conftest import HJEMMEL, SECRET_CHILD, SECRET_NAME, SECRET_TEXT
from pdfcheck import pdfa_problems

REPO = Path(__file__).resolve().parents[2]


def test_package_is_valid_and_complete(world, tmp_path):
    app, w = world
    res = export_noark5(app, tmp_path / "pakke")
    report = validate_package(res.path)
    assert report.ok, report.to_text()
    s = res.summary
    assert (s["saksmapper"], s["journalposter"], s["registreringer"]) == (2, 4, 9)
    assert s["not_exported"] == {"exclude": 1, "review": 1, "not_judged": 0}
    assert s["screened"] == 2
    assert [u["media_type"] for u in s["unsupported_attachments"]] == ["video/mp4"]
    xml = (res.path / "arkivstruktur.xml").read_text("utf-8")
    assert "Crypto King" not in xml                       # excluded: not exported
    assert "Inngående dokument" in xml and "Utgående dokument" in xml
    assert "<journalstatus>Arkivert</journalstatus>" in xml and "<saksstatus>Avsluttet</saksstatus>" in xml
    assert f"<skjermingshjemmel>{HJEMMEL}</skjermingshjemmel>" in xml
    assert "<formatDetaljer>fmt/477</formatDetaljer>" in xml and "<format>pdf</format>" in xml
    assert "<formatDetaljer>fmt/817</formatDetaljer>" in xml and "<tittel>Originaldata</tittel>" in xml
    assert "<format>jpg</format>" in xml and "<format>png</format>" in xml
    log = (res.path / "endringslogg.xml").read_text("utf-8")
    assert log.count("<endring>") >= 1
    with app.db.read() as conn:
        exports = conn.execute(select(Export.__table__)).mappings().all()
        deliveries = conn.execute(select(Delivery.__table__)).mappings().all()
        events = conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.action == "export.noark5")).mappings().all()
    assert len(exports) == 1 and exports[0]["package_id"] == res.package_id
    assert len(deliveries) == 9
    assert len(events) == 1 and events[0]["object_id"] == res.package_id
    after = json.loads(events[0]["after"])
    assert after["checksums"]["arkivstruktur.xml"] == res.summary["checksums"]["arkivstruktur.xml"]


def test_public_journal_hides_screened_text_and_names(world, tmp_path):
    app, _ = world
    res = export_noark5(app, tmp_path / "pakke")
    public = (res.path / "offentligJournal.xml").read_text("utf-8")
    for secret in (SECRET_NAME, SECRET_TEXT, SECRET_CHILD, "barnevernet", "naboen", "Nordby"):
        assert secret not in public
    # offentligTittel masks the screened words, not the whole title (M025), and says why
    assert re.search(r"<offentligTittel>[^<:]*: Jeg er bekymret: \*{6} må se til gutten til \*{6}", public)
    assert f"<skjermingshjemmel>{HJEMMEL}</skjermingshjemmel>" in public
    loepende = (res.path / "loependeJournal.xml").read_text("utf-8")
    assert SECRET_NAME in loepende                        # the internal journal is whole
    assert "Per Hansen" in public                         # not screened


def test_export_twice_is_byte_identical(world, tmp_path):
    app, _ = world
    a = export_noark5(app, tmp_path / "a")
    b = export_noark5(app, tmp_path / "b")
    assert a.package_id == b.package_id
    for name in ("arkivstruktur.xml", "endringslogg.xml", "loependeJournal.xml", "offentligJournal.xml"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name
    # arkivuttrekk.xml too, but for the audit trail's head: the first export's event came in between
    from noark.addml import read_kontekst

    heads = [read_kontekst((p / "arkivuttrekk.xml").read_bytes(), "auditTrailHead") for p in (a.path, b.path)]
    assert int(heads[1]["sequence"]) == int(heads[0]["sequence"]) + 1 and heads[0]["sha256"] != heads[1]["sha256"]
    without = [re.sub(rb"<additionalElement name=\"auditTrailHead\">.*?</additionalElement>\s*", b"",
                      (p / "arkivuttrekk.xml").read_bytes(), flags=re.S) for p in (a.path, b.path)]
    assert without[0] == without[1] and b"auditTrailHead" not in without[0]
    assert b.summary["rendered"]["cached"] == b.summary["rendered"]["documents"]
    # even without the render cache the documents come out the same
    cache = app.data_dir / "render-cache"
    cache.unlink() if cache.is_symlink() else __import__("shutil").rmtree(cache)
    c = export_noark5(app, tmp_path / "c")
    assert (a.path / "arkivstruktur.xml").read_bytes() == (c.path / "arkivstruktur.xml").read_bytes()


def test_documents_are_pdfa_2b(world, tmp_path):
    """Every archive copy: XMP pdfaid part 2 / conformance B, an OutputIntent, only embedded shipped fonts."""
    app, _ = world
    res = export_noark5(app, tmp_path / "pakke")
    pdfs = sorted((res.path / "DOKUMENT").rglob("*.pdf"))
    # one per registrering, plus the redacted variants of the screened concern and of the reply naming its author
    assert len(pdfs) == 9 + 2
    for pdf in pdfs:
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert pdfa_problems(pdf) == [], pdf.name


def test_selection_by_account_and_dates(world, tmp_path):
    app, _ = world
    with pytest.raises(Exception) as exc:
        export_noark5(app, tmp_path / "none", account="no-such-page")
    assert "nothing to export" in str(exc.value)
    assert not (tmp_path / "none").exists()


def test_injected_failure_leaves_nothing(world, tmp_path, monkeypatch):
    app, _ = world

    def broken(path):
        raise RuntimeError("validator crashed")

    monkeypatch.setattr(noark5_mod, "validate_package", broken)
    with pytest.raises(RuntimeError):
        export_noark5(app, tmp_path / "out" / "pakke")
    assert list((tmp_path / "out").iterdir()) == []                # no package, no partial folder
    with app.db.read() as conn:
        assert conn.execute(select(Export.__table__)).first() is None


def test_invalid_package_is_refused(world, tmp_path, monkeypatch):
    app, _ = world
    real = noark5_mod.validate_package

    def tamper(path):
        (Path(path) / "arkivstruktur.xml").write_bytes((Path(path) / "arkivstruktur.xml").read_bytes() + b"\n")
        return real(path)

    monkeypatch.setattr(noark5_mod, "validate_package", tamper)
    with pytest.raises(noark5_mod.InvalidPackage) as exc:
        export_noark5(app, tmp_path / "out" / "pakke")
    assert exc.value.exit_code == 1 and not exc.value.report.ok
    assert list((tmp_path / "out").iterdir()) == []


def test_full_disk_is_reported(world, tmp_path, monkeypatch):
    app, _ = world
    import noark.package

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(noark.package, "_write_file", full)
    with pytest.raises(ProblemsFound) as exc:
        export_noark5(app, tmp_path / "out" / "pakke")
    assert "disk is full" in str(exc.value)
    assert list((tmp_path / "out").iterdir()) == []


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {repo!r})
from ringebu_journal.app import App
from ringebu_journal.export import noark5
real = noark5.validate_package
def slow(path):
    print("BUILT", flush=True)
    time.sleep(60)
    return real(path)
noark5.validate_package = slow
app = App.open({url!r}, actor="archivist", data_dir={data!r})
app.role = "archivist"
noark5.export_noark5(app, {out!r})
"""


def test_kill_9_mid_export_leaves_no_package(world, tmp_path, db_url):
    app, _ = world
    out = tmp_path / "out" / "pakke"
    script = KILL_SCRIPT.format(repo=str(REPO), url=db_url, data=str(app.data_dir), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "BUILT"
        partial = [p for p in out.parent.iterdir()]
        assert partial and all(p.name.startswith(".pakke.partial-") for p in partial)
        assert (partial[0] / "arkivstruktur.xml").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()                               # nothing that looks complete
    res = export_noark5(app, out)                         # the next export cleans up and succeeds
    assert validate_package(res.path).ok
    assert sorted(p.name for p in out.parent.iterdir()) == ["pakke"]


PUBLISH_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from ringebu_journal.app import App
from ringebu_journal.export import noark5
app = App.open({url!r}, actor="archivist", data_dir={data!r})
app.role = "archivist"
noark5.export_noark5(app, {out!r}, tar={tar!r})
"""


@pytest.mark.parametrize("tar", [False, True])
@pytest.mark.parametrize("step", ["export.published:1", "export.recording:1"])
def test_kill_after_publishing_before_recording_is_reconciled(world, tmp_path, db_url, step, tar):
    """The window of issue 15 (8a): the package is in place, the database does not know it."""
    app, _ = world
    out = tmp_path / "out" / "pakke"
    final = out.with_name("pakke.tar") if tar else out
    script = PUBLISH_SCRIPT.format(repo=str(REPO), url=db_url, data=str(app.data_dir), out=str(out), tar=tar)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, RINGEBU_JOURNAL_KILL_AT=step))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert final.exists()                                   # published …
    with app.db.read() as conn:                             # … and not recorded
        assert conn.execute(select(Export.__table__.c.id)).first() is None
    assert (final.parent / f".{final.name}.publishing").exists()
    res = export_noark5(app, out, tar=tar)                  # the next export withdraws it and publishes again
    assert any("interrupted before it was recorded" in n for n in res.notes)
    assert res.path == final and final.exists()
    with app.db.read() as conn:
        rows = conn.execute(select(Export.__table__.c.package_id)).all()
    assert [r.package_id for r in rows] == [res.package_id]
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]
    if not tar:
        assert validate_package(final).ok
    with pytest.raises(Exception, match="exists already"):  # recorded now: never overwritten
        export_noark5(app, out, tar=tar)


def test_cli_export_noark5_tar(world, tmp_path):
    app, _ = world
    from ringebu_journal.cli.main import cli

    runner = CliRunner()
    out = tmp_path / "uttrekk"
    res = runner.invoke(cli, ["--db", str(app.db.engine.url.render_as_string(hide_password=False)), "--actor", "archivist",
                              "--data-dir", str(app.data_dir), "export", "noark5", "--out", str(out), "--tar",
                              "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["validation"] == "ok"
    tar = tmp_path / "uttrekk.tar"
    assert tar.is_file() and not out.exists()
    assert validate_package(tar).ok
    again = runner.invoke(cli, ["--db", str(app.db.engine.url.render_as_string(hide_password=False)), "--actor", "archivist",
                                "--data-dir", str(app.data_dir), "export", "noark5", "--out", str(out), "--tar"])
    from ringebu_journal.errors import UsageError

    assert isinstance(again.exception, UsageError) and "exists already" in str(again.exception)
    assert again.exception.exit_code == 2


def test_export_refuses_when_a_stored_attachment_is_not_in_the_data_folder(world, tmp_path, db_url):
    """Issue 15 item 3: a package without a stored attachment was published as valid."""
    from ringebu_journal.app import App
    from ringebu_journal.errors import UsageError

    app, _ = world
    other = App.open(db_url, actor="archivist", data_dir=tmp_path / "elsewhere")
    other.role = "archivist"
    out = tmp_path / "out" / "pakke"
    # SQLite: the attachment is not in that folder; PostgreSQL: the folder is not the recorded one
    with pytest.raises(UsageError, match="not in the data folder|keeps its attachments in"):
        export_noark5(other, out)
    assert not out.exists()
    with app.db.read() as conn:
        assert conn.execute(select(Export.__table__.c.id)).first() is None
    other.db.dispose()


def test_postgresql_reads_the_recorded_data_folder_from_any_directory(world, tmp_path, db_url, monkeypatch):
    from ringebu_journal.app import ENV_DATA, App

    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite file's data folder is beside the file")
    app, _ = world
    elsewhere = tmp_path / "another-folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv(ENV_DATA, raising=False)
    plain = App.open(db_url, actor="archivist")
    plain.role = "archivist"
    assert plain.data_dir == app.data_dir
    res = export_noark5(plain, tmp_path / "out" / "pakke")
    assert not res.summary["unsupported_attachments"] or all(
        u["reason"] != "bytes not stored" for u in res.summary["unsupported_attachments"])
    assert list((tmp_path / "out" / "pakke").rglob("vedlegg/*/*.jpg"))
    assert not (elsewhere / "ringebu-journal-data").exists()
    plain.db.dispose()
