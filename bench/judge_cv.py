"""Held out by writer: each independent training file judged by a model trained without it.

    python -m bench.judge_cv [--cache DIR] [--set key=value ...] [--rules-only]

For each independent writer's file of the shipped training data (``train-NN.jsonl``, and the
blind corpora from ``blind3.jsonl`` on, which joined the training data after their first-run
figures were recorded), a model is trained on every other shipped file and the left-out file is
judged with the rules and that model; the figures of each
file and of all of them pooled are printed (JSON lines). ``--cache`` keeps the trained models (by
the training files' hashes), so other ``[model]`` settings (``--set remove_at=0.4``) can be tried
without training again. The test corpora in bench/corpus are never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import sys
from pathlib import Path

from ringebu_journal.judge import Judge, load_policy
from ringebu_journal.judge.evaluate import evaluate_cases, read_labelled
from ringebu_journal.judge.model import parse_model
from ringebu_journal.judge.training import shipped_corpora

#: The files written by one independent writer each, held out in turn.
WRITER_FILE = re.compile(r"^(train-\d+|blind([3-9]|\d\d+))\.jsonl$")

FIGURES = ("journal_recall", "journal_precision", "review_load", "screening_recall", "recall_remove",
           "recall_refer_political", "recall_reply", "recall_thank", "channel_consistency")


def _ratio(hits: int, total: int) -> float:
    return round(hits / total, 3) if total else 1.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--rules-only", action="store_true")
    ap.add_argument("--C", type=float, default=None, help="the regularisation to train with (default: training.C)")
    args = ap.parse_args(argv)
    from ringebu_journal.judge import training
    if args.C is not None:
        training.C = args.C
    policy = load_policy()
    settings = dict(policy.model)
    for kv in args.set:
        k, v = kv.split("=", 1)
        settings[k] = type(settings[k])(float(v)) if not isinstance(settings[k], str) else v
    policy = dataclasses.replace(policy, model=settings)
    files = shipped_corpora()
    held = [p for p in files if WRITER_FILE.match(p.name)]
    pooled: dict[str, list[int]] = {}
    for p in held:
        rest = [q for q in files if q != p]
        key = hashlib.sha256("".join(hashlib.sha256(q.read_bytes()).hexdigest() for q in rest).encode()).hexdigest()[:16]
        if training.C != 1.0:
            key += f"-C{training.C:g}"
        cached = Path(args.cache) / f"{key}.json" if args.cache else None
        if cached is not None and cached.exists():
            data = cached.read_bytes()
        else:
            data = training.train(rest, count_languages=True)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(data)
        judge = Judge(policy, model=None if args.rules_only else parse_model(data, p.name))
        rep = evaluate_cases(read_labelled(p), judge, str(p))
        d = rep.model_dump(mode="json")
        ratios = {"journal_recall": d["journal_recall"], "journal_precision": d["journal_precision"],
                  "review_load": d["review_load"], "screening_recall": d["screening_recall"],
                  "channel_consistency": d["channel_consistency"],
                  **{f"recall_{a}": d["action_recall"][a] for a in ("remove", "refer_political", "reply", "thank")}}
        row = {"file": p.name, "cases": rep.cases}
        for k in FIGURES:
            h, t = ratios[k]["hits"], ratios[k]["total"]
            row[k] = _ratio(h, t)
            acc = pooled.setdefault(k, [0, 0])
            acc[0] += h
            acc[1] += t
        print(json.dumps(row))
    print(json.dumps({"file": "pooled", **{k: _ratio(*pooled[k]) for k in FIGURES}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
