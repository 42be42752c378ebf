"""Any text, author name or URL goes through import, judge, export and validate.

Property: a message whose text, author name and permalink are arbitrary Unicode — NUL and the
other characters XML 1.0 forbids, lone surrogates, U+FFFE/U+FFFF, right-to-left marks and
overrides, combining marks, astral characters — is either imported (and then judged, decided by
a moderator so that it is exported for certain, written into a Noark 5 package that passes the
XSDs and every Arkade control, with every XML file well-formed under a strict parser) or refused
with a rejection that names file, place and reason. Nothing raises anything but a
``RingebuError``. Generic JSON Lines and Graph API dumps are both driven, on SQLite; one fixed
example of the nastiest values runs on PostgreSQL and one with the real PDF/A renderer.

The property examples use ``pipeline.fast_render`` (the archive copies are a fixed small PDF):
the XML files are written and validated as in production.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from imp_helpers import PAGE, dump_line
from noark.validate import validate_package
from pipeline import dispose, fast_render, fresh, xml_files_well_formed
from ringebu_journal.errors import RingebuError
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.importers.run import import_facebook_dump, import_jsonl
from ringebu_journal.judging import judge_stored
from ringebu_journal.moderation import flag

NASTY = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\ud800", "\udfff", "\udbff\udc00",
         "\ufffe", "\uffff", "\ufeff", "\u200e", "\u200f", "\u202a", "\u202b", "\u202e", "\u2066", "\u2069",
         "\u0301", "\u0338", "\U0001F600", "\U0010FFFF", "<", "&", "]]>", "\r", "\n", "\t", "æøå", "ﬀ", "İ"]

nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.characters(blacklist_categories=())),
                      max_size=60).map("".join)

PROPERTY = settings(max_examples=int(os.environ.get("RJ_PROPERTY_EXAMPLES", "25")), deadline=None,
                    derandomize=True, database=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

CASE = "Jeg klager på vedtaket om skoleskyss. "


def _jsonl_line(text: str, author: str, url: str, n: int = 1) -> bytes:
    rec = {"platform": "facebook", "kind": "comment", "id": f"c{n}", "post_id": "p1", "parent_id": "p1",
           "account_id": PAGE, "author": {"id": f"a{n}", "name": author}, "text": text,
           "created_at": "2024-05-02T08:15:30Z", "captured_at": "2024-05-03T08:00:00Z", "permalink": url}
    return json.dumps(rec).encode("ascii") + b"\n"


def _dump_line(text: str, author: str, url: str) -> bytes:
    body = {"data": [{
        "id": f"{PAGE}_1", "message": "Innlegg om skoleskyss", "created_time": "2024-05-02T08:15:30+0000",
        "from": {"name": "Ringebu kommune", "id": PAGE},
        "comments": {"data": [{"id": "1_11", "message": text, "created_time": "2024-05-02T08:40:02+0000",
                               "from": {"name": author, "id": "611"}, "permalink_url": url}]}}]}
    return dump_line(body, f"https://graph.facebook.com/v25.0/{PAGE}/feed", ascii=True).encode("ascii") + b"\n"


def run_through(url: str, work: Path, kind: str, line: bytes) -> dict:
    """Import one input, judge, flag everything to journal, export, validate. Returns what happened."""
    apps = fresh(url, work / "data")
    try:
        arkiv, mod = apps["arkiv"], apps["moderator"]
        f = work / "in.jsonl"
        f.write_bytes(line)
        importer = import_jsonl if kind == "jsonl" else import_facebook_dump
        summary = importer(arkiv, [str(f)])
        rejections = summary.counts.get("rejections", [])
        for r in rejections:
            # the file is named (a dump's store-layer rejections name the request URL as "file"
            # and the dump file in "place"), the place is given, the reason is one line
            assert "in.jsonl" in r["file"] + " " + r["place"] and r["place"] and r["reason"], r
            assert "\n" not in r["reason"] and "Traceback" not in r["reason"], r
        judged = judge_stored(arkiv)
        refs = _refs(arkiv)
        if refs:
            flag(mod, refs, "journal", "journalføres (egenskapstest)")
        try:
            with fast_render():
                res = export_noark5(arkiv, work / "pakke", workers=1)
        except RingebuError as exc:
            assert not refs, f"{len(refs)} journal message(s) but the export refused: {exc}"
            assert "\n" not in str(exc)
            return {"imported": 0, "rejections": rejections}
        assert not xml_files_well_formed(res.path), xml_files_well_formed(res.path)
        report = validate_package(res.path)
        assert report.ok, report.to_text()
        return {"imported": len(refs), "rejections": rejections, "judged": judged.judged, "package": res.path}
    finally:
        dispose(apps)


def _refs(app) -> list[str]:
    from sqlalchemy import select

    from ringebu_journal.db.tables import Message

    m = Message.__table__
    with app.db.read() as conn:
        rows = conn.execute(select(m.c.platform, m.c.platform_message_id).where(m.c.is_current.is_(True))).all()
    return [f"{p}:{i}" for p, i in rows]


@PROPERTY
@given(text=nasty_text, author=nasty_text, url=nasty_text)
def test_any_text_author_url_through_generic_jsonl(text, author, url):
    with tempfile.TemporaryDirectory() as d:
        out = run_through(f"sqlite:///{d}/j.db", Path(d), "jsonl", _jsonl_line(CASE + text, author, url))
        assert out["imported"] == 1 or out["rejections"]


@PROPERTY
@given(text=nasty_text, author=nasty_text, url=nasty_text)
def test_any_text_author_url_through_graph_dump(text, author, url):
    with tempfile.TemporaryDirectory() as d:
        out = run_through(f"sqlite:///{d}/g.db", Path(d), "dump", _dump_line(text, author, url))
        assert out["imported"] >= 1          # the post always; the comment or a rejection naming it


FIXED = CASE + "".join(NASTY) + " \u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0633\u0644\u0627\u0645"


@pytest.mark.parametrize("kind", ["jsonl", "dump"])
def test_nastiest_values_on_postgresql(pg_url, tmp_path, kind):
    """Text and author name are cleaned and kept; a URL with forbidden characters may be refused."""
    make = _jsonl_line if kind == "jsonl" else _dump_line
    out = run_through(pg_url, tmp_path, kind, make(FIXED, "".join(NASTY) + "Kari", "https://x.no/\u200f\u202e"))
    assert out["imported"] >= (1 if kind == "jsonl" else 2), out



def test_nastiest_values_with_the_real_pdfa_renderer(tmp_path):
    apps = fresh(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "data")
    try:
        arkiv, mod = apps["arkiv"], apps["moderator"]
        f = tmp_path / "in.jsonl"
        f.write_bytes(_jsonl_line(FIXED, "\u202eKari\u0000 Nordby", "https://x.no/\u200f?a=b"))
        assert import_jsonl(arkiv, [str(f)]).rejected == 0
        judge_stored(arkiv)
        flag(mod, _refs(arkiv), "journal", "journalføres")
        res = export_noark5(arkiv, tmp_path / "pakke", workers=1)
        assert validate_package(res.path).ok and not xml_files_well_formed(res.path)
        pdfs = list((res.path / "DOKUMENT").rglob("*.pdf"))
        assert pdfs and all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    finally:
        dispose(apps)


MEGA = 1_000_000


@pytest.mark.parametrize("field", ["text", "author", "url"])
def test_one_megabyte_strings(tmp_path, field):
    """1,000,000 characters (the text limit) in each field: exported and valid, or refused clearly."""
    big = (CASE + "ø\u200f\u0000" * MEGA)[:MEGA]
    args = {"text": CASE, "author": "Kari", "url": "https://x.no/"}
    args[field] = big
    out = run_through(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, "jsonl", _jsonl_line(**args))
    assert out["imported"] == 1 or out["rejections"]


def test_text_over_the_limit_is_refused_with_its_place(tmp_path):
    out = run_through(f"sqlite:///{tmp_path / 'o.db'}", tmp_path, "jsonl", _jsonl_line("x" * (MEGA + 1), "Kari", ""))
    assert out["imported"] == 0
    (r,) = out["rejections"]
    assert r["place"] == "line 1" and "1,000,000" in r["reason"]
