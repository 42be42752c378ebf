"""`ringebu-journal validate PATH`: check a Noark 5 package, an arkivmelding outbox or one Fiks
Arkiv message, without a database.

* a folder with ``index.jsonl`` (an outbox of ``export arkivmelding``): every message against its
  Fiks Arkiv V2 XSD, every file against the index's SHA-256, and the lifecycle (no second opprett
  of a journalpost or saksmappe; every oppdater, avskrivning and dokumentobjekt refers to
  something an earlier message created);
* one message folder of an outbox, or one payload file (``arkivmelding.xml`` …): its XSD;
* anything else: a Noark 5 arkivuttrekk (folder or .tar) against the official XSDs and the
  Arkade 5 controls.

Exit 0 when valid, 1 when problems were found, 2 when PATH is missing or unreadable.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from ringebu_journal.errors import ProblemsFound, UsageError

from .lazy import lazy

arkivmelding = lazy("noark.arkivmelding")
outbox = lazy("noark.arkivmelding_outbox")
noark_errors = lazy("noark.errors")
noark_validate = lazy("noark.validate")


def _fiks_payload(p: Path) -> bool:
    if not p.is_file() or p.suffix.lower() != ".xml":
        return False
    try:
        return arkivmelding.parse_payload(p.read_bytes()).tag in arkivmelding.MESSAGE_TYPES
    except (OSError, arkivmelding.PayloadError):
        return False


@click.command("validate")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format.")
def validate(path: str, output_format: str) -> None:
    """Validate a Noark 5 v5.0 arkivuttrekk (folder or .tar), an arkivmelding outbox (folder with
    index.jsonl) or one Fiks Arkiv message, offline. Every problem is listed with its place."""
    p = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path}: a loop of symbolic links — give an arkivuttrekk, an outbox or an "
                             "arkivmelding.xml") from None
        raise UsageError(f"{path}: no such file or folder — give an arkivuttrekk, an outbox or an arkivmelding.xml") from None
    fiks = None
    if p.is_dir() and (p / outbox.INDEX).is_file():
        fiks = outbox.validate_outbox(p)
    elif p.is_dir() and (p / outbox.MANIFEST).is_file():
        payloads = [f for f in sorted(p.iterdir()) if _fiks_payload(f)]
        if not payloads:
            raise UsageError(f"{path}: a message folder without a Fiks Arkiv payload — give the outbox folder")
        fiks = outbox.validate_payload_file(payloads[0])
    elif _fiks_payload(p):
        fiks = outbox.validate_payload_file(p)
    if fiks is not None:
        click.echo(fiks.to_json() if output_format == "json" else fiks.to_text())
        if not fiks.ok:
            raise ProblemsFound(f"{len(fiks.problems)} problem(s) found in {path}")
        return
    try:
        report = noark_validate.validate_package(path)
    except noark_errors.PackageReadError as exc:
        raise UsageError(f"{exc} — give the folder or .tar of an arkivuttrekk, an outbox or an arkivmelding.xml") from None
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    if not report.ok:
        raise ProblemsFound(f"{len(report.findings)} problem(s) found in {path}")


COMMANDS = (validate,)
