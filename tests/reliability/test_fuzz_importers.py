"""Each importer's parser on mutated real inputs: imported, or rejected with file, place and reason.

Inputs: the bundled demo data (a Graph API harvest dump and manual captures in the generic
JSON Lines format), the saved Graph API and Instagram response bodies in
/work/shared/samples/platforms (when present) and the Facebook webhook deliveries there, and a
small X archive and Facebook export built here (as in tests/importers/test_archives.py), as a
folder and as a zip. Mutations: byte flips, truncation, inserted bytes, deleted keys, values of
the wrong type (null, numbers, lists, objects, booleans, NUL strings, huge integers), times in
year 1 and 9999, values nested 150 deep and thousands of opening brackets inserted as bytes.

The property: the import returns a summary whose every rejection names the file, the place and
a one-line reason, or raises a RingebuError with a one-line message; then the judge runs over
whatever was stored. Never another exception.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from json_paths import json_paths
from pipeline import dispose, fresh
from ringebu_journal.errors import RingebuError
from ringebu_journal.importers import run
from ringebu_journal.judging import judge_stored
from test_archives import fb_export, x_archive

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ringebu_journal" / "demo_data"
SAMPLES = Path("/work/shared/samples/platforms")

FUZZ = settings(max_examples=int(os.environ.get("RJ_FUZZ_EXAMPLES", "20")), deadline=None, derandomize=True,
                database=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

WRONG = [None, 0, -1, 1.5, "", "x", [], {}, True, "\u0000", 10 ** 30, [None], {"id": None}, "2024-13-45T99:00:00Z",
         # extreme dates (issue 15: OverflowError aborted whole imports) and deep nesting (RecursionError)
         "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "Fri Dec 31 23:59:59 -0100 9999",
         -62135596800, 253402300799999, json.loads("[" * 150 + "]" * 150)]


@st.composite
def json_mutation(draw, obj, wrong_types: bool = True):
    obj = copy.deepcopy(obj)
    spots = list(json_paths(obj))
    if not spots:
        return copy.deepcopy(draw(st.sampled_from(WRONG)))
    for _ in range(draw(st.integers(1, 3))):
        spots = list(json_paths(obj))
        if not spots:
            break
        path, key = spots[draw(st.integers(0, len(spots) - 1))]
        parent = obj
        for p in path:
            parent = parent[p]
        if not wrong_types or (isinstance(parent, dict) and draw(st.booleans())):
            del parent[key]
        else:
            parent[key] = copy.deepcopy(draw(st.sampled_from(WRONG)))   # never share (or nest) the same object
    return obj


@st.composite
def byte_mutation(draw, data: bytes):
    data = bytearray(data)
    how = draw(st.sampled_from(["flip", "truncate", "insert"]))
    if not data:
        return bytes(draw(st.binary(max_size=20)))
    pos = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            p = draw(st.integers(0, len(data) - 1))
            data[p] ^= draw(st.integers(1, 255))
    elif how == "truncate":
        del data[pos:]
    else:
        data[pos:pos] = draw(st.sampled_from([b"\x00", b"\xff\xfe", b'"', b"{", b"]", b"\\u", b"\xc3", b"\n",
                                              b"[" * 5000, b'{"a":' * 3000]))
    return bytes(data)


def check(importer, app, path: str) -> None:
    try:
        s = importer(app, path)
    except RingebuError as exc:
        assert str(exc) and "\n" not in str(exc) and "Traceback" not in str(exc)
        return
    for r in s.counts.get("rejections", []):
        assert r.get("file") and r.get("reason"), r
        assert "\n" not in r["reason"], r
    judge_stored(app)


def run_case(kind: str, build) -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        apps = fresh(f"sqlite:///{work / 'f.db'}", work / "data")
        try:
            path = build(work)
            check({"jsonl": lambda a, p: run.import_jsonl(a, [p]),
                   "dump": lambda a, p: run.import_facebook_dump(a, [p]),
                   "x": run.import_x_archive, "fbexport": run.import_facebook_export}[kind], apps["arkiv"], str(path))
        finally:
            dispose(apps)


# -- JSON Lines inputs: the demo data ------------------------------------------------------------

def _lines(name: str) -> list[bytes]:
    return (DEMO / name).read_bytes().splitlines()


JSONL_INPUTS = {"manual-captures.jsonl": "jsonl", "facebook-harvest.jsonl": "dump"}


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(JSONL_INPUTS)))
def test_demo_inputs_with_json_mutations(data, name):
    lines = _lines(name)
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = json.dumps(data.draw(json_mutation(json.loads(lines[i])))).encode()

    def build(work):
        (work / name).write_bytes(b"\n".join(lines) + b"\n")
        return work / name
    run_case(JSONL_INPUTS[name], build)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(JSONL_INPUTS)))
def test_demo_inputs_with_byte_mutations(data, name):
    raw = (DEMO / name).read_bytes()
    mutated = data.draw(byte_mutation(raw))

    def build(work):
        (work / name).write_bytes(mutated)
        return work / name
    run_case(JSONL_INPUTS[name], build)


# -- saved Graph API responses and webhook deliveries -------------------------------------------

SAMPLE_FILES = sorted(SAMPLES.glob("*/*.json")) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not SAMPLE_FILES, reason="the shared platform samples are not on this machine")
@FUZZ
@given(data=st.data())
def test_saved_graph_responses_mutated(data):
    src = data.draw(st.sampled_from(SAMPLE_FILES))
    raw = src.read_bytes()
    if data.draw(st.booleans()):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mutated = json.dumps(data.draw(json_mutation(body))).encode() if body is not None else raw
    else:
        mutated = data.draw(byte_mutation(raw))

    def build(work):
        (work / src.name).write_bytes(mutated)
        return work / src.name
    run_case("dump", build)


def test_every_saved_sample_unmutated(tmp_path):
    """Each saved response body (or webhook delivery) is imported or rejected clearly as it is."""
    apps = fresh(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "data")
    try:
        for src in SAMPLE_FILES:
            check(lambda a, p: run.import_facebook_dump(a, [p]), apps["arkiv"], str(src))
    finally:
        dispose(apps)


# -- X archive and Facebook export, built here ---------------------------------------------------

def _js_parts(files: dict) -> list[str]:
    return sorted(k for k, v in files.items() if k.endswith((".js", ".json")))


def _mutate_file(data, name: str, content, wrong_types: bool) -> bytes:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    if data.draw(st.booleans()):
        head, sep, body = text.partition("= ") if name.endswith(".js") else ("", "", text)
        try:
            obj = json.loads(body.rstrip().rstrip(";"))
            return (head + sep + json.dumps(data.draw(json_mutation(obj, wrong_types)))).encode()
        except ValueError:
            pass
    return data.draw(byte_mutation(text.encode("utf-8")))


def _archive(data, files: dict, kind: str, stem: str, wrong_types: bool = True):
    name = data.draw(st.sampled_from(_js_parts(files)))
    files = dict(files)
    files[name] = _mutate_file(data, name, files[name], wrong_types)
    as_zip = data.draw(st.booleans())
    zip_bytes_mutation = as_zip and data.draw(st.booleans())   # the zip container itself damaged

    def build(work):
        if as_zip:
            z = work / f"{stem}.zip"
            with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
                for n, v in files.items():     # fixed times: the same bytes on every run
                    zf.writestr(zipfile.ZipInfo(n, date_time=(2024, 5, 2, 10, 0, 0)), v, zipfile.ZIP_DEFLATED)
            if zip_bytes_mutation:                      # the zip container itself damaged
                z.write_bytes(data.draw(byte_mutation(z.read_bytes())))
            return z
        root = work / stem
        for n, v in files.items():
            p = root / n
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(v.encode("utf-8") if isinstance(v, str) else v)
        return root
    run_case(kind, build)


@FUZZ
@given(data=st.data())
def test_x_archive_mutated(data):
    _archive(data, x_archive(), "x", "twitter-ringebu")


@FUZZ
@given(data=st.data(), layout=st.sampled_from(["old", "2022", "2024"]))
def test_facebook_export_mutated(data, layout):
    _archive(data, fb_export(layout), "fbexport", "facebook-ringebu")
