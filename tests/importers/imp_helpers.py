"""Helpers shared by the importer tests."""

from __future__ import annotations

from ringebu_journal.app import App


def db_args(app: App) -> list[str]:
    return ["--db", app.db.url, "--data-dir", str(app.data_dir), "--quiet"]
