"""judge, judgments, evaluate: the content judge on stored messages and on labelled files."""

from __future__ import annotations

import click

from ringebu_journal.app import App
from ringebu_journal.errors import ProblemsFound

from .common import (command_app, emit_rows, exclusive_flags, format_option, listing_options, open_output, progress,
                     quiet_flag)
from .lazy import lazy

judging = lazy("ringebu_journal.judging")


@click.command()
@exclusive_flags("mode", [
    ("--pending", "pending", "Judge messages that have no judgment yet (default)."),
    ("--all", "all", "Judge every message again; a new judgment is added where the policy or the thread context "
                     "changed."),
], default="pending")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="A policy file (TOML) instead of the one shipped with the program.")
@command_app("judge")
def judge(mode: str, policy_path: str | None, app: App) -> None:
    """Judge stored messages on their content: journal, archive, exclude or review."""
    total = judging.count_current(app)
    with progress("judging", total, quiet=quiet_flag()) as advance:
        summary = judging.judge_stored(app, everything=(mode == "all"), policy_path=policy_path, advance=advance)
    click.echo(summary.line())


JUDGMENT_TABLE = ["message_id", "platform", "platform_message_id", "decision", "screen", "source", "judge_decision",
                  "confidence", "categories", "actions", "reasons"]
JUDGMENT_COLUMNS = ["message_id", "platform", "platform_message_id", "message_version", "decision", "screen",
                    "source", "decided_by", "judgment_id", "judge_decision", "judge_screen", "confidence",
                    "categories", "actions", "screening", "reasons", "policy_version", "policy_hash", "model_hash",
                    "judged_at", "judged_by"]


@click.command()
@click.option("--decision", type=click.Choice(["journal", "archive", "exclude", "review"]),
              help="Only messages whose decision (the moderator's, else the judge's) is this.")
@click.option("--history", is_flag=True, help="Every judgment, not only the latest per message.")
@listing_options()
@command_app("judgments")
def judgments(decision: str | None, history: bool, fmt: str, out: str | None, app: App) -> None:
    """List judgments: the decision that counts, the judge's proposal beside it, and the reasons.

    `decision` is the effective decision (a moderator's flag or confirm, else the judge's);
    `source` says which; `judge_decision` is the judge's own proposal. `message_id` is the
    internal id that `show`, `flag` and `confirm` take. Latest judgment per message unless --history.
    """
    rows = judging.iter_judgments(app, latest_only=not history, decision=decision)
    with open_output(out) as fh:
        if fmt == "jsonl":
            emit_rows(rows, [], "jsonl", out=fh)  # streams
            return
        rows = list(rows)
        if fmt == "table":
            for r in rows:
                r["reasons"] = " | ".join(r["reasons"])
        emit_rows(rows, JUDGMENT_TABLE if fmt == "table" else JUDGMENT_COLUMNS, fmt, out=fh)


@click.command()
@click.argument("labelled", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), help="A policy file (TOML) to evaluate.")
@format_option("text", "json", default="text")
@click.option("--model", "model_path", type=click.Path(dir_okay=False),
              help="A model file (JSON, from `train`) instead of the policy's own.")
@click.option("--rules-only", is_flag=True, help="Judge with the policy's rules alone, without the model.")
@click.option("--check", is_flag=True, help="Exit 1 when a quality target is missed.")
def evaluate(labelled: str, policy_path: str | None, model_path: str | None, rules_only: bool, fmt: str,
             check: bool) -> None:
    """Judge a labelled JSON Lines file and print recall, precision, review rate and the misjudged cases."""
    from ringebu_journal.judge import Judge, load_policy
    from ringebu_journal.judge.evaluate import evaluate_file, format_report, target_failures
    from ringebu_journal.judge.model import load_model

    policy = load_policy(policy_path)
    if rules_only:
        judge_ = Judge(policy, model=None)
    elif model_path:
        judge_ = Judge(policy, model=load_model(model_path))
    else:
        judge_ = Judge(policy)
    report = evaluate_file(labelled, judge_)
    click.echo(format_report(report, fmt))
    missed = target_failures(report)
    if check and missed:
        raise ProblemsFound(f"{labelled}: the judge misses {len(missed)} quality target(s): {'; '.join(missed)}")


COMMANDS = (judge, judgments, evaluate)
