"""Held out by writer: each independent training file judged by a model trained without it.

    python -m bench.judge_cv [--cache DIR] [--set key=value ...] [--rules-only]
    python -m bench.judge_cv --cache DIR --set case_review_at=0.33,0.36 --set dismiss_below=0.35,0.40

For each independent writer's file of the shipped training data (``train-NN.jsonl``, and the
blind corpora from ``blind3.jsonl`` on, which joined the training data after their first-run
figures were recorded), a model is trained on every other shipped file and the left-out file is
judged with the rules and that model; the figures of each
file and of all of them pooled are printed (JSON lines). ``--cache`` keeps the trained models (by
the training files' hashes), so other ``[model]`` settings (``--set remove_at=0.4``) can be tried
without training again; ``--set key=v1,v2`` tries every combination of the values given and prints
one pooled line for each (how the policy's ``[model]`` weighing is chosen). The test corpora in
bench/corpus are never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
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


def _settings_grid(base: dict, pairs: list[str]) -> list[dict]:
    """Every combination of the ``--set key=v1,v2,…`` values over the policy's own settings."""
    keys, values = [], []
    for kv in pairs:
        k, _, v = kv.partition("=")
        if k not in base:
            raise SystemExit(f"--set {kv}: unknown [model] setting {k!r}; use one of {', '.join(sorted(base))}")
        cast = type(base[k]) if not isinstance(base[k], bool) else (lambda x: x.lower() in ("1", "true"))
        keys.append(k)
        values.append([cast(float(x)) if cast in (int, float) else cast(x) for x in v.split(",")])
    return [{**base, **dict(zip(keys, combo))} for combo in itertools.product(*values)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="")
    ap.add_argument("--set", action="append", default=[],
                    help="a [model] setting, key=value; key=v1,v2,… tries each (every combination)")
    ap.add_argument("--rules-only", action="store_true")
    ap.add_argument("--C", type=float, default=None, help="the regularisation to train with (default: training.C)")
    args = ap.parse_args(argv)
    from ringebu_journal.judge import training
    if args.C is not None:
        training.C = args.C
    base_policy = load_policy()
    grid = _settings_grid(dict(base_policy.model), args.set)
    files = shipped_corpora()
    held = [p for p in files if WRITER_FILE.match(p.name)]
    folds = []
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
        folds.append((p, None if args.rules_only else parse_model(data, p.name), read_labelled(p)))
    for settings in grid:
        policy = dataclasses.replace(base_policy, model=settings)
        pooled: dict[str, list[int]] = {}
        for p, model, cases in folds:
            rep = evaluate_cases(cases, Judge(policy, model=model), str(p))
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
            if len(grid) == 1:
                print(json.dumps(row))
        tried = {k: settings[k] for k in dict.fromkeys(kv.partition("=")[0] for kv in args.set)}
        print(json.dumps({"file": "pooled", **({"settings": tried} if len(grid) > 1 else {}),
                          **{k: _ratio(*pooled[k]) for k in FIGURES}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
