"""An append-only outbox of Fiks Arkiv messages, and its validator.

Layout of an outbox folder::

    OUTBOX/
      index.jsonl                                   one line per message, in sequence order
      000001-arkivmelding.opprett-<systemID>/       payload + files + melding.json
      000002-arkivmelding.opprett-<systemID>/
      000003-arkivmelding.oppdater-<systemID>/
      000004-avskrivning.opprett-<systemID>/

Invariants:

* a message folder is written complete in a hidden ``.NAME.partial-PID-RANDOM`` sibling, each file
  fsynced, and only then renamed to its final name; after that it is never modified or deleted;
* its ``melding.json`` holds exactly the line the index gets (sequence, type, keys, files with
  SHA-256 and size), so a folder published but not yet indexed (a crash between the two steps)
  is indexed by the next :meth:`Outbox.recover` — the index is only ever appended to;
* sequence numbers run 1, 2, 3 … without gaps; the folder name begins with it, so a plain sort
  of the folder shows the order the receiver must process them in;
* one writer at a time: :meth:`Outbox.lock` takes an exclusive ``flock`` on ``OUTBOX/.lock``,
  so under the lock every partial folder belongs to a dead process and is removed.

:func:`validate_outbox` checks every message against its XSD, the files against the index's
SHA-256 and the lifecycle: no second ``opprett`` of a journalpost or saksmappe, and every
``oppdater``, ``avskrivning`` and ``dokumentobjekt`` refers to something created by an earlier
message.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from noark.arkivmelding import (
    AVSKRIVNING,
    DOKUMENTOBJEKT,
    MESSAGE_TYPES,
    OPPDATER,
    OPPRETT,
    PAYLOAD_FILE,
    PROTOKOLL,
    PayloadError,
    message_keys,
    validate_payload,
)
from noark.errors import NoarkWriteError

INDEX = "index.jsonl"
MANIFEST = "melding.json"
LOCK = ".lock"
FOLDER_RE = re.compile(r"^(\d{6,})-([a-z.]+)-([A-Za-z0-9._:-]+)$")
TYPES = tuple(t for t, _x, _f in MESSAGE_TYPES.values())

Checkpoint = Callable[[str], None]


class OutboxBusy(NoarkWriteError):
    """Another process holds the outbox's lock."""


def _noop(_name: str) -> None:
    return None


def folder_name(seq: int, mtype: str, key: str) -> str:
    return f"{seq:06d}-{mtype}-{key}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class OutboxEntry:
    """One message as the index lists it."""

    seq: int
    type: str                      # arkivmelding.opprett | arkivmelding.oppdater | avskrivning.opprett | dokumentobjekt.opprett
    key: str                       # the systemID the message is about
    folder: str
    melding_id: str
    payload: str
    keys: dict[str, Any]           # journalpost / saksmappe / dokument systemIDs and external keys
    files: list[dict[str, Any]]    # name, sha256, size (the payload first)
    meta: dict[str, Any] = field(default_factory=dict)

    def line(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "meldingstype": PROTOKOLL + self.type, "key": self.key,
                "folder": self.folder, "melding_id": self.melding_id, "payload": self.payload, "keys": self.keys,
                "files": self.files, "meta": self.meta}

    @classmethod
    def from_line(cls, d: dict[str, Any]) -> "OutboxEntry":
        return cls(seq=int(d["seq"]), type=str(d["type"]), key=str(d["key"]), folder=str(d["folder"]),
                   melding_id=str(d["melding_id"]), payload=str(d["payload"]), keys=dict(d.get("keys") or {}),
                   files=list(d["files"]), meta=dict(d.get("meta") or {}))


