"""Numbering in bulk gives exactly what numbering one message at a time gives.

The registry numbers a whole chunk at once (the year's highest number read once, the cases and
journalposts inserted with executemany). The specification is the one-at-a-time algorithm below
("the highest so far + 1" read from the database for every case and every journalpost, one insert
each), kept here as the reference. The same seeded run — the judge over threads in two rounds, a
moderator turning messages journal, and journal messages stored without the hook across a new year
numbered by ``assign_missing`` — is made on two fresh databases, one with each algorithm, and the
database content must be the same: every number and date, every judgment, every audit event's
canonical bytes (all but the times and the hashes that cover them). The judge's shortcut to the
effective decision (``moderation.effective_after_judging``) is checked the same way against
looking every judged message up in full, with new versions of messages a moderator decided on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import and_, create_engine, func, or_, select, text
from sqlalchemy.engine import make_url

from ringebu_journal import judging, registry
from ringebu_journal.clock import utc
from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.audit import AUDIT
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judging import JUD, MSG, judge_stored
from ringebu_journal.moderation import effective_decisions, flag

CASES, NUMBERS = registry.CASES, registry.NUMBERS
CLAIM = " Jeg klager på vedtaket om byggesøknaden min og ber om en skriftlig begrunnelse."
BENCH = Path(__file__).resolve().parents[2] / "bench" / "judge.py"


def _reference_assign(conn, todo, actor, zone):
    """Numbering one message at a time: the registry's algorithm before it numbered in bulk."""
    def nxt(column, where) -> int:
        return int(conn.execute(select(func.coalesce(func.max(column), 0)).where(where)).scalar() or 0) + 1

    out = []
    for at, row in todo:
        at = utc(at)
        day = registry.local_day(at, zone)
        key = registry._case_key(row["platform"], row["thread_key"], row["platform_message_id"])
        case = conn.execute(select(CASES).where(CASES.c.case_key == key)).mappings().first()
        new_case = case is None
        if new_case:
            seq = nxt(CASES.c.sakssekvensnummer, CASES.c.saksaar == day.year)
            case_id = int(conn.execute(CASES.insert().values(
                case_key=key, platform=row["platform"], thread_id=row["thread_id"], saksaar=day.year,
                sakssekvensnummer=seq, saksdato=day, assigned_at=at, assigned_by=actor,
            )).inserted_primary_key[0])
            saksaar, sakssekvens = day.year, seq
        else:
            case_id, saksaar, sakssekvens = int(case["id"]), int(case["saksaar"]), int(case["sakssekvensnummer"])
        jseq = nxt(NUMBERS.c.journalsekvensnummer, NUMBERS.c.journalaar == day.year)
        jpnr = nxt(NUMBERS.c.journalpostnummer, NUMBERS.c.case_id == case_id)
        conn.execute(NUMBERS.insert().values(
            platform=row["platform"], platform_message_id=row["platform_message_id"], message_id=row["id"],
            case_id=case_id, journalaar=day.year, journalsekvensnummer=jseq, journalpostnummer=jpnr,
            journaldato=day, assigned_at=at, assigned_by=actor,
        ))
        out.append(registry.Assigned(row["id"], saksaar, sakssekvens, day.year, jseq, jpnr, day, new_case))
    return out


def _reference_effective(conn, judged):
    """Every judged message's effective decision looked up in full."""
    return {mid: e.decision for mid, e in effective_decisions(conn, list(judged)).items()}


@pytest.fixture(params=["sqlite", "postgresql"])
def two_urls(request, tmp_path) -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases of one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    first = request.getfixturevalue("pg_url")          # skips (or fails in CI) without a server
    base = os.environ["RINGEBU_JOURNAL_TEST_PG"]
    name = "rj_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield first, make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _texts(n: int, seed: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_judge_mix", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return [t for t, muni, _ in mod.make_mix(n * 2, seed) if not muni][:n]


def _rows(texts: list[str], threads: int, prefix: str, start: int) -> list[dict]:
    rows = []
    for p in range(threads):
        rows.append({"platform": "facebook", "kind": "post", "id": f"p{p}", "account_id": "104",
                     "author": {"id": "104", "name": "Ringebu kommune", "is_municipality": True},
                     "text": f"Innlegg nummer {p}", "created_at": "2026-10-01T08:00:00Z"})
    for i, t in enumerate(texts, start):
        p = i % threads
        row = {"platform": "facebook", "kind": "comment", "id": f"{prefix}{i}", "post_id": f"p{p}",
               "parent_id": f"p{p}", "account_id": "104",
               "author": {"id": f"u{i % 31}", "name": "Innbygger", "is_municipality": False},
               "text": t, "created_at": f"2026-10-{1 + i // 1440 % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z"}
        if i % 9 == 0:                       # a direct message: its own case
            row = {"platform": "facebook", "kind": "message", "id": f"{prefix}{i}", "conversation_id": f"t{i}",
                   "account_id": "104", "author": row["author"], "text": t, "created_at": row["created_at"]}
        rows.append(row)
    return rows


