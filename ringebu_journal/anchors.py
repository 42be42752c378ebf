"""Anchors of the audit trail outside the database: export heads and signed checkpoints.

The hash chain (:mod:`ringebu_journal.audit`) proves that the stored events agree with each
other. It cannot prove that they are the events that were written: whoever can write the table
can rewrite every event from some point on and recompute every hash with the published recipe,
and the chain verifies again. An anchor is a head — an event's sequence number and hash —
copied somewhere the database's writers cannot reach; the trail still contains the head when
the event at that sequence still has that hash, which holds only if that event and every event
before it are unchanged.

Where the heads are kept:

* a Noark 5 package (folder or ``.tar``): ``arkivuttrekk.xml``,
  ``dataset/reference/context/additionalElements/additionalElement[@name="auditTrailHead"]``
  with the properties ``sequence`` and ``sha256`` — the head when the package's content was read;
* an arkivmelding outbox: every message's ``melding.json`` and its ``index.jsonl`` line,
  ``meta.audit_seq`` and ``meta.audit_head`` — the head of the export's snapshot;
* a checkpoint file (``audit checkpoint --key``): the head and the time, signed with an Ed25519
  private key kept outside the database; the public key checks it.

Invariants:

* a head is checked only against the event with its sequence number: same sequence, same hash;
  a trail shorter than the head's sequence does not contain it (the newest events were deleted);
* a checkpoint whose signature does not verify with any given public key proves nothing and is
  reported as such; its head is then not checked;
* the private key file is created with mode 0600 and is never read by any other command.

What an anchor does not prove: that the events before it were true when written (a person
with write access could have recorded a false event before the anchor was made), nor anything
about events after it; and an anchor can only be trusted as far as the place it is kept (the
depot's copy of a package, the archive system's copy of a message, a checkpoint kept by someone
without write access to the database).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .clock import now, utc
from .db.tables import AuditEvent
from .errors import UsageError

AUDIT = AuditEvent.__table__
PACKAGE_GROUP = "auditTrailHead"          # the additionalElement of arkivuttrekk.xml
CHECKPOINT_FORMAT = "ringebu-journal-checkpoint/1"


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def short(self) -> str:
        return f"event {self.seq} ({self.hash[:16]}…)"


@dataclass(frozen=True)
class Anchor:
    head: Head
    source: str                 # where it was found, for the report line


def current_head(conn: Connection) -> Head | None:
    """The newest event's sequence and hash (None on an empty trail)."""
    row = conn.execute(select(AUDIT.c.seq, AUDIT.c.hash).order_by(AUDIT.c.seq.desc()).limit(1)).first()
    return Head(row.seq, row.hash) if row else None


def package_context(head: Head | None) -> dict[str, dict[str, str]]:
    """The extra context group of arkivuttrekk.xml that carries ``head`` (empty: no events yet)."""
    if head is None:
        return {}
    return {PACKAGE_GROUP: {"sequence": str(head.seq), "sha256": head.hash}}


def contains(conn: Connection, head: Head) -> str | None:
    """None when the trail holds ``head`` (same sequence, same hash); else why it does not."""
    found = conn.execute(select(AUDIT.c.hash).where(AUDIT.c.seq == head.seq)).scalar()
    if found is None:
        return f"the trail has no event {head.seq}: events were deleted"
    if found != head.hash:
        return f"event {head.seq} now has hash {found[:16]}…, not {head.hash[:16]}…: the trail was rewritten"
    return None


# -- heads kept in exports ---------------------------------------------------------------------


def _head(seq: Any, digest: Any, where: str) -> Head:
    try:
        n = int(seq)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise UsageError(f"{where}: the audit head there is not a sequence number and a SHA-256 hash — "
                         "give a package or outbox written by ringebu-journal")
    return Head(n, digest)


def _arkivuttrekk_bytes(path: Path) -> bytes:
    if path.is_dir():
        file = path / "arkivuttrekk.xml"
        if not file.is_file():
            raise UsageError(f"{path}: no arkivuttrekk.xml and no index.jsonl — give a Noark 5 package or an "
                             "arkivmelding outbox")
        return file.read_bytes()
    try:
        with tarfile.open(path) as tf:
            for member in tf:
                if member.isfile() and member.name.count("/") <= 1 and member.name.endswith("arkivuttrekk.xml"):
                    fh = tf.extractfile(member)
                    return fh.read() if fh else b""
    except (tarfile.TarError, OSError):
        pass
    raise UsageError(f"{path}: not a Noark 5 package folder or tar file — give the package written by `export noark5`")


def anchors_in(path: str | Path) -> list[Anchor]:
    """The heads kept in a Noark 5 package (folder or tar) or an arkivmelding outbox."""
    from noark.addml import read_kontekst

    p = Path(path)
    if not p.exists():
        raise UsageError(f"--against {path}: no such file or folder — give a package or outbox")
    if p.is_dir() and (p / "index.jsonl").is_file():
        return _outbox_anchors(p)
    data = _arkivuttrekk_bytes(p)
    try:
        group = read_kontekst(data, PACKAGE_GROUP)
    except Exception:  # noqa: BLE001 - lxml raises several kinds for a damaged file
        raise UsageError(f"{p}: arkivuttrekk.xml is not readable XML — give the package as exported") from None
    if group is None:
        raise UsageError(f"{p}: arkivuttrekk.xml carries no audit head (additionalElement {PACKAGE_GROUP!r}) — "
                         "the package was written before heads were recorded; verify against a newer one")
    return [Anchor(_head(group.get("sequence"), group.get("sha256"), f"{p}/arkivuttrekk.xml"), str(p))]


