"""``textfold.fold`` skips its character loop for a text it leaves as it is; the result must be
what the loop gives, for every kind of character the loop changes or drops."""

from __future__ import annotations

import random

from ringebu_journal import textfold


def _slow(text: str, lower: bool = False) -> tuple[str, list[int]]:
    """The character loop alone (the definition)."""
    return textfold.fold_each(text, lower)


ODD = ["  ", "\t", "\n", "\u00a0", "\u200b", "\u00ad", "\u202e", "７", "𝐊", "ﬁ", "e\u0301", "\u0301", "½", "ª",
       "\u2028", "Å", "Ω", "ǅ", "\u3000"]
PLAIN = ["Jeg", " ", "klager", "på", "vedtaket", "24089010035", "æøå", "ÆØÅ", "é", "ü", ".", ",", "!", "😂", "ß"]


def test_fold_equals_the_character_loop():
    rnd = random.Random(11)
    texts = ["", "a", " ", "Mitt fødselsnummer er 240890 10035.", "sø\u00adknad  om   plass", "２４０８９０１００３５"]
    for _ in range(3000):
        parts = [rnd.choice(PLAIN) for _ in range(rnd.randint(1, 12))]
        if rnd.random() < 0.5:
            parts.insert(rnd.randrange(len(parts) + 1), rnd.choice(ODD))
        texts.append("".join(parts))
    for t in texts:
        for lower in (False, True):
            assert textfold.fold(t, lower) == _slow(t, lower), repr(t)