def _import(app: App, tmp: Path, name: str, rows: list[dict]) -> None:
    src = tmp / f"{name}.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    import_jsonl(app, [str(src)])


def _check_siblings(conn) -> None:
    """context_for's sibling, for batches of any size, is the current message under the same
    parent created just before (by time, then id), asked of the database one message at a time."""
    rows = [dict(r) for r in conn.execute(select(
        MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.text,
        MSG.c.author_is_municipality, MSG.c.parent_platform_id, MSG.c.post_platform_id,
        MSG.c.conversation_id, MSG.c.created_at).where(MSG.c.is_current.is_(True)).order_by(MSG.c.id)).mappings()]
    spec = {}
    for r in rows:
        if not r["parent_platform_id"] or r["conversation_id"]:
            continue
        prev = conn.execute(select(MSG.c.text).where(
            MSG.c.platform == r["platform"], MSG.c.parent_platform_id == r["parent_platform_id"],
            MSG.c.is_current.is_(True),
            or_(MSG.c.created_at < r["created_at"], and_(MSG.c.created_at == r["created_at"], MSG.c.id < r["id"])))
            .order_by(MSG.c.created_at.desc(), MSG.c.id.desc()).limit(1)).first()
        spec[r["id"]] = prev[0] if prev else None
    assert sum(v is not None for v in spec.values()) > 500
    for size in (97, 1000):
        for i in range(0, len(rows), size):
            ctx = judging.context_for(conn, rows[i:i + size])
            for r in rows[i:i + size]:
                if r["id"] in spec:
                    got = [c.text for c in ctx[r["id"]] if c.relation == "sibling"]
                    assert got == ([spec[r["id"]]] if spec[r["id"]] is not None else []), (size, r["id"])


