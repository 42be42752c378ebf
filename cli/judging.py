"""judge, judgments, evaluate: the content judge on stored messages and on labelled files."""

from __future__ import annotations

import click

from ringebu_journal import judging
from ringebu_journal.app import App
from ringebu_journal.errors import ProblemsFound

from .common import command_app, emit_rows, format_option, progress, quiet_flag


def register(cli: click.Group) -> None:
    cli.add_command(judge)
    cli.add_command(judgments)
    cli.add_command(evaluate)


@click.command()
@click.option("--pending", "mode", flag_value="pending", default=True,
              help="Judge messages that have no judgment yet (default).")
@click.option("--all", "mode", flag_value="all",
              help="Judge every message again; a new judgment is added where the policy or the thread context changed.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="A policy file (TOML) instead of the one shipped with the program.")
@command_app("judge")
def judge(mode: str, policy_path: str | None, app: App) -> None:
    """Judge stored messages on their content: journal, archive, exclude or review."""
    total = judging.count_current(app)
    with progress("judging", total, quiet=quiet_flag()) as advance:
        summary = judging.judge_stored(app, everything=(mode == "all"), policy_path=policy_path, advance=advance)
    click.echo(summary.line())


@click.command()
@click.option("--decision", type=click.Choice(["journal", "archive", "exclude", "review"]), help="Only this decision.")
@click.option("--history", is_flag=True, help="Every judgment, not only the latest per message.")
@format_option("table", "jsonl", "json", "csv", default="table")
@command_app("judgments")
def judgments(decision: str | None, history: bool, fmt: str, app: App) -> None:
    """List judgments with their reasons (latest per message unless --history)."""
    rows = judging.iter_judgments(app, latest_only=not history, decision=decision)
    if fmt == "jsonl":
        emit_rows(rows, [], "jsonl")  # streams
        return
    rows = list(rows)
    if fmt == "table":
        for r in rows:
            r["reasons"] = " | ".join(r["reasons"])
            r["screen"] = (r["screening"] or {}).get("screen")
    emit_rows(rows, ["platform", "platform_message_id", "decision", "confidence", "categories", "actions",
                     "screen", "reasons"] if fmt == "table" else
              ["platform", "platform_message_id", "message_id", "judgment_id", "decision", "confidence",
               "categories", "actions", "screening", "reasons", "policy_version", "policy_hash", "judged_at"], fmt)


@click.command()
@click.argument("labelled", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), help="A policy file (TOML) to evaluate.")
@format_option("text", "json", default="text")
@click.option("--check", is_flag=True, help="Exit 1 when a quality target is missed.")
def evaluate(labelled: str, policy_path: str | None, fmt: str, check: bool) -> None:
    """Judge a labelled JSON Lines file and print recall, precision, review rate and the misjudged cases."""
    from ringebu_journal.judge import Judge, load_policy
    from ringebu_journal.judge.evaluate import evaluate_file, format_report, target_failures

    judge_ = Judge(load_policy(policy_path))
    report = evaluate_file(labelled, judge_)
    click.echo(format_report(report, fmt))
    missed = target_failures(report)
    if check and missed:
        raise ProblemsFound(f"{labelled}: the judge misses {len(missed)} quality target(s): {'; '.join(missed)}")
