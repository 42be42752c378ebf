"""The whole job in a few calls, for the reliability tests: a fresh database with the four
roles, import, judge, moderate, export, validate — as ``ringebu_journal/demo.py`` does it.

``fast_render`` swaps the PDF/A renderer (Typst, a few ms a document) for a fixed small PDF
so that property tests can run hundreds of exports; the XML the package holds (arkivstruktur,
journals, endringslogg, ADDML) is written and validated exactly as in production. Tests that
need the real archive copies do not use it.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lxml import etree
from sqlalchemy import MetaData, select

from ringebu_journal.app import App, add_user, init_database

ROLES = {"admin": "admin", "arkiv": "archivist", "moderator": "moderator", "revisor": "auditor"}


def fresh(url: str, data_dir: Path) -> dict[str, App]:
    """An initialised database with one user per role; returns actor → App (role set)."""
    admin = App.open(url, actor="admin", data_dir=data_dir)
    init_database(admin)
    admin.role = "admin"
    for name, role in ROLES.items():
        if name != "admin":
            add_user(admin, name, role)
    apps = {"admin": admin}
    for name, role in ROLES.items():
        if name != "admin":
            a = App.open(url, actor=name, data_dir=data_dir)
            a.role = role
            apps[name] = a
    return apps


def dispose(apps: dict[str, App]) -> None:
    for a in apps.values():
        a.db.dispose()


def fake_pdf(data: str, key: str, epoch: int, font=None) -> bytes:
    """Stands in for render_pdf: a small deterministic PDF-looking file per JSON document."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + hashlib.sha256(data.encode("utf-8", "surrogatepass")).digest() + b"\n%%EOF\n"


@contextmanager
def fast_render() -> Iterator[None]:
    from ringebu_journal.export import render

    real = render.render_pdf
    render.render_pdf = fake_pdf
    try:
        yield
    finally:
        render.render_pdf = real


def xml_files_well_formed(package: Path) -> list[str]:
    """Every .xml file of the package parsed by a strict parser (no recovery, no entities)."""
    bad = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False, huge_tree=True)
    for p in sorted(package.rglob("*.xml")):
        try:
            etree.parse(str(p), parser)
        except etree.XMLSyntaxError as exc:
            bad.append(f"{p.name}: {exc}")
    return bad


def table_dump(app: App, *, ignore: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    """A canonical dump of every table: rows as sorted JSON without the ignored columns.

    ``ignore`` maps table name → columns to leave out (autoincrement ids and wall-clock times);
    the default is :data:`VOLATILE`.
    """
    ignore = VOLATILE if ignore is None else ignore
    md = MetaData()
    md.reflect(app.db.engine)
    out: dict[str, list[str]] = {}
    with app.db.read() as conn:
        for name, table in sorted(md.tables.items()):
            if name == "alembic_version":
                continue
            skip = ignore.get(name, set()) | ignore.get("*", set())
            cols = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*cols)).all()
            out[name] = sorted(json.dumps([_plain(v) for v in r], ensure_ascii=False, default=str) for r in rows)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v) if v[:1] in "{[" else v
        except ValueError:
            return v
    return v


# Columns that differ between two correct runs of the same inputs: row ids (autoincrement, and
# the foreign keys that carry them), wall-clock times, and the audit chain (its `at` is the
# wall clock, so every hash and hashed record differs; the audit table is compared by its actions instead).
VOLATILE: dict[str, set[str]] = {
    "*": {"id", "imported_at", "created_at_db", "judged_at", "decided_at", "delivered_at", "updated_at",
          "first_seen_at", "last_seen_at", "started_at", "finished_at", "stored_at", "batch_id",
          "message_id", "capture_id", "thread_id", "previous_id", "judgment_id", "export_id", "account_id",
          "first_batch_id", "last_batch_id"},
    "audit_events": {"seq", "at", "prev_hash", "hash", "canonical", "before", "after", "object_id"},
}


def pg_base() -> str:
    """The PostgreSQL server of RINGEBU_JOURNAL_TEST_PG; as tests/conftest.py: a failure in CI, else a skip."""
    import os

    import pytest

    url = os.environ.get("RINGEBU_JOURNAL_TEST_PG")
    if not url:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PostgreSQL tests must run in CI: RINGEBU_JOURNAL_TEST_PG is not set")
        pytest.skip("RINGEBU_JOURNAL_TEST_PG is not set")
    return url
