"""model, labels, retrain, train: the judge's learned text model — trained from labelled files,
retrained with the moderators' decisions, stored and put in use (audited)."""

from __future__ import annotations

import click

from ringebu_journal.app import App

from .common import command_app, emit_rows, listing_options, open_output


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
        emit_rows([m.as_dict() for m in judge_models.list_models(app)], ["sha256", "version", "in_use", "trained_on", "created_at", "created_by"],
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
    click.echo(f"stored model {row.sha256} ({row.cases} training cases); "
               f"put it in use with `ringebu-journal model use {row.sha256[:12]}`")


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


COMMANDS = (model, labels, retrain, train)
