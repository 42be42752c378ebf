"""Every corpus judged by the current code, as one JSON line per message: the proof that a change
meant to keep judgments (a code move, a speed-up) keeps them byte for byte.

    python -m bench.judge_outputs OUT.jsonl        # then: cmp before.jsonl after.jsonl
    python -m bench.judge_outputs --without-policy-id OUT.jsonl

``--without-policy-id`` leaves out the policy's version and hash, for a change to the policy file
that must not change a judgment (moving vocabulary from code into the policy).

Covers the shipped training corpora, tests/corpus and bench/corpus, each message judged as written
and, with its context, as a reply; the municipality's messages as outgoing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ringebu_journal.judge import Judge
from ringebu_journal.judge.evaluate import read_labelled

ROOT = Path(__file__).resolve().parent.parent


def corpora() -> list[Path]:
    return sorted([*ROOT.glob("ringebu_journal/judge/training_data/*.jsonl"), *ROOT.glob("tests/corpus/*.jsonl"),
                   *ROOT.glob("bench/corpus/*.jsonl")])


def main(argv: list[str]) -> int:
    strip = "--without-policy-id" in argv
    out = Path([a for a in argv if not a.startswith("--")][0])
    judge = Judge()
    with out.open("w", encoding="utf-8") as f:
        for path in corpora():
            for case in read_labelled(path):
                res = judge.judge(case.text, author_is_municipality=case.author == "municipality",
                                  context=case.context)
                result = res.model_dump(mode="json")
                if strip:
                    del result["policy_version"], result["policy_hash"]
                f.write(json.dumps({"file": path.name, "id": case.id, "result": result},
                                   ensure_ascii=False, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
