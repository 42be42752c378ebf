"""demo: the whole job once, on bundled sample conversations."""

from __future__ import annotations

import click

from ringebu_journal.errors import ProblemsFound


@click.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's database, package, arkivmeldinger and report (made anew each run).")
def demo(out_dir: str) -> None:
    """Import sample conversations, judge, review, export a Noark 5 package, validate, report.

    Runs in its own SQLite database inside --out, as four users in turn: demo-admin,
    arkiv (archivist), moderator and revisor (auditor).
    """
    from ringebu_journal import demo as demolib

    res = demolib.run(out_dir, say=click.echo)
    if not (res.package_ok and res.audit_ok):
        raise ProblemsFound("the demo's package or audit trail did not verify (see above)")
    click.echo(f"done: everything is in {res.out}")


COMMANDS = (demo,)