def _json_line(d: dict[str, Any]) -> str:
    return json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Outbox:
    """One outbox folder. Use ``with outbox.lock():`` around :meth:`recover` and :meth:`append`."""

    def __init__(self, path: str | Path):
        self.path = Path(path).absolute()

    @property
    def index_path(self) -> Path:
        return self.path / INDEX

    @contextmanager
    def lock(self) -> Iterator["Outbox"]:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(self.path / LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutboxBusy(f"{self.path}: another export is writing into this outbox — "
                                 "wait for it to finish and run the export again") from None
            yield self
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------------------------

    def entries(self) -> list[OutboxEntry]:
        """The index, in order. A damaged line raises :class:`PayloadError` naming it."""
        if not self.index_path.is_file():
            return []
        out: list[OutboxEntry] = []
        with open(self.index_path, "rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if not raw.endswith(b"\n"):
                    break                  # an unfinished last line: recover() drops it
                try:
                    out.append(OutboxEntry.from_line(json.loads(raw)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise PayloadError(f"{self.index_path}:{n}: not an index line ({exc}) — the index was changed "
                                       "by hand; restore that line from the message folder's melding.json") from None
        return out

    def published_folders(self) -> dict[int, Path]:
        out: dict[int, Path] = {}
        if not self.path.is_dir():
            return out
        for p in self.path.iterdir():
            m = FOLDER_RE.match(p.name)
            if m and p.is_dir():
                out[int(m.group(1))] = p
        return out

    def next_seq(self) -> int:
        seqs = [e.seq for e in self.entries()] + list(self.published_folders())
        return max(seqs, default=0) + 1

    # -- writing (under the lock) ----------------------------------------------------------------

    def recover(self) -> list[OutboxEntry]:
        """Clean up after a crash: drop an unfinished index line, remove partial folders (their
        process is gone: we hold the lock) and index published folders the index lacks."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.index_path.is_file():
            data = self.index_path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(self.index_path, "r+b") as fh:
                    fh.truncate(data.rfind(b"\n") + 1)
                    fh.flush()
                    os.fsync(fh.fileno())
        for p in self.path.iterdir():
            if p.name.startswith(".") and ".partial-" in p.name:
                shutil.rmtree(p, ignore_errors=True)
        indexed = {e.seq for e in self.entries()}
        added: list[OutboxEntry] = []
        for seq, folder in sorted(self.published_folders().items()):
            if seq in indexed:
                continue
            manifest = folder / MANIFEST
            try:
                entry = OutboxEntry.from_line(json.loads(manifest.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise PayloadError(f"{manifest}: cannot read the message's manifest ({exc}) — "
                                   "the folder was changed by hand; restore it") from None
            self._append_index(entry)
            added.append(entry)
        return added

    def _append_index(self, entry: OutboxEntry) -> None:
        with open(self.index_path, "ab") as fh:
            fh.write((_json_line(entry.line()) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def append(self, mtype: str, key: str, payload: bytes, files: list[tuple[str, bytes | Path]], *,
               keys: dict[str, Any], meta: dict[str, Any] | None = None,
               checkpoint: Checkpoint = _noop) -> OutboxEntry:
        """Publish one message: payload + files in a new folder, then its index line."""
        if mtype not in TYPES:
            raise NoarkWriteError(f"unknown message type {mtype!r}")
        seq = self.next_seq()
        folder = folder_name(seq, mtype, key)
        partial = self.path / f".{folder}.partial-{os.getpid()}-{secrets.token_hex(3)}"
        partial.mkdir()
        try:
            listed: list[dict[str, Any]] = []
            pname = PAYLOAD_FILE[mtype]
            for name, src in [(pname, payload), *files]:
                if "/" in name or name in (MANIFEST, "") or any(f["name"] == name for f in listed):
                    raise NoarkWriteError(f"file name {name!r} cannot be used in a message folder")
                dest = partial / name
                if isinstance(src, Path):
                    shutil.copyfile(src, dest)
                else:
                    dest.write_bytes(src)
                with open(dest, "rb") as fh:
                    os.fsync(fh.fileno())
                listed.append({"name": name, "sha256": sha256_file(dest), "size": dest.stat().st_size})
            entry = OutboxEntry(seq=seq, type=mtype, key=key, folder=folder,
                                melding_id=_melding_id(seq, mtype, key, listed[0]["sha256"]),
                                payload=pname, keys=keys, files=listed, meta=meta or {})
            (partial / MANIFEST).write_text(_json_line(entry.line()) + "\n", encoding="utf-8")
            with open(partial / MANIFEST, "rb") as fh:
                os.fsync(fh.fileno())
            _fsync_dir(partial)
            checkpoint("outbox.written")
            os.rename(partial, self.path / folder)
            _fsync_dir(self.path)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        checkpoint("outbox.published")
        self._append_index(entry)
        checkpoint("outbox.indexed")
        return entry


def _melding_id(seq: int, mtype: str, key: str, sha: str) -> str:
    """A stable message id (uuid form) from what the message is; the receiver's replies name it."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fiks-arkiv-melding:{seq}:{mtype}:{key}:{sha}"))


# -- validation ---------------------------------------------------------------------------------


@dataclass
class Problem:
    place: str
    text: str

    def line(self) -> str:
        return f"{self.place}: {self.text}"


@dataclass
class OutboxReport:
    path: str
    messages: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, place: str, text: str) -> None:
        self.problems.append(Problem(place, text))

    def to_text(self) -> str:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items())) or "no messages"
        head = (f"{self.path}: {self.messages} message(s) ({kinds}); "
                + ("valid: every message against its Fiks Arkiv XSD, files against their SHA-256, lifecycle in order"
                   if self.ok else f"{len(self.problems)} problem(s)"))
        return "\n".join([head, *("  " + p.line() for p in self.problems)])

    def to_json(self) -> str:
        return json.dumps({"path": self.path, "ok": self.ok, "messages": self.messages, "by_type": self.by_type,
                           "problems": [{"place": p.place, "problem": p.text} for p in self.problems]},
                          ensure_ascii=False, indent=2)


class Lifecycle:
    """The lifecycle rules, applied message by message in sequence order."""

    def __init__(self) -> None:
        self.created: dict[tuple[str, str], int] = {}   # (kind, systemID) → seq of its opprett
        self.cancelled: set[str] = set()

    def apply(self, seq: int, data: bytes) -> list[str]:
        k = message_keys(data)
        problems: list[str] = []
        new = {c for c in k.creates}
        for kind, sid in k.creates:
            if (kind, sid) in self.created:
                problems.append(f"second opprett of {kind} {sid} (created by message {self.created[(kind, sid)]})")
        for kind, sid in k.refers:
            if (kind, sid) not in self.created and (kind, sid) not in new:
                what = {OPPDATER: "oppdater", AVSKRIVNING: "avskrivning", DOKUMENTOBJEKT: "dokumentobjekt",
                        OPPRETT: "opprett"}[k.type]
                problems.append(f"{what} refers to {kind} {sid}, which no earlier message created")
        for kind, sid in k.creates:
            self.created.setdefault((kind, sid), seq)
        self.cancelled.update(k.cancels)
        return problems


def validate_payload_file(path: str | Path) -> OutboxReport:
    """One payload file (e.g. an arkivmelding.xml): its XSD only — a lifecycle needs the outbox."""
    p = Path(path)
    rep = OutboxReport(str(p))
    try:
        data = p.read_bytes()
    except OSError as exc:
        rep.add(p.name, f"cannot read ({exc.strerror})")
        return rep
    mtype, errors = validate_payload(data)
    rep.messages = 1
    rep.by_type[mtype or "unknown"] = 1
    for e in errors:
        rep.add(p.name, e)
    return rep


def validate_outbox(path: str | Path) -> OutboxReport:
    """Every message of an outbox: index, files, XSD and lifecycle."""
    box = Outbox(path)
    rep = OutboxReport(str(box.path))
    try:
        entries = box.entries()
    except PayloadError as exc:
        rep.add(INDEX, str(exc))
        return rep
    raw = box.index_path.read_bytes() if box.index_path.is_file() else b""
    if raw and not raw.endswith(b"\n"):
        rep.add(INDEX, "the last line is unfinished (an export was interrupted; the next export repairs it)")
    folders = box.published_folders()
    life = Lifecycle()
    expected = 1
    for e in entries:
        place = f"{INDEX} seq {e.seq}"
        if e.seq != expected:
            rep.add(place, f"expected sequence number {expected}: a message is missing or out of order")
        expected = e.seq + 1
        if e.type not in TYPES:
            rep.add(place, f"unknown type {e.type!r}")
            continue
        if e.folder != folder_name(e.seq, e.type, e.key):
            rep.add(place, f"folder {e.folder!r} is not named sequence-type-key")
        rep.messages += 1
        rep.by_type[e.type] = rep.by_type.get(e.type, 0) + 1
        folder = box.path / e.folder
        if not folder.is_dir():
            rep.add(e.folder, "listed in the index but missing (a delivered message was deleted)")
            continue
        listed = {f["name"] for f in e.files}
        for f in e.files:
            fp = folder / f["name"]
            if not fp.is_file():
                rep.add(f"{e.folder}/{f['name']}", "listed in the index but missing")
            elif fp.stat().st_size != f["size"] or sha256_file(fp) != f["sha256"]:
                rep.add(f"{e.folder}/{f['name']}", "SHA-256 or size differs from the index: the file was changed")
        for p in folder.iterdir():
            if p.name not in listed and p.name != MANIFEST:
                rep.add(f"{e.folder}/{p.name}", "not listed in the index")
        try:
            manifest = json.loads((folder / MANIFEST).read_bytes())
            if manifest != json.loads(_json_line(e.line())):
                rep.add(f"{e.folder}/{MANIFEST}", "differs from the index line")
        except (OSError, ValueError):
            rep.add(f"{e.folder}/{MANIFEST}", "missing or not JSON")
        payload = folder / e.payload
        if not payload.is_file():
            continue
        data = payload.read_bytes()
        mtype, errors = validate_payload(data)
        for err in errors:
            rep.add(f"{e.folder}/{e.payload}", err)
        if mtype != e.type:
            rep.add(f"{e.folder}/{e.payload}", f"the index says {e.type}, the payload is {mtype}")
            continue
        if errors:
            continue
        for text in life.apply(e.seq, data):
            rep.add(f"{e.folder}/{e.payload}", text)
    for seq, p in sorted(folders.items()):
        if not any(e.seq == seq for e in entries):
            rep.add(p.name, "message folder not in the index (the next export indexes it)")
    return rep
