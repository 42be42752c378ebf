"""The first pass must never hide a match: the literal-first forms match exactly what the rules
say, and the word index opens every rule that can match."""

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ringebu_journal.judge import detectors
from ringebu_journal.judge.engine import normalise
from ringebu_journal.judge.fastscan import beginnings, distribute, fast_form, word_prefixes

ROOT = Path(__file__).resolve().parents[2]
CORPORA = [ROOT / "tests/corpus/own.jsonl", ROOT / "tests/corpus/generated.jsonl",
           ROOT / "tests/corpus/holdout.jsonl"]


def corpus_texts() -> list[str]:
    return [normalise(json.loads(line)["text"]) for p in CORPORA for line in p.open(encoding="utf-8")]


def all_gated(judge):
    gated = [*judge._index[False].gated, *judge._index[True].gated, detectors._POLITICAL_GATED,
             *detectors._SENSITIVE_INDEX.gated]
    return [g for g in gated if g.alts]


def test_fast_forms_match_exactly_what_the_rules_match(judge):
    corpus = "\n".join(corpus_texts())   # one long text: every position of every message
    for g in all_gated(judge):
        for alt, fast in zip(g.alts, g.fast):
            slow = [m.span() for m in re.finditer(alt, corpus, re.M)]
            assert slow == [m.span() for m in re.finditer(fast, corpus, re.M)], alt


def test_the_word_index_opens_every_rule_that_matches(judge):
    gated = all_gated(judge)
    plain = [re.compile("|".join(f"(?:{a})" for a in g.alts)) for g in gated]
    for t in corpus_texts():
        prefixes = word_prefixes(t)
        for g, rx in zip(gated, plain):
            if rx.search(t):
                opened = g.compiled(t, prefixes)
                assert opened is not None and opened.search(t), (g.alts[:2], t)


def test_distribute_and_fast_form_examples():
    assert distribute(r"\b(?:takk|flott\w*)\b") == [r"\b(?:takk)\b", r"\b(?:flott\w*)\b"]
    assert fast_form(r"\bkrev(?:er)?\b") == r"krev(?<!\wkrev)(?:er)?\b"
    assert fast_form(r"\b(?:på)?klag") == r"\b(?:på)?klag"          # optional group: left alone
    assert fast_form(r"\b(?:jeg|eg)\s+vil") == r"\b(?:jeg|eg)\s+vil"
    assert beginnings(r"\bny adresse\b") == (frozenset({"ny "}), frozenset())
    assert beginnings(r"(?:^|\s)x") is None


WORDS = ["jeg", "klager", "på", "vedtaket", "søker", "om", "takk", "flott", "ikke", "er", "det", "noen",
         "ny", "adresse", "kan", "få", "lov", "til", "krever", "at", "sier", "opp", "ordføreren", "høyre",
         "innsyn", "2026/1234", "24089010035", "😂", "?", ".", "mobba", "rus", "russ", "avklager"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
def test_random_texts_judged_the_same_as_by_plain_expressions(judge, words):
    text = normalise(" ".join(words))
    prefixes = word_prefixes(text)
    for g in all_gated(judge):
        plain = re.compile("|".join(f"(?:{a})" for a in g.alts))
        fast = g.compiled(text, prefixes)
        want = plain.search(text) is not None
        got = fast is not None and fast.search(text) is not None
        assert want == got, (g.alts[:3], text)


def _prefixes_by_definition(text: str) -> set[str]:
    words = set(re.findall(r"\w+", text))
    out = {w[:n] for w in words for n in range(1, 5)}
    return out | {w + " " for w in words if len(w) < 4}


def test_word_prefixes_are_every_beginning_of_every_word():
    for t in corpus_texts():
        assert word_prefixes(t) == _prefixes_by_definition(t), t


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcæøå12 _-.\u00e9\u0301", max_size=60))
def test_word_prefixes_on_random_text(text):
    assert word_prefixes(text) == _prefixes_by_definition(text)


def _index_state(index):
    """Everything a rule index decides with, as plain values."""
    return ([(g.alts, g.index, g.substrings, g.always_idx, g.required) for g in index.gated],
            index.index, index.substrings, index.grouped, index.always, index.needs)


def test_each_alternative_is_parsed_once_and_its_analysis_is_the_definition(monkeypatch):
    """Building the judge's index parses each distinct alternative once (distribute's check and
    the analysis share the parse; the two author groups share the analysis), and what is kept per
    text is what a fresh parse and analysis give, so the index opens what it opened before."""
    from ringebu_journal.judge import fastscan
    from ringebu_journal.judge.engine import Judge
    from ringebu_journal.judge.fastscan import (PREFIX, RuleIndex, _parse, analyse, required_texts,
                                                split_top)
    from ringebu_journal.judge.policy import load_policy
    policy = load_policy()
    monkeypatch.setattr(fastscan, "_analysed", {})
    monkeypatch.setattr(fastscan, "_distributed", {})
    parsed: list[str] = []
    real = fastscan._parse

    def counting(text):
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(fastscan, "_parse", counting)
    judge = Judge(policy, model=None)
    assert parsed and len(parsed) == len(set(parsed)), "an alternative was parsed twice"
    monkeypatch.setattr(fastscan, "_parse", real)
    alts = {a for muni in (False, True) for g in judge._index[muni].gated for a in g.alts}
    assert len(alts) > 500
    for alt in alts:
        tree = _parse(alt)
        b = beginnings(alt, tree) if tree is not None else None
        want = None
        if b is not None and any(len(w.rstrip()) < PREFIX for w in b[0]):
            req = required_texts(alt)
            want = tuple(sorted(req)) if req is not None else None
        assert analyse(alt) == (b, want), alt
    # distribute as written before it was kept: every part parses, else the pattern whole
    for rule in policy.rules:
        for p in rule.patterns:
            for a in split_top(p):
                got = distribute(a)
                got.append("changed by a caller")   # a copy: what is kept stays as it was
                assert distribute(a) == got[:-1]
    # an index built from nothing kept is the same as one built from what was kept
    patterns = [c.rule.patterns for c in judge._citizen]
    kept = _index_state(RuleIndex(patterns))
    monkeypatch.setattr(fastscan, "_analysed", {})
    monkeypatch.setattr(fastscan, "_distributed", {})
    assert _index_state(RuleIndex(patterns)) == kept


def test_a_pattern_whose_parts_do_not_parse_alone_is_kept_whole():
    # a reference to a group in another part: the parts are not valid patterns on their own
    alt = r"\b(?:(a)x|b\1)y"
    assert re.compile(alt)
    assert distribute(alt) == [alt]
    assert distribute(r"\b(?:klag|anke)\w*") == [r"\b(?:klag)\w*", r"\b(?:anke)\w*"]
