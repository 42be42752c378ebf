"""The HTML report: one self-contained file whose numbers match the database."""

from __future__ import annotations

from collections import Counter

import lxml.html
import pytest
from sqlalchemy import select

from ringebu_journal import moderation
from ringebu_journal.db.tables import Delivery, Message
from ringebu_journal.reports import compliance_summary, write_html_report
from ringebu_journal.reports.compliance import iso_week

from .conftest import run_cli
from .scenario import KULTUR, MAIN

MSG = Message.__table__
DEL = Delivery.__table__
OUTCOMES = ("journal", "archive", "exclude", "review")


@pytest.fixture(scope="module")
def page(world, tmp_path_factory):
    path = write_html_report(world.app, tmp_path_factory.mktemp("html") / "compliance.html")
    raw = path.read_text(encoding="utf-8")
    return raw, lxml.html.fromstring(raw)


@pytest.fixture(scope="module")
def expected(world):
    """The numbers, counted straight from the tables (effective decision from moderation)."""
    with world.app.db.read() as conn:
        rows = conn.execute(select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.account_platform_id,
                                   MSG.c.created_at).where(MSG.c.is_current.is_(True))).all()
        eff = moderation.effective_decisions(conn, [r.id for r in rows])
        delivered = {r.platform_message_id for r in conn.execute(
            select(MSG.c.platform_message_id).select_from(DEL.join(MSG, MSG.c.id == DEL.c.message_id)))}
    per_account: dict[str, Counter] = {}
    weekly: Counter = Counter()
    for r in rows:
        key = f"{'facebook' if r.platform == 'messenger' else r.platform}:{r.account_platform_id}"
        c = per_account.setdefault(key, Counter())
        c["messages"] += 1
        d = eff[r.id].decision
        c[d] += 1
        weekly[(iso_week(r.created_at), d)] += 1
        if d == "journal" and r.platform_message_id not in delivered:
            c["journal_waiting"] += 1
    return per_account, weekly


def test_self_contained(page):
    raw, doc = page
    assert raw.startswith("<!DOCTYPE html>")
    assert not doc.xpath("//script | //link | //img | //iframe | //object | //embed | //*[@src]")
    assert "url(" not in raw and "@import" not in raw
    for a in doc.xpath("//a"):
        assert a.get("href").startswith("https://www.facebook.com/")
    assert doc.xpath("//style") and len(doc.xpath("//svg")) == 2


def test_summary_table_matches_the_database(page, expected):
    _, doc = page
    per_account, _ = expected
    rows = doc.xpath('//table[@id="summary"]/tbody/tr')
    seen = set()
    for tr in rows:
        key = tr.get("data-account")
        seen.add(key)
        cells = {td.get("data-key"): td.text_content() for td in tr.xpath("td[@data-key]")}
        want = per_account.get(key, Counter())
        for k in ("messages", *OUTCOMES, "journal_waiting"):
            assert int(cells[k]) == want[k], (key, k)
    assert seen == set(per_account)
    main = doc.xpath(f'//table[@id="summary"]/tbody/tr[@data-account="facebook:{MAIN}"]')[0]
    cells = {td.get("data-key"): td.text_content() for td in main.xpath("td[@data-key]")}
    assert (cells["needs_reply"], cells["answered_in_time"], cells["answered_late"], cells["unanswered"]) == \
        ("10", "5", "1", "3")
    assert cells["high"] == "8" and cells["info"] == "1"


def test_weekly_chart_matches_the_database(page, expected):
    _, doc = page
    _, weekly = expected
    bars = doc.xpath('//svg[@id="chart-weekly"]//rect[@data-week]')
    got = Counter({(b.get("data-week"), b.get("data-outcome")): int(b.get("data-count")) for b in bars})
    assert +got == +weekly
    heights = [float(b.get("height")) for b in bars if int(b.get("data-count")) > 0]
    assert heights and all(h > 0 for h in heights)


def test_reply_time_chart(page):
    _, doc = page
    bars = {b.get("data-bucket"): int(b.get("data-count")) for b in doc.xpath('//svg[@id="chart-replies"]//rect')}
    # c18 and m1 after 1 h; c1, c7, c7b and ig2 within 4 h; c3 after 72 h; c2, c6, c7c never
    assert bars == {"≤ 1 h": 2, "1–4 h": 4, "4–12 h": 0, "12–24 h": 0, "24–48 h": 0, "> 48 h": 1, "no reply": 3}


def test_findings_link_to_their_messages(page, world):
    _, doc = page
    section = doc.xpath(f'//section[@data-account="facebook:{KULTUR}"]')[0]
    stretch = section.xpath('.//tr[@data-type="silent_stretch"]')[0]
    links = {a.get("href") for a in stretch.xpath(".//a")}
    assert links == {f"https://www.facebook.com/{world.pmids[f'k{i}']}" for i in range(1, 5)}
    virus = doc.xpath('//tr[@data-type="virus_link_up"]')[0]
    assert virus.get("data-severity") == "high" and world.pmids["c8"] in virus.text_content()


def test_summary_text(world):
    text = compliance_summary(world.app)
    assert f"facebook:{MAIN} (Ringebu kommune)" in text and "rådmann notified 2024-01-10" in text
    assert "5/10 in time" in text and "NOT REGISTERED" in text


def test_cli_formats(world, world_url, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run_cli(world_url, "revisor", "report", "compliance", "--format", "html", "--out", str(out))
    assert code == 0 and "findings" in err, err
    assert lxml.html.fromstring(out.read_text(encoding="utf-8")).xpath('//table[@id="summary"]')
    code, csv_out, _ = run_cli(world_url, "revisor", "report", "compliance", "--format", "csv", "--account", KULTUR)
    lines = csv_out.splitlines()
    assert lines[0] == "account,severity,type,at,messages,permalinks,summary"
    assert any(",silent_stretch," in ln for ln in lines[1:])
    code, table, _ = run_cli(world_url, "kari", "report", "compliance", "--reply-hours", "1000")
    assert code == 0 and "late_reply" not in table and "unanswered_service_question" not in table
    assert "virus_link_up" in table


def test_empty_database(make_app, tmp_path):
    app = make_app("auditor", actor="revisor")
    assert "no accounts and no messages" in compliance_summary(app)
    doc = lxml.html.fromstring(write_html_report(app, tmp_path / "empty.html").read_text(encoding="utf-8"))
    assert doc.xpath('//*[@id="chart-weekly-empty"]') and doc.xpath('//*[@id="chart-replies-empty"]')
    assert not doc.xpath('//table[@id="summary"]/tbody/tr')
