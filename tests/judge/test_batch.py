"""Judging a batch gives exactly what judging one message at a time gives.

``Judge.judge_many`` (what the ``judge`` command uses) scores the citizens' messages of a batch
with one ``TextModel.score_many``; every result must be the one ``Judge.judge`` gives, byte for
byte in its JSON dump, over every shipped and test corpus (as written and as replies with their
context, the municipality's messages as outgoing) and over texts at the edges of the n-gram
batching (empty, one letter, no words, characters outside the BMP, one message between long ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ringebu_journal.judge import ContextItem, Judge
from ringebu_journal.judge.engine import normalise
from ringebu_journal.judge.evaluate import read_labelled

ROOT = Path(__file__).resolve().parents[2]
CORPORA = sorted([*ROOT.glob("ringebu_journal/judge/training_data/*.jsonl"), *ROOT.glob("tests/corpus/*.jsonl"),
                  *ROOT.glob("bench/corpus/*.jsonl")])
PARENT = (ContextItem("Vil du at vi registrerer dette som en klage?", True, "parent"),)
EDGES = [
    ("", False, ()), ("a", False, ()), ("😂😂", False, ()), ("12345678901", False, ()), ("?!", False, ()),
    ("𝔞𝔟𝔠 jeg klager på vedtaket 𝔡", False, ()), ("Ja takk, gjør det.", False, PARENT),
    ("Jeg klager på vedtaket om skoleskyss for sønnen min. " * 40, False, ()),
    ("ok", False, ()), ("Kommunen svarer: se https://www.ringebu.kommune.no/vann", True, ()),
    ("Eg søkjer om plass i barnehagen frå august, fødselsnummer 24089010035.", False, PARENT),
]


def _items() -> list[tuple[str, bool, tuple[ContextItem, ...]]]:
    out = []
    for path in CORPORA:
        for case in read_labelled(path):
            out.append((case.text, case.author == "municipality", tuple(case.context)))
    return out


def _dump(res) -> str:
    return json.dumps(res.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def test_the_corpora_are_there():
    assert len(CORPORA) >= 10 and len(_items()) > 5000


def test_judge_many_gives_judge_results_byte_for_byte(judge: Judge):
    items = _items()
    single = [_dump(judge.judge(t, author_is_municipality=m, context=c)) for t, m, c in items]
    batched = []
    for i in range(0, len(items), 1000):
        batched.extend(_dump(r) for r in judge.judge_many(items[i:i + 1000]))
    assert len(batched) == len(single)
    differ = [i for i, (a, b) in enumerate(zip(single, batched)) if a != b]
    assert not differ, f"{len(differ)} differ, first: {items[differ[0]][0]!r}"


@pytest.mark.parametrize("size", [1, 2, 3, len(EDGES)])
def test_judge_many_at_the_edges(judge: Judge, size: int):
    for start in range(0, len(EDGES) - size + 1):
        part = EDGES[start:start + size]
        assert [_dump(r) for r in judge.judge_many(part)] == [
            _dump(judge.judge(t, author_is_municipality=m, context=c)) for t, m, c in part]
    assert judge.judge_many([]) == []


def test_score_many_gives_score_exactly(judge: Judge):
    model = judge.model
    items = [(normalise(t), [(normalise(x.text), x.author_is_municipality) for x in c])
             for t, _, c in _items() + EDGES]
    batched = []
    for i in range(0, len(items), 700):
        batched.extend(model.score_many(items[i:i + 700]))
    for (norm, ctx), b in zip(items, batched):
        a = model.score(norm, ctx)
        assert a.probs == b.probs and a._idx == b._idx, norm
        assert (a.known_words, a.words, a._scale) == (b.known_words, b.words, b._scale)
        assert a.top("journal", 3) == b.top("journal", 3) and a.top("screen", 3, positive=False) == b.top(
            "screen", 3, positive=False)


def test_judge_many_without_a_model_gives_the_rules_results():
    rules_only = Judge(model=None)
    items = EDGES + _items()[:400]
    assert [_dump(r) for r in rules_only.judge_many(items)] == [
        _dump(rules_only.judge(t, author_is_municipality=m, context=c)) for t, m, c in items]


def _reference_contributions(score, label: str, n: int) -> list[tuple[str, float]]:
    """``Score.contributions`` as first written: the absolute values of the label's column, the
    strongest by ``argpartition`` and a stable sort. The strongest words shown to moderators must
    stay these, ties included: the yardstick for any cheaper selection."""
    import numpy as np
    model = score._model
    j = model.labels.index(label)
    if score._rows is not None:
        col = score._rows[:, j]
    elif score._idx:
        col = model._label_weights[j][score._ids]
    else:
        return []
    strength = np.abs(col)
    if len(col) > n:
        part = np.argpartition(-strength, n - 1)[:n]
        order = part[np.argsort(-strength[part], kind="stable")]
    else:
        order = np.argsort(-strength, kind="stable")
    return [(model.vocabulary[score._idx[i]], v * score._scale) for i, v in zip(order.tolist(), col[order].tolist())]


def _reference_top(score, label: str, n: int = 3, positive: bool = True) -> list[str]:
    """``Score.top`` as first written, on the reference contributions."""
    padded = [f" {w} " for w in dict.fromkeys(score._alpha)]
    credit: dict[str, float] = {}
    for f, c in _reference_contributions(score, label, 16):
        if f.startswith(("w:", "b:")):
            keys = [f[2:]]
        elif ":" in f:
            keys = [f]
        else:
            keys = [w[1:-1] for w in padded if f in w]
        for key in keys:
            credit[key] = credit.get(key, 0.0) + c / len(keys)
    ranked = sorted(credit.items(), key=lambda kv: (-kv[1] if positive else kv[1], kv[0]))
    return [k for k, c in ranked if (c > 0) == positive][:n]


def test_strongest_words_are_the_first_definition_on_every_corpus_text(judge: Judge):
    """Every corpus text and context, scored in batches (as the command does) and one at a time:
    the contributions of every label (features, values, order, ties included) and the strongest
    words shown to moderators are what the first definition gives."""
    model = judge.model
    items = [(normalise(t), [(normalise(x.text), x.author_is_municipality) for x in c])
             for t, _, c in _items() + EDGES]
    scores = []
    for i in range(0, len(items), 1000):
        scores.extend(model.score_many(items[i:i + 1000]))
    scores.extend(model.score(norm, ctx) for norm, ctx in items[::7])    # the weight-rows path
    ties = 0
    for s in scores:
        for label in model.labels:
            got = s.contributions(label, 16)
            assert got == _reference_contributions(s, label, 16)
            values = [abs(v) for _, v in got]
            ties += len(values) != len(set(values))
        # the labels whose strongest words a moderator is shown
        for label, positive in (("journal", True), ("journal", False), ("screen", True), ("remove", True)):
            assert s.top(label, 3, positive) == _reference_top(s, label, 3, positive)
    assert len(scores) > 10_000 and ties > 100     # ties do occur, and are ordered the same
