"""audit log / verify / export / checkpoint / keygen: the history, for auditors."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

import click

from ringebu_journal.errors import ProblemsFound, UsageError

from .common import check_exclusive, command_app, emit_rows, is_stdout, listing_options, open_output, parse_date
from .lazy import lazy

if TYPE_CHECKING:
    from ringebu_journal.app import App

anchors = lazy("ringebu_journal.anchors")
auditlib = lazy("ringebu_journal.audit")
audit_query = lazy("ringebu_journal.audit_query")


@click.group()
def audit() -> None:
    """The tamper-evident audit trail: list, verify, export."""


def _parse_when(value: str | None, option: str, end: bool = False) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            d = parse_date(value, option)
            dt = datetime.combine(d, time(0), tzinfo=timezone.utc)
            return dt + timedelta(days=1) if end else dt
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date or time — use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ") from None


@audit.command("log")
@click.option("--object", "obj", metavar="TYPE[:ID]", help="Only events about this object, e.g. message:42 or user:kari.")
@click.option("--actor", "actor_name", metavar="NAME", help="Only events by this actor.")
@click.option("--moderator", metavar="NAME", help="Only decisions made by this moderator.")
@click.option("--action", metavar="ACTION", help="Only this action (a trailing * matches a prefix, e.g. 'decision.*').")
@click.option("--message", "message_ref", metavar="MESSAGE", help="Only events about this message (all its versions).")
@click.option("--decisions", "decisions_only", is_flag=True, help="Only decision changes (judgments and moderator decisions).")
@click.option("--export", "export_id", metavar="PACKAGE-ID", help="Only events about this export.")
@click.option("--since", metavar="DATE", help="From this date or time (UTC).")
@click.option("--until", metavar="DATE", help="Up to and including this date (UTC).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@listing_options()
@command_app("audit log")
def audit_log(obj, actor_name, moderator, action, message_ref, decisions_only, export_id, since, until,
              limit, fmt, out, app: App) -> None:
    """List audit events, oldest first."""
    check_exclusive(actor=actor_name, moderator=moderator)
    f = audit_query.AuditFilter(actor=actor_name, action=action, limit=limit,
                                since=_parse_when(since, "--since"),
                                until=_parse_when(until, "--until", end=True),
                                decisions_only=decisions_only, export_id=export_id)
    if obj:
        typ, _, oid = obj.partition(":")
        f.object_type, f.object_id = typ, (oid or None)
    if moderator:
        f.actor = moderator
        f.decisions_only = True
    if message_ref:
        from ringebu_journal.messages import resolve_all_versions

        f.message_ids = resolve_all_versions(app, message_ref)
    rows = [audit_query.readable(e) for e in audit_query.query(app, f)]
    with open_output(out) as fh:
        emit_rows(rows, ["seq", "at", "actor", "identity", "role", "action", "object_type", "object_id", "reason", "after"], fmt,
                  out=fh)


@audit.command("verify")
@click.option("--file", "file_path", type=click.Path(dir_okay=False), help="Verify an exported trail file instead of the database.")
@click.option("--head", metavar="HASH", help="A head hash noted earlier (printed by verify and export): "
              "it must still be in the chain, which catches deleted newest events.")
@click.option("--against", "against", multiple=True, metavar="PACKAGE|OUTBOX",
              help="A Noark 5 package (folder or .tar) or an arkivmelding outbox: the audit head it carries "
                   "must still be in the trail (same sequence, same hash). Repeatable.")
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="FILE",
              help="A signed checkpoint (from `audit checkpoint`): its signature must verify with a "
                   "--public-key and its head must still be in the trail. Repeatable.")
@click.option("--public-key", "public_keys", multiple=True, metavar="FILE",
              help="An Ed25519 public key (PEM) that may have signed the checkpoints. Repeatable.")
@command_app("audit verify")
def audit_verify(file_path: str | None, head: str | None, against: tuple[str, ...], checkpoints: tuple[str, ...],
                 public_keys: tuple[str, ...], app: App) -> None:
    """Recompute the hash chain; name the first event that was changed (exit 1).

    With --against and --checkpoint, also prove that the trail still holds the heads recorded
    outside the database: a rewritten trail verifies as a chain but not against them."""
    if (against or checkpoints) and file_path:
        raise UsageError("--against and --checkpoint check the database's trail — leave out --file")
    if checkpoints and not public_keys:
        raise UsageError("--checkpoint needs the signer's --public-key FILE")
    keys = [anchors.load_public(k) for k in public_keys]
    found: list[anchors.Anchor] = []
    for path in against:
        found.extend(anchors.anchors_in(path))
    for path in checkpoints:
        try:
            found.append(anchors.read_checkpoint(path, keys))
        except anchors.BadSignature as exc:
            raise ProblemsFound(f"audit trail NOT verified: {exc}") from None
    if file_path:
        res = audit_query.verify_file(file_path, head=head)
    else:
        res = audit_query.verify_trail(app, head=head)
        if res.ok and found:
            with app.db.read() as conn:
                for anchor in found:
                    why = anchors.contains(conn, anchor.head)
                    if why:
                        raise ProblemsFound(f"audit trail NOT verified against {anchor.source}: {why}")
    if not res.ok:
        raise ProblemsFound(res.line())
    click.echo(res.line() + (f"; holds the {len(found)} head(s) recorded outside the database" if found else ""))


@audit.command("checkpoint")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False),
              help="The Ed25519 private key (PEM, mode 0600) kept outside the database.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The checkpoint file to write (never overwritten).")
@command_app("audit checkpoint")
def audit_checkpoint(key_path: str, out_path: str, app: App) -> None:
    """Sign the trail's head (sequence, hash, time) into a checkpoint file.

    Keep the file where the database's users cannot change it; `audit verify --checkpoint FILE
    --public-key PUB` later proves the trail still holds that head."""
    with app.db.read() as conn:
        res = auditlib.verify(conn)
        head = anchors.current_head(conn)
    if not res.ok:
        raise ProblemsFound(f"not signed: {res.line()}")
    if head is None:
        raise UsageError("the audit trail is empty — nothing to sign")
    body = anchors.make_checkpoint(head, key_path)
    path = anchors.write_checkpoint(body, out_path)
    with app.db.write() as conn:
        app.audit(conn, "audit.checkpoint", "audit", head.seq,
                  after={"seq": head.seq, "hash": head.hash, "at": body["at"], "key_id": body["key_id"]})
    click.echo(f"signed checkpoint of event {head.seq} (hash {head.hash}) with key {body['key_id']} into {path}")


@audit.command("keygen")
@click.option("--private", "private_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the private key (mode 0600; keep it away from the database's users).")
@click.option("--public", "public_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the public key (give it to whoever verifies checkpoints).")
def audit_keygen(private_path: str, public_path: str) -> None:
    """Make an Ed25519 key pair for signing checkpoints (no database involved)."""
    kid = anchors.generate_keypair(private_path, public_path)
    click.echo(f"wrote private key {private_path} (mode 600) and public key {public_path}; key id {kid}")


@audit.command("export")
@click.option("--out", "out_path", required=True, type=click.Path(),
              help="File to write (JSON Lines); '-' writes to standard output.")
@command_app("audit export")
def audit_export(out_path: str, app: App) -> None:
    """Write the whole trail as JSON Lines with its hash chain."""
    if is_stdout(out_path):
        with open_output("-") as fh:
            res = audit_query.export_trail(app, out_path, stream=fh)
        click.echo(f"wrote {res.events} events to standard output (last hash {res.last_hash})", err=True)
        return
    res = audit_query.export_trail(app, out_path)
    click.echo(f"wrote {res.events} events to {res.path} (last hash {res.last_hash})")


COMMANDS = (audit,)
