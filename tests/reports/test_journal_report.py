"""The journal report: journalført and waiting, per account and category."""

from __future__ import annotations

import json

from ringebu_journal.reports import build_journal_report

from .conftest import run_cli
from .scenario import MAIN


def test_journal_report_per_account_and_category(world):
    rep = build_journal_report(world.app)
    summary = {(r["account"], r["category"]): r for r in rep.summary}
    key = f"facebook:{MAIN}"
    # c11 klage and c13 innsynskrav delivered; c16 oppfølging and r16 (an own reply) delivered; c12 søknad waiting
    assert summary[(key, "klage")]["journalfort"] == 1 and summary[(key, "klage")]["waiting"] == 0
    assert summary[(key, "innsynskrav")]["journalfort"] == 1
    assert summary[(key, "oppfolging")]["journalfort"] == 1
    assert summary[(key, "egen_saksbehandling")]["journalfort"] == 1
    soknad = summary[(key, "soknad")]
    assert soknad["waiting"] == 1 and soknad["journalfort"] == 0 and soknad["oldest_waiting_days"] > 19
    waiting = [m for m in rep.messages if m["state"] == "waiting"]
    assert [m["platform_message_id"] for m in waiting] == [world.pmids["c12"]]
    done = {m["platform_message_id"]: m for m in rep.messages if m["state"] == "journalført"}
    assert done[world.pmids["c11"]]["package_id"] == "pkg-2025-001"


def test_journal_report_period(world):
    day = world.at(12).date()
    rep = build_journal_report(world.app, from_date=day, to_date=day)
    assert all(m["created_at"].date() == day for m in rep.messages)


def test_journal_report_cli(world, world_url):
    code, out, err = run_cli(world_url, "revisor", "report", "journal")
    assert code == 0 and "soknad" in out and "1 waiting" in out, err
    code, out, _ = run_cli(world_url, "revisor", "report", "journal", "--detail", "--format", "json")
    rows = json.loads(out)
    assert {r["state"] for r in rows} == {"journalført", "waiting"}
    code, out, _ = run_cli(world_url, "revisor", "report", "journal", "--format", "csv")
    assert out.splitlines()[0] == "account,category,journalfort,waiting,oldest_waiting_days,receipt_failed,receipt_missing"