def _run(url: str, tmp: Path) -> dict[str, list]:
    tmp.mkdir()
    admin = App.open(url, actor="admin", data_dir=tmp / "data")
    init_database(admin)
    admin.role = "admin"
    add_user(admin, "arkivar", "archivist")
    add_user(admin, "mona", "moderator")
    app = App.open(url, actor="arkivar", data_dir=tmp / "data")
    app.role = "archivist"
    texts = _texts(900, 11)
    # round one: 400 comments in 6 threads; round two: 400 more in the same threads (cases exist)
    _import(app, tmp, "one", _rows(texts[:400], 6, "c", 0))
    judge_stored(app)
    # a moderator makes some non-journal messages journal (one number each, in existing cases)
    # and some journal ones not journal
    mod = App.open(url, actor="mona", data_dir=tmp / "data")
    mod.role = "moderator"
    with app.db.read() as conn:
        flagged = {}
        for decision, to, skip in (("journal", "exclude", 0), ("archive", "journal", 0), ("exclude", "journal", 0),
                                   ("review", "archive", 0), ("archive", "exclude", 5)):
            for r in conn.execute(select(JUD.c.message_id, MSG.c.platform_message_id)
                                  .join(MSG, MSG.c.id == JUD.c.message_id).where(JUD.c.decision == decision)
                                  .order_by(JUD.c.message_id).offset(skip).limit(5)):
                flagged[r[0]] = (r[1], to)
    assert len(flagged) == 25
    for mid, (_, to) in flagged.items():
        flag(mod, [f"id:{mid}"], to, "Moderatorens vurdering")
    # round two: 400 more in the same threads (the cases exist), and new versions of the flagged
    # messages (the judge judges them again; the moderator's decision still counts)
    two = _rows(texts[400:800], 6, "c", 400)
    one = {r["id"]: r for r in _rows(texts[:400], 6, "c", 0)}
    edited = [dict(one[pid.rsplit("_", 1)[-1]], text=one[pid.rsplit("_", 1)[-1]]["text"] + CLAIM)
              for pid, _ in flagged.values()]
    _import(app, tmp, "two", two + edited)
    judge_stored(app)
    with app.db.read() as conn:
        versions = conn.execute(select(func.count()).select_from(MSG).where(MSG.c.is_current.is_(False))).scalar()
        # new versions the judge journals while the moderator's decision (not journal) stands
        held = conn.execute(select(func.count()).select_from(
            JUD.join(MSG, MSG.c.id == JUD.c.message_id)).where(
            MSG.c.is_current.is_(True), JUD.c.decision == "journal",
            MSG.c.platform_message_id.in_([pid for pid, to in flagged.values() if to != "journal"]))).scalar()
    assert versions == 25 and held >= 5
    # journal messages stored without the hook, decided across the new year (Oslo time)
    _import(app, tmp, "three", _rows(texts[800:900], 6, "d", 800))
    with app.db.write() as conn:
        new = [r[0] for r in conn.execute(select(MSG.c.id).where(MSG.c.platform_message_id.like("%d%"))
                                          .order_by(MSG.c.id))]
        times = [datetime(2026, 12, 31, 22, 50, tzinfo=timezone.utc), datetime(2026, 12, 31, 23, 10, tzinfo=timezone.utc),
                 datetime(2027, 1, 3, 9, 0, tzinfo=timezone.utc)]
        conn.execute(JUD.insert(), [{
            "message_id": m, "decision": "journal", "confidence": 0.9, "categories": [], "actions": [],
            "screening": {"screen": False}, "reasons": [], "policy_version": "test", "policy_hash": "x" * 64,
            "model_hash": "z" * 64, "context_hash": "y" * 64, "judged_at": times[k % 3], "actor": "arkivar",
        } for k, m in enumerate(new)])
        assigned = registry.assign_missing(conn, actor="ringebu-journal (test)")
    assert {a.journalaar for a in assigned} == {2026, 2027}
    out = {}
    with app.db.read() as conn:
        _check_siblings(conn)
        out["cases"] = [tuple(r) for r in conn.execute(select(
            CASES.c.id, CASES.c.case_key, CASES.c.platform, CASES.c.thread_id, CASES.c.saksaar,
            CASES.c.sakssekvensnummer, CASES.c.saksdato, CASES.c.assigned_by).order_by(CASES.c.id))]
        out["numbers"] = [tuple(r) for r in conn.execute(select(
            NUMBERS.c.id, NUMBERS.c.platform, NUMBERS.c.platform_message_id, NUMBERS.c.message_id, NUMBERS.c.case_id,
            NUMBERS.c.journalaar, NUMBERS.c.journalsekvensnummer, NUMBERS.c.journalpostnummer,
            NUMBERS.c.journaldato, NUMBERS.c.assigned_by).order_by(NUMBERS.c.id))]
        out["judgments"] = [tuple(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in r)
                            for r in conn.execute(select(
                                JUD.c.id, JUD.c.message_id, JUD.c.decision, JUD.c.confidence, JUD.c.categories,
                                JUD.c.actions, JUD.c.screening, JUD.c.reasons, JUD.c.policy_hash,
                                JUD.c.context_hash, JUD.c.actor).order_by(JUD.c.id))]
        # the database's address and the input files' folder differ between the two runs by design
        def same(v):
            return v.replace(url, "<db>").replace(str(tmp), "<tmp>") if isinstance(v, str) else v
        out["audit"] = [tuple(same(v) for v in r) for r in conn.execute(select(
            AUDIT.c.seq, AUDIT.c.actor, AUDIT.c.role, AUDIT.c.action, AUDIT.c.object_type, AUDIT.c.object_id,
            AUDIT.c.before, AUDIT.c.after, AUDIT.c.reason).order_by(AUDIT.c.seq))]
    for a in (admin, app, mod):
        a.db.dispose()
    return out


def test_bulk_numbering_gives_what_one_at_a_time_gives(two_urls, tmp_path, monkeypatch):
    bulk = _run(two_urls[0], tmp_path / "bulk")
    monkeypatch.setattr(registry, "_assign_all", _reference_assign)
    monkeypatch.setattr(judging, "effective_after_judging", _reference_effective)
    one_by_one = _run(two_urls[1], tmp_path / "one")
    assert len(bulk["numbers"]) > 100 and len(bulk["cases"]) > 20
    # gap-free per year, in both
    for year in (2026, 2027):
        seqs = sorted(n[6] for n in bulk["numbers"] if n[5] == year)
        assert seqs == list(range(1, len(seqs) + 1))
    for part in ("cases", "numbers", "judgments", "audit"):
        assert bulk[part] == one_by_one[part], part

