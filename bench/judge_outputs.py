"""Every corpus judged by the current code, as one JSON line per message: the proof that a change
meant to keep judgments (a code move, a speed-up) keeps them byte for byte.

    python -m bench.judge_outputs OUT.jsonl        # then: cmp before.jsonl after.jsonl
    python -m bench.judge_outputs --batch OUT.jsonl
    python -m bench.judge_outputs --without-policy-id OUT.jsonl
    python -m bench.judge_outputs --fingerprint [--against BEFORE.jsonl]   # what `make bench` runs

``--fingerprint`` writes both (one at a time and in batches) to a temporary directory, checks that
they are the same bytes and prints one JSON line with the number of results and the SHA-256 of
the output: run it before and after a speed change with the same policy and model, and the two
hashes must be equal (``--against`` compares with a file written before, byte for byte, and exits
1 when they differ).

``--without-policy-id`` leaves out the policy's version and hash, for a change to the policy file
that must not change a judgment (moving vocabulary from code into the policy). ``--batch`` judges
with ``Judge.judge_many`` in batches of 1,000 (what the ``judge`` command does) instead of one
message at a time; both must write the same bytes.

Covers the shipped training corpora, tests/corpus and bench/corpus, each message judged as written
and, with its context, as a reply; the municipality's messages as outgoing; and 20,000 messages
of the benchmark's generated mix (``bench/judge.py``, seed 7), with its thread replies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

from ringebu_journal.judge import ContextItem, Judge
from ringebu_journal.judge.evaluate import read_labelled

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
MIX = 20_000


def corpora() -> list[Path]:
    return sorted([*ROOT.glob("ringebu_journal/judge/training_data/*.jsonl"), *ROOT.glob("tests/corpus/*.jsonl"),
                   *ROOT.glob("bench/corpus/*.jsonl")])


def cases() -> Iterator[tuple[str, str, tuple[str, bool, tuple[ContextItem, ...]]]]:
    """(file, id, (text, author_is_municipality, context)) of every message judged."""
    for path in corpora():
        for case in read_labelled(path):
            yield path.name, case.id, (case.text, case.author == "municipality", tuple(case.context))
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_judge", ROOT / "bench" / "judge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    for i, item in enumerate(mod.make_mix(MIX, 7)):
        yield "bench-mix", str(i), item


def results(judge: Judge, batch: bool) -> Iterator[tuple[str, str, dict]]:
    """(file, id, result dumped as JSON) of every case, judged one at a time or in batches."""
    if not batch:
        for name, cid, (text, muni, ctx) in cases():
            yield name, cid, judge.judge(text, author_is_municipality=muni, context=ctx).model_dump(mode="json")
        return
    pending: list[tuple[str, str, tuple[str, bool, tuple[ContextItem, ...]]]] = []

    def flush():
        for (name, cid, _), res in zip(pending, judge.judge_many([p[2] for p in pending])):
            yield name, cid, res.model_dump(mode="json")
        pending.clear()

    for case in cases():
        pending.append(case)
        if len(pending) == BATCH:
            yield from flush()
    yield from flush()


def write(out: Path, judge: Judge, batch: bool, strip: bool = False) -> int:
    """Write every result to ``out``; how many were written."""
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for name, cid, result in results(judge, batch):
            if strip:
                del result["policy_version"], result["policy_hash"]
            f.write(json.dumps({"file": name, "id": cid, "result": result}, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def fingerprint(against: Path | None = None) -> dict:
    """Both ways of judging written and compared; the output's SHA-256."""
    import hashlib
    import tempfile
    judge = Judge()
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one.jsonl", Path(tmp) / "many.jsonl"
        n = write(one, judge, batch=False)
        write(many, judge, batch=True)
        data = one.read_bytes()
        same = data == many.read_bytes()
    out = {"figure": "judge outputs", "results": n, "sha256": hashlib.sha256(data).hexdigest(),
           "batch_equals_single": same, "policy_version": judge.policy.version, "model_hash": judge.model_hash}
    if against is not None:
        out["equals_reference"] = against.read_bytes() == data
    return out


def main(argv: list[str]) -> int:
    if "--fingerprint" in argv:
        ref = argv[argv.index("--against") + 1] if "--against" in argv else None
        fp = fingerprint(Path(ref) if ref else None)
        print(json.dumps(fp))
        return 0 if fp["batch_equals_single"] and fp.get("equals_reference", True) else 1
    out = Path([a for a in argv if not a.startswith("--")][0])
    write(out, Judge(), "--batch" in argv, strip="--without-policy-id" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