def _outbox_anchors(box: Path) -> list[Anchor]:
    seen: dict[Head, str] = {}
    index = box / "index.jsonl"
    with open(index, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                meta = json.loads(raw).get("meta") or {}
            except (ValueError, AttributeError):
                raise UsageError(f"{index} line {n}: not a JSON object — restore it from the message folder's "
                                 "melding.json") from None
            if "audit_head" not in meta:
                continue        # written before heads were recorded
            head = _head(meta.get("audit_seq"), meta.get("audit_head"), f"{index} line {n}")
            seen.setdefault(head, f"{box} (message {json.loads(raw).get('seq', n)})")
    if not seen:
        raise UsageError(f"{box}: no message in index.jsonl carries an audit head — verify against a newer outbox")
    return [Anchor(h, src) for h, src in seen.items()]


# -- signed checkpoints ------------------------------------------------------------------------


def _serialization():
    from cryptography.hazmat.primitives import serialization

    return serialization


def generate_keypair(private_path: str | Path, public_path: str | Path) -> str:
    """Write a new Ed25519 key pair (private key PEM with mode 0600); return the key id."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ser = _serialization()
    priv, pub = Path(private_path), Path(public_path)
    for f in (priv, pub):
        if f.exists():
            raise UsageError(f"{f} exists already — choose a new file (a key is never overwritten)")
        if not f.parent.is_dir():
            raise UsageError(f"{f}: folder {f.parent} does not exist — create it or choose another file")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(priv, 0o600)
    pub.write_bytes(key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo))
    return key_id(key.public_key())


def key_id(public_key: Any) -> str:
    ser = _serialization()
    raw = public_key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _load_private(path: str | Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"--key {path}: cannot read ({exc.strerror}) — give the private key file made by "
                         "`audit keygen`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(f"--key {path}: readable by others (mode {stat.S_IMODE(mode):o}) — run `chmod 600 {path}`")
    try:
        key = _serialization().load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise UsageError(f"--key {path}: not an unencrypted PEM private key — give the file made by "
                         "`audit keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"--key {path}: not an Ed25519 key — make one with `audit keygen`")
    return key


def load_public(path: str | Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"--public-key {path}: cannot read ({exc.strerror}) — give the public key file") from None
    try:
        key = _serialization().load_pem_public_key(data)
    except (ValueError, TypeError):
        raise UsageError(f"--public-key {path}: not a PEM public key — give the file made by `audit keygen`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"--public-key {path}: not an Ed25519 key")
    return key


def _signed_bytes(body: dict[str, Any]) -> bytes:
    fields = {k: body[k] for k in ("format", "seq", "hash", "at", "key_id")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def make_checkpoint(head: Head, key_path: str | Path, at: datetime | None = None) -> dict[str, Any]:
    """A signed checkpoint of ``head``: the JSON object a checkpoint file holds."""
    key = _load_private(key_path)
    when = utc(at or now()).strftime("%Y-%m-%dT%H:%M:%SZ")
    body: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "seq": head.seq, "hash": head.hash, "at": when,
                            "key_id": key_id(key.public_key())}
    body["signature"] = base64.b64encode(key.sign(_signed_bytes(body))).decode("ascii")
    return body


def write_checkpoint(body: dict[str, Any], out: str | Path) -> Path:
    p = Path(out)
    if p.exists():
        raise UsageError(f"--out {out} exists already — give a new file (a checkpoint is never overwritten)")
    if not p.parent.is_dir():
        raise UsageError(f"--out {out}: folder {p.parent} does not exist — create it or choose another file")
    tmp = p.with_name(p.name + ".part")
    tmp.write_text(json.dumps(body, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p


def read_checkpoint(path: str | Path, public_keys: list[Any]) -> Anchor:
    """The head of a checkpoint file whose signature verifies with one of ``public_keys``.

    UsageError for an unreadable file; :class:`BadSignature` when no key verifies it."""
    from cryptography.exceptions import InvalidSignature

    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError
        signed = _signed_bytes(body)
        signature = base64.b64decode(body["signature"], validate=True)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise UsageError(f"--checkpoint {path}: not a checkpoint file — give a file written by "
                         "`audit checkpoint`") from None
    for pub in public_keys:
        try:
            pub.verify(signature, signed)
        except InvalidSignature:
            continue
        return Anchor(_head(body["seq"], body["hash"], str(path)), f"checkpoint {path} of {body['at']}")
    raise BadSignature(f"checkpoint {path}: its signature does not verify with any given public key — "
                       "it was altered or signed with another key")


class BadSignature(Exception):
    """A checkpoint whose signature no given public key verifies."""
