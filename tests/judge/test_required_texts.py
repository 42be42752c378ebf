"""The rule index closes an alternative whose required text is absent, and opens alternatives
behind an optional leading group by their words. Neither may hide a match: checked against the
plain expressions over every corpus text (the shipped training data, tests/corpus, bench/corpus)
and over generated adversarial strings (strings each alternative matches, and the same with a
character cut out or changed)."""

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ringebu_journal.judge import detectors
from ringebu_journal.judge.engine import normalise
from ringebu_journal.judge.fastscan import RuleIndex, beginnings, required_texts, word_prefixes

ROOT = Path(__file__).resolve().parents[2]


def every_corpus_text() -> list[str]:
    paths = sorted([*ROOT.glob("ringebu_journal/judge/training_data/*.jsonl"), *ROOT.glob("tests/corpus/*.jsonl"),
                    *ROOT.glob("bench/corpus/*.jsonl")])
    out = []
    for p in paths:
        for line in p.open(encoding="utf-8"):
            if line.strip():
                case = json.loads(line)
                out.append(normalise(case["text"]))
                ctx = case.get("context")
                for item in ctx if isinstance(ctx, list) else [ctx]:
                    text = item.get("text") if isinstance(item, dict) else item
                    if text:
                        out.append(normalise(text))
    return out


def indexes(judge) -> list[RuleIndex]:
    return [judge._index[False], judge._index[True], detectors._SENSITIVE_INDEX]


def plain_expressions(index: RuleIndex) -> list[re.Pattern | None]:
    return [re.compile("|".join(f"(?:{a})" for a in g.alts)) if g.alts else None for g in index.gated]


def assert_index_hides_nothing(index: RuleIndex, plain: list[re.Pattern | None], text: str) -> None:
    """Every rule whose plain expression matches is opened, and the expression the engine runs
    for it finds the same first match."""
    opened = index.open_alternatives(text, word_prefixes(text))
    for r, rx in enumerate(plain):
        if rx is None:
            continue
        want = rx.search(text)
        got = index.regex_for(r, opened.get(r))
        found = got.search(text) if got is not None else None
        assert (want is None) == (found is None), (index.gated[r].alts[:3], text)
        if want is not None:
            assert want.span() == found.span(), (index.gated[r].alts[:3], text)


def test_required_texts_examples():
    assert required_texts(r"\b(?:herved)\s+(?:en\s+|ei\s+)?(?:formell\s+)?klage\b") == {"klage"}
    assert required_texts(r"\b(?:i)\s+(?:vet|veit)\s+hvor\s+(?:du|de)\s+(?:bor|live[sd]?)\b") == {"bor", "live"}
    assert required_texts(r"\bpåklag\w*") == {"påklag"}          # longer than the word index's 4 letters
    assert required_texts(r"\bvil(?:le)?\b") is None               # nothing beyond the beginning
    assert required_texts(r"\bx(?:abc|)y") is None                 # an empty branch requires nothing
    assert required_texts(r"(?i)\bfoo\s+klage") is None            # flags change what a literal matches
    assert required_texts(r"\bfoo\s+(?i:klage)") is None
    assert required_texts(r"\bfoo\s+(?:klage)?\s+bar") == {"bar"}  # the optional "klage" is not required


def test_optional_leading_group_is_indexed_by_its_words():
    assert beginnings(r"\b(?:på)?(?:klag(?:er|e)?|anke)\b") == (frozenset({"påkl", "påan", "klag", "anke"}), frozenset())
    assert beginnings(r"\b(?:alvorlig\w*\s+)?avvik\b") == (frozenset({"alvo", "avvi"}), frozenset())
    assert beginnings(r"\b(?:x)?") is None                       # can match nothing: always run


def test_every_match_contains_a_required_text(judge):
    corpus = "\n".join(every_corpus_text())
    checked = 0
    for index in indexes(judge):
        for r, need in index.needs.items():
            alts = index.gated[r].alts
            for i, texts in need.items():
                for m in re.finditer(alts[i], corpus):
                    assert any(t in m.group(0) for t in texts), (alts[i], m.group(0))
                    checked += 1
    assert checked > 1000


def test_the_index_hides_no_match_in_any_corpus_text(judge):
    texts = every_corpus_text()
    assert len(texts) > 14_000
    for index in indexes(judge):
        plain = plain_expressions(index)
        for t in texts:
            assert_index_hides_nothing(index, plain, t)


def _alternatives(judge) -> list[str]:
    return [a for index in indexes(judge) for g in index.gated for a in g.alts]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_adversarial_strings_judged_as_by_the_plain_expressions(judge, data):
    alts = _alternatives(judge)
    alt = alts[data.draw(st.integers(0, len(alts) - 1), label="alternative")]
    text = data.draw(st.from_regex(alt), label="match")
    if text and data.draw(st.booleans(), label="mutate"):
        k = data.draw(st.integers(0, len(text) - 1), label="at")
        ch = data.draw(st.sampled_from(["", " ", "e", "\n", "å", "."]), label="to")
        text = text[:k] + ch + text[k + 1:]
    for index in indexes(judge):
        assert_index_hides_nothing(index, plain_expressions(index), text)
