"""Issue 18, third round (import at a third of the floor): what was changed for speed keeps
what the import stores and says.

* a new SQLite database has pages of 16 KiB (fewer B-tree pages per message row with its raw
  JSON); a database made with 4 KiB pages keeps them and imports the same rows;
* ``fastmsg.message_in`` (msgspec's check) accepts only what pydantic's ``MessageIn`` accepts,
  with equal values, and raises pydantic's own error for everything else (property test over
  values of every type); the Graph dump parser yields the same items with it as with
  ``MessageIn`` over mutated real responses (the fuzz inputs: the demo harvest and the saved
  Graph API samples, fields set to values of the wrong type or removed);
* the raw and capture hashes the parser takes from the line's bytes are the SHA-256 of what is
  stored (lines with lone surrogates, fractions and plain lines; SQLite and PostgreSQL);
* an attachment field of the wrong type (a number for a MIME type or a URL) loses that field,
  not the import (it ended as an internal error, exit 4);
* Graph's own time form read by the shortcut gives what the general time parser gives.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from imp_helpers import PAGE, canonical, dump_line, make_archivist_app, write_feed_dump
from json_paths import json_paths
from ringebu_journal.db.engine import SQLITE_PAGE_SIZE
from ringebu_journal.db.tables import Attachment, Capture, Message
from ringebu_journal.importers import graph_dump, run
from ringebu_journal.importers.fastmsg import Message as FastMessage
from ringebu_journal.importers.fastmsg import message_in
from ringebu_journal.importers.sources import open_inputs
from ringebu_journal.importers.store import OwnAccount, Record, Rejection, StatusChange
from ringebu_journal.importers.textutil import parse_graph_time, parse_time_value
from ringebu_journal.models import AttachmentIn, MessageIn, MessageKind, MessageStatus, Platform

REPO = Path(__file__).resolve().parents[2]
SAMPLES = Path("/work/shared/samples/platforms")


def _page_size(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()


POSTS = [("9001", "Informasjon om vann", [("1", "Når kommer vannet tilbake?", None), ("2", "Takk!", "1")]),
         ("9002", "Brøyting i Frya", [("3", "Vegen er ikke brøytet", None)])]


def test_a_new_sqlite_database_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path):
    new_db = tmp_path / "new.db"
    app = make_archivist_app(f"sqlite:///{new_db}", tmp_path / "data-new")
    assert SQLITE_PAGE_SIZE == 16384
    assert _page_size(new_db) == 16384
    dump = write_feed_dump(tmp_path / "dump.jsonl", POSTS)
    run.import_facebook_dump(app, [str(dump)])

    old_db = tmp_path / "old.db"
    con = sqlite3.connect(old_db)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=WAL")           # the page size is fixed from here on
    con.close()
    old = make_archivist_app(f"sqlite:///{old_db}", tmp_path / "data-old")
    assert _page_size(old_db) == 4096
    run.import_facebook_dump(old, [str(dump)])
    assert _page_size(old_db) == 4096
    assert canonical(old) == canonical(app)
    assert len(canonical(app)["messages"]) == 5
    app.db.dispose()
    old.db.dispose()


# -- msgspec's check and pydantic's ------------------------------------------------------------

UTC = timezone.utc
ANY_VALUE = [None, 0, 1, -1, 1.5, True, False, "", "x", "104_9", "facebook", "post", "active", " ", "\x00", "\ud800",
             [], [None], {}, {"a": 1}, {1: 2}, (), b"x", 10 ** 30, date(2024, 5, 1), datetime(2024, 5, 1),
             datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=2))),
             "2024-05-01T08:00:00+0000", Platform.facebook, Platform.instagram, MessageKind.comment,
             MessageStatus.hidden, [AttachmentIn(kind="photo", source_url="https://x/1.jpg")],
             [{"kind": "photo"}], type("Sub", (str,), {})("sub")]
VALID = {"platform": [Platform.facebook, Platform.messenger], "kind": [MessageKind.post, MessageKind.reply],
         "platform_message_id": ["104_1", "m_1"], "created_at": [datetime(2024, 5, 1, 8, 15, tzinfo=UTC)],
         "parent_platform_id": ["104_1", None], "post_platform_id": ["104_1", None], "conversation_id": ["t_1", None],
         "account_platform_id": [PAGE, None], "author_id": ["61", None], "author_name": ["Innbygger", None],
         "author_is_municipality": [False, True], "text": ["Når kommer vannet?", ""], "permalink": ["https://f/1", None],
         "attachments": [[], [AttachmentIn(sha256="ab" * 32, kind="photo")]],
         "status": [MessageStatus.active, MessageStatus.deleted], "extra": [{}, {"to": [{"id": "1", "name": None}]}]}
FIELDS = list(VALID)


@st.composite
def message_fields(draw):
    fields = {}
    for name in FIELDS:
        how = draw(st.sampled_from(["valid", "valid", "valid", "any", "absent"]))
        if how == "valid":
            fields[name] = draw(st.sampled_from(VALID[name]))
        elif how == "any":
            fields[name] = copy.copy(draw(st.sampled_from(ANY_VALUE)))
    if draw(st.integers(0, 9)) == 0:
        fields["unknown_field"] = 1
    return fields


def _errors(exc: ValidationError) -> list:
    return [(e["loc"], e["msg"]) for e in exc.errors()]


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(message_fields())
def test_msgspec_check_accepts_what_pydantic_accepts_with_equal_values(fields):
    try:
        expected = MessageIn(**copy.deepcopy(fields))
    except ValidationError as exc:
        with pytest.raises(ValidationError) as got:
            message_in(fields)
        assert _errors(got.value) == _errors(exc)       # pydantic's own rejection, word for word
        return
    got = message_in(fields)
    values = msgspec.structs.asdict(got) if isinstance(got, FastMessage) else got.__dict__
    assert values == expected.__dict__
    assert list(values) == list(expected.__dict__)
    assert got.thread_key() == expected.thread_key()
    assert got.content_hash() == expected.content_hash()


def test_the_usual_comment_takes_msgspec_and_the_unusual_takes_pydantic():
    fields = {name: options[0] for name, options in VALID.items()}
    assert isinstance(message_in(dict(fields)), FastMessage)
    other_zone = dict(fields, created_at=datetime(2024, 5, 1, 10, 15, tzinfo=timezone(timedelta(hours=2))))
    m = message_in(other_zone)
    assert isinstance(m, MessageIn) and m.created_at == fields["created_at"] and m.created_at.tzinfo == UTC
    with pytest.raises(ValidationError) as exc:
        message_in(dict(fields, permalink=5))
    assert _errors(exc.value) == [(("permalink",), "Input should be a valid string")]


# -- the parser with either check, over mutated real responses ---------------------------------

WRONG = [None, 0, -1, 1.5, "", "x", [], {}, True, "\u0000", 10 ** 30, [None], {"id": None}, "2024-13-45T99:00:00Z",
         "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", -62135596800, "\ud800"]


def _graph_inputs() -> list[tuple[str, bytes]]:
    out = [("facebook-harvest.jsonl", (REPO / "ringebu_journal" / "demo_data" / "facebook-harvest.jsonl").read_bytes())]
    if SAMPLES.is_dir():
        for p in sorted(SAMPLES.glob("*_graph/*.json")):
            out.append((p.name, p.read_bytes()))
    return out


def _mutations(name: str, data: bytes, every: int):
    """The input unchanged, then with one field at a time removed or set to a wrong value
    (every ``every``-th place, all the wrong values in turn)."""
    yield data
    lines = data.splitlines() if name.endswith(".jsonl") else [data]
    for li, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        for n, (path, key) in enumerate(list(json_paths(obj))):
            if n % every:
                continue
            for wrong in ["<removed>"] + WRONG:
                changed = copy.deepcopy(obj)
                parent = changed
                for p in path:
                    parent = parent[p]
                if wrong == "<removed>":
                    if not isinstance(parent, dict):
                        continue
                    del parent[key]
                else:
                    parent[key] = copy.deepcopy(wrong)
                new = list(lines)
                new[li] = json.dumps(changed).encode()
                yield b"\n".join(new) + b"\n"


def _items(path: Path, data_dir: Path) -> list:
    inputs = open_inputs([str(path)], zip_allowed=False)
    try:
        out = []
        for it in graph_dump.items(inputs, data_dir):
            if isinstance(it, Record):
                m = it.message
                values = msgspec.structs.asdict(m) if isinstance(m, FastMessage) else dict(m.__dict__)
                out.append(("record", values, it.raw, it.raw_sha256 or hashlib.sha256(it.raw.encode()).hexdigest(),
                            it.capture.sha256))
            elif isinstance(it, Rejection):
                out.append(("rejection", it.line(), it.platform))
            elif isinstance(it, OwnAccount):
                out.append(("own", it.account.model_dump()))
            else:
                assert isinstance(it, StatusChange)
                out.append(("status", it.platform, it.platform_message_id, it.status, it.detail))
        return out
    finally:
        inputs.close()


def test_the_parser_yields_the_same_items_with_msgspec_as_with_pydantic(tmp_path, monkeypatch):
    cases = 0
    fast_used = 0
    for name, data in _graph_inputs():
        for i, mutated in enumerate(_mutations(name, data, every=7)):
            path = tmp_path / f"{i}-{name}"
            path.write_bytes(mutated)
            with monkeypatch.context() as mp:
                mp.setattr(graph_dump, "message_in", lambda fields: MessageIn(**fields))
                expected = _items(path, tmp_path / "data")
            got = _items(path, tmp_path / "data")
            assert got == expected, (name, i)
            cases += 1
            fast_used += i == 0 and any(it[0] == "record" for it in got)
            path.unlink()
    assert cases > 500
    assert fast_used >= 1


# -- hashes taken from the line's bytes ---------------------------------------------------------


def test_stored_hashes_are_the_hashes_of_what_is_stored(any_app, tmp_path):
    url = f"https://graph.facebook.com/v25.0/{PAGE}/feed"
    plain = {"data": [{"id": f"{PAGE}_1", "message": "Brøyting – når?", "created_time": "2024-05-02T08:15:30+0000",
                       "from": {"name": "Ringebu kommune", "id": PAGE},
                       "comments": {"data": [{"id": "1_2", "message": "Takk 🙂", "created_time": "2024-05-02T09:00:00+0000",
                                              "from": {"name": "Kari", "id": "61"}}]}}]}
    lone = copy.deepcopy(plain)
    lone["data"][0]["id"] = f"{PAGE}_3"
    lone["data"][0]["message"] = "halv \ud83d surrogat"
    lone["data"][0]["comments"]["data"][0]["id"] = "3_4"
    fraction = copy.deepcopy(plain)
    fraction["data"][0]["id"] = f"{PAGE}_5"
    fraction["data"][0]["score"] = 1.50
    fraction["data"][0]["comments"]["data"][0]["id"] = "5_6"
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join([dump_line(plain, url), dump_line(lone, url, ascii=True), dump_line(fraction, url),
                               dump_line(plain, url).replace('"status": 200', '"status":  200')]) + "\n",
                    encoding="utf-8")
    s = run.import_facebook_dump(any_app, [str(dump)])
    assert s.rejected == 0 and s.counts["platforms"]["facebook"]["new"] == 6
    with any_app.db.read() as conn:
        msgs = conn.execute(select(Message.__table__.c.raw, Message.__table__.c.raw_sha256)).all()
        caps = conn.execute(select(Capture.__table__.c.payload, Capture.__table__.c.sha256)).all()
    assert len(msgs) == 6 and len(caps) == 4
    for raw, sha in msgs:
        assert sha == hashlib.sha256(raw.encode("utf-8")).hexdigest()
    for payload, sha in caps:
        assert sha == hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
    assert any("\\ud83d" in raw for raw, _ in msgs)                 # the lone surrogate stays an escape
    assert any('"score":1.5' in raw for raw, _ in msgs)


# -- attachment fields of the wrong type --------------------------------------------------------


def test_an_attachment_field_of_the_wrong_type_loses_that_field_not_the_import(any_app, tmp_path):
    """A number where Graph gives a MIME type, a file name or a media URL ended the whole import
    as an internal error (exit 4); now the field is left out and the message is imported."""
    url = "https://graph.facebook.com/v25.0/t_1001/messages"
    body = {"data": [
        {"id": "m_1", "message": "Her er søknaden", "created_time": "2024-05-02T08:15:30+0000",
         "from": {"name": "Kari", "id": "61"},
         "attachments": {"data": [{"id": "a1", "mime_type": 0, "name": ["x"], "size": 12,
                                   "file_url": "https://cdn.example/f.pdf"}]}},
        {"id": "m_2", "message": "Bilde", "created_time": "2024-05-02T08:16:30+0000", "from": {"name": "Kari", "id": "61"},
         "attachments": {"data": [{"id": "a2", "image_data": {"url": 5}}]}}]}
    story = {"data": [{"id": f"{PAGE}_7", "message": "Se bildet", "created_time": "2024-05-02T08:15:30+0000",
                       "attachments": {"data": [{"media_type": 3, "media": {"image": {"src": 17}}}]}}]}
    dump = tmp_path / "dump.jsonl"
    dump.write_text(dump_line(body, url, context={"platform": "messenger", "account_id": PAGE}) + "\n"
                    + dump_line(story, f"https://graph.facebook.com/v25.0/{PAGE}/feed") + "\n", encoding="utf-8")
    s = run.import_facebook_dump(any_app, [str(dump)])
    assert s.rejected == 0
    assert s.counts["platforms"]["messenger"]["new"] == 2 and s.counts["platforms"]["facebook"]["new"] == 1
    with any_app.db.read() as conn:
        atts = conn.execute(select(Attachment.__table__.c.media_type, Attachment.__table__.c.filename,
                                   Attachment.__table__.c.note)).all()
    assert sorted((a.media_type, a.filename, a.note) for a in atts) == [
        (None, None, "not fetched"), (None, None, "not fetched"), (None, None, "not fetched: https://cdn.example/f.pdf")]


# -- Graph's own time form read directly ---------------------------------------------------------


graph_times = st.builds(lambda d, sep, tz: d.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + tz,
                        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
                        st.sampled_from(["T", " ", "t"]), st.sampled_from(["+0000", "+00:00", "Z", "-0100", "+0100", ""]))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(graph_times, graph_times.map(lambda s: " " + s[1:]), graph_times.map(lambda s: s[:-1] + "0 "),
                 st.text(max_size=26).map(lambda s: s + "+0000"), st.integers(-10 ** 12, 10 ** 12), st.none()))
def test_graph_time_shortcut_gives_what_the_general_parser_gives(value):
    fast, general = parse_graph_time(value), parse_time_value(value)
    assert fast == general
    assert (fast is None) == (general is None)
    if fast is not None:
        assert fast.tzinfo == general.tzinfo == UTC and fast.utcoffset() == general.utcoffset()
