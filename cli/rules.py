"""rules: policy rules proposed from the moderators' repeated overrides, accepted into the
municipality's policy file or rejected (both audited)."""

from __future__ import annotations

import click

from ringebu_journal.app import App

from .common import command_app, emit_rows, listing_options, open_output


@click.group()
def rules() -> None:
    """Policy rules proposed from moderators' repeated overrides."""


@rules.command("propose")
@click.option("--min", "min_count", type=click.IntRange(1), default=3, show_default=True,
              help="How many overrides a phrase needs.")
@listing_options()
@command_app("rules propose")
def rules_propose(min_count: int, fmt: str, out: str | None, app: App) -> None:
    """Phrases moderators keep moving into the journal (or out of it)."""
    from ringebu_journal import learning
    rows = [{"phrase": p.phrase, "direction": p.direction, "count": p.count, "pattern": p.pattern(),
             "example": p.examples[0][:120]} for p in learning.propose_rules(app, min_count)]
    with open_output(out) as fh:
        emit_rows(rows, ["phrase", "direction", "count", "pattern", "example"], fmt, out=fh)


@rules.command("accept")
@click.argument("phrase")
@click.option("--direction", type=click.Choice(["journal", "archive"]), required=True)
@click.option("--policy", "policy_file", required=True, type=click.Path(dir_okay=False),
              help="The municipality's policy file the rule is added to.")
@command_app("rules accept")
def rules_accept(phrase: str, direction: str, policy_file: str, app: App) -> None:
    """Add a proposed rule to a policy file (audited); judge with `judge --all --policy FILE`."""
    from ringebu_journal import learning
    rid = learning.accept_rule(app, phrase, direction, policy_file)
    click.echo(f"added rule {rid} to {policy_file}")


@rules.command("reject")
@click.argument("phrase")
@click.option("--direction", type=click.Choice(["journal", "archive"]), required=True)
@command_app("rules reject")
def rules_reject(phrase: str, direction: str, app: App) -> None:
    """Turn a proposal down; it is not proposed again (audited)."""
    from ringebu_journal import learning
    learning.reject_rule(app, phrase, direction)
    click.echo(f"rejected {phrase!r} ({direction})")


COMMANDS = (rules,)
