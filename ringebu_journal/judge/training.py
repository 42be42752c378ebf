"""Training the judge's text model from labelled JSON Lines files (scikit-learn, at training time only).

Invariants:
- Deterministic: the files are read in sorted path order and their cases in file order; the
  vocabulary is sorted; the solver (liblinear) has a fixed seed; weights are rounded to six
  decimals and the JSON is written with sorted keys. The same files give the same bytes.
- Only the citizens' messages train the model (the municipality's own posts are judged by the
  policy alone).
- A feature enters the vocabulary when at least ``MIN_DF`` training messages have it.
- The model records which files trained it (name and SHA-256), so a test corpus can be proven
  not to be among them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ringebu_journal.errors import InputError, UsageError

from .engine import normalise
from .evaluate import LabelledCase, read_labelled
from .model import FEATURE_SCHEME, LABELS, features

MIN_DF = 2
C = 1.0
SEED = 11


@dataclass(frozen=True)
class Example:
    text: str
    context: tuple[tuple[str, bool], ...]
    labels: dict[str, bool]
    source: str


def case_labels(case: LabelledCase) -> dict[str, bool]:
    acts = {a.value for a in case.actions}
    out = {"journal": case.journal, "screen": case.screen}
    for lab in LABELS[2:]:
        out[lab] = lab in acts
    return out


def examples_from(paths: Sequence[str | Path]) -> tuple[list[Example], list[dict]]:
    """The citizens' cases of the files (sorted by path) and a record of each file."""
    out: list[Example] = []
    files: list[dict] = []
    for p in sorted(Path(x) for x in paths):
        cases = read_labelled(p)
        files.append({"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "cases": len(cases)})
        for c in cases:
            if c.author != "citizen":
                continue
            ctx = tuple((normalise(i.text), i.author_is_municipality) for i in c.context)
            out.append(Example(normalise(c.text), ctx, case_labels(c), p.name))
    return out, files


def train(paths: Sequence[str | Path], *, version: str = "", count_languages: bool = True) -> bytes:
    """Train a model on labelled files; returns the model file's bytes."""
    import numpy as np
    try:
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise UsageError("training needs scikit-learn: pip install 'ringebu-journal[train]'") from None

    if not paths:
        raise InputError("train", None, "no labelled files given", "name one or more JSON Lines files")
    examples, files = examples_from(paths)
    if len(examples) < 20:
        raise InputError(str(paths[0]), None, f"only {len(examples)} citizen cases to learn from",
                         "give at least 20 labelled citizen messages")
    feats = [features(e.text, e.context) for e in examples]
    df = Counter(f for fs in feats for f in fs)
    vocab = sorted(f for f, n in df.items() if n >= MIN_DF)
    index = {f: i for i, f in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, fs in enumerate(feats):
        idx = sorted(index[f] for f in fs if f in index)
        if not idx:
            continue
        v = 1.0 / float(np.sqrt(len(idx)))
        rows.extend([r] * len(idx))
        cols.extend(idx)
        vals.extend([v] * len(idx))
    X = csr_matrix((vals, (rows, cols)), shape=(len(examples), len(vocab)), dtype=np.float64)
    weights: dict[str, list[float]] = {}
    bias: dict[str, float] = {}
    positives: dict[str, int] = {}
    for lab in LABELS:
        y = np.asarray([1 if e.labels[lab] else 0 for e in examples])
        positives[lab] = int(y.sum())
        if y.min() == y.max():     # nothing to learn: a constant score
            weights[lab] = [0.0] * len(vocab)
            bias[lab] = 6.0 if y[0] else -6.0
            continue
        clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=SEED,
                                 max_iter=1000, tol=1e-6)
        clf.fit(X, y)
        weights[lab] = [round(float(w), 6) + 0.0 for w in clf.coef_[0]]
        bias[lab] = round(float(clf.intercept_[0]), 6) + 0.0
    languages: dict[str, int] = {}
    if count_languages:
        from .language import UNDETERMINED, detect_language
        counts = Counter(detect_language(e.text) for e in examples)
        languages = {k: v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))
                     if k is not None and k != UNDETERMINED}
    model = {
        "scheme": FEATURE_SCHEME,
        "version": version or hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()[:12],
        "labels": list(LABELS),
        "cases": len(examples),
        "positives": positives,
        "languages": languages,
        "trained_on": files,
        "settings": {"min_df": MIN_DF, "C": C, "solver": "liblinear", "class_weight": "balanced", "seed": SEED},
        "vocabulary": vocab,
        "bias": bias,
        "weights": weights,
    }
    return (json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def shipped_corpora() -> list[Path]:
    """The labelled files shipped with the program that train the default model."""
    from importlib import resources
    folder = Path(str(resources.files("ringebu_journal.judge").joinpath("training_data")))
    return sorted(folder.glob("*.jsonl"))


def write_model(data: bytes, out: str | Path) -> Path:
    """Write a model file whole or not at all (a temporary file renamed into place)."""
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(str(out), None, f"cannot write the model: {e.strerror}",
                         "choose a folder you can write to") from None
    return out


def default_model_path() -> Path:
    from importlib import resources
    from .model import DEFAULT_MODEL
    return Path(str(resources.files("ringebu_journal.judge").joinpath(DEFAULT_MODEL)))


if __name__ == "__main__":     # python -m ringebu_journal.judge.training: rebuild the shipped model
    print(write_model(train(shipped_corpora()), default_model_path()))
