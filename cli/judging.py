"""judge, judgments, evaluate: the content judge on stored messages and on labelled files."""

from __future__ import annotations

import click

from ringebu_journal import judging
from ringebu_journal.app import App
from ringebu_journal.errors import ProblemsFound

from .common import (command_app, emit_rows, exclusive_flags, format_option, listing_options, open_output, progress,
                     quiet_flag)


def register(cli: click.Group) -> None:
    cli.add_command(judge)
    cli.add_command(judgments)
    cli.add_command(evaluate)
    cli.add_command(train)
    cli.add_command(model)
    cli.add_command(labels)
    cli.add_command(retrain)
    cli.add_command(rules)


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


@click.command()
@click.argument("labelled", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--shipped", is_flag=True, help="Also train on the labelled files shipped with the program "
              "(the default model's training corpora).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the model file (JSON).")
def train(labelled: tuple[str, ...], shipped: bool, out: str) -> None:
    """Train the judge's text model on labelled JSON Lines files, deterministically.

    The same files give the same model file byte for byte. `--shipped` alone rebuilds the
    shipped default model."""
    from ringebu_journal.errors import UsageError
    from ringebu_journal.judge.model import parse_model
    from ringebu_journal.judge.training import shipped_corpora, train as train_model, write_model

    paths = list(labelled) + ([str(p) for p in shipped_corpora()] if shipped else [])
    if not paths:
        raise UsageError("train: name labelled JSON Lines files, or give --shipped")
    data = train_model(paths)
    write_model(data, out)
    m = parse_model(data, out)
    langs = ", ".join(f"{k} {v}" for k, v in sorted(m.languages.items(), key=lambda kv: -kv[1]))
    click.echo(f"trained on {m.cases} citizen messages from {len(m.trained_on)} file(s); "
               f"{len(m.vocabulary)} features; languages: {langs or 'none found'}")
    click.echo(f"wrote {out} (SHA-256 {m.sha256})")


@click.group()
def model() -> None:
    """The judge's learned model: store, put in use, undo."""


@model.command("list")
@listing_options()
@command_app("model list")
def model_list(fmt: str, out: str | None, app: App) -> None:
    """Stored models; the one in use is marked."""
    from ringebu_journal import judge_models
    with open_output(out) as fh:
        emit_rows(judge_models.list_models(app), ["sha256", "version", "in_use", "trained_on", "created_at", "created_by"],
                  fmt, out=fh)


@model.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@command_app("model add")
def model_add(path: str, app: App) -> None:
    """Store a model file (it is checked, not yet used)."""
    from ringebu_journal import judge_models
    from ringebu_journal.judge.model import model_bytes
    where, data = model_bytes(path)
    row = judge_models.store_model(app, data, where)
    click.echo(f"stored model {row['sha256']} ({row['cases']} training cases); "
               f"put it in use with `ringebu-journal model use {row['sha256'][:12]}`")


@model.command("use")
@click.argument("ref", required=False)
@click.option("--default", "to_default", is_flag=True, help="Back to the policy's own model.")
@click.option("--reason", help="Why (kept in the audit trail).")
@command_app("model use")
def model_use(ref: str | None, to_default: bool, reason: str | None, app: App) -> None:
    """Put a stored model in use (audited; `model undo` reverts). Judge again with `judge --all`."""
    from ringebu_journal import judge_models
    from ringebu_journal.errors import UsageError
    if bool(ref) == to_default:
        raise UsageError("model use: give a stored model's SHA-256 (prefix) or --default")
    before, after = judge_models.use_model(app, None if to_default else ref, reason)
    click.echo(f"model in use: {after or 'the policy default'} (was {before or 'the policy default'})")


@model.command("undo")
@click.option("--reason", help="Why (kept in the audit trail).")
@command_app("model undo")
def model_undo(reason: str | None, app: App) -> None:
    """Put back the model the last `model use` replaced (audited)."""
    from ringebu_journal import judge_models
    before, after = judge_models.undo(app, reason)
    click.echo(f"model in use: {after or 'the policy default'} (was {before or 'the policy default'})")


@click.group()
def labels() -> None:
    """Moderators' decisions as labelled cases."""


@labels.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The JSON Lines file to write.")
@command_app("labels export")
def labels_export(out: str, app: App) -> None:
    """Write every message a moderator flagged or confirmed as a labelled case (internal: it holds
    unscreened text)."""
    from ringebu_journal import learning
    n = learning.export_labels(app, out)
    click.echo(f"wrote {n} labelled cases to {out}")


@click.command()
@click.argument("labelled", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--no-shipped", is_flag=True, help="Do not train on the shipped corpora.")
@click.option("--held-out", "held_out", multiple=True, type=click.Path(dir_okay=False),
              help="More labelled cases to compare the models on (never trained on).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the new model file.")
@command_app("retrain")
def retrain(labelled: tuple[str, ...], no_shipped: bool, held_out: tuple[str, ...], out: str, app: App) -> None:
    """Train a new model with the moderators' decisions and compare it with the model in use on
    held-out cases. The new model is stored, not used: `model use` puts it in use (audited)."""
    from pathlib import Path

    from ringebu_journal import judge_models, learning
    from ringebu_journal.judge.training import write_model

    r = learning.retrain(app, labelled, shipped=not no_shipped, extra_held_out=held_out,
                         workdir=Path(out).resolve().parent / (Path(out).name + ".work"))
    write_model(r.new_bytes, out)
    judge_models.store_model(app, r.new_bytes, out)
    click.echo(f"trained with {r.train_cases} moderator cases; compared on {r.held_out_cases} held-out cases:")
    click.echo(r.table())
    click.echo(f"stored the new model {r.new_hash}; put it in use with `ringebu-journal model use {r.new_hash[:12]}`")


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
