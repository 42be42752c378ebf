"""`ringebu-journal validate PATH`: check a Noark 5 package (folder or .tar) without a database.

Exit 0 when the package passes the XSDs and every Arkade control, 1 when problems were found,
2 when PATH is missing or unreadable. The CLI owner registers ``validate`` in cli/main.py.
"""

from __future__ import annotations

import click

from noark.errors import PackageReadError
from noark.validate import validate_package
from ringebu_journal.errors import ProblemsFound, UsageError


@click.command("validate")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format.")
def validate(path: str, output_format: str) -> None:
    """Validate a Noark 5 v5.0 arkivuttrekk (folder or .tar) against the official XSDs and the
    Arkade 5 controls, offline. Every problem is listed with its control, file and element."""
    try:
        report = validate_package(path)
    except PackageReadError as exc:
        raise UsageError(f"{exc} — give the folder or .tar of an arkivuttrekk") from None
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    if not report.ok:
        raise ProblemsFound(f"{len(report.findings)} problem(s) found in {path}")
