"""One canonical form of a text for finding what must be masked, mapped back to the raw text.

Detection and masking must see the same text, and the PDF renderer must never show what they did
not see. People (and copy-paste) write the same word or number in many ways: zero-width spaces,
soft hyphens and bidi controls inside it (invisible, dropped by the renderer, so the word re-joins
in the PDF), fullwidth or mathematical-bold letters and digits, runs of spaces. :func:`fold` gives

* the canonical text: every character NFKC-folded on its own (so 𝐊 → K, ７ → 7), Unicode format
  characters (category Cf: zero-width space/joiner, soft hyphen, bidi marks and overrides) dropped,
  every run of white space one plain space, and optionally lower case;
* for each canonical character, the index of the raw character it came from.

A match found in the canonical text is turned into the raw span with :func:`raw_span`, so masking
replaces exactly the raw characters — invisible ones and doubled spaces included. Pure functions.
"""

from __future__ import annotations

import unicodedata


def is_format(ch: str) -> bool:
    """Invisible format characters: zero-width (joiner), soft hyphen, bidi marks and overrides."""
    return unicodedata.category(ch) == "Cf"


def drop_format(text: str) -> str:
    """``text`` without its format characters (what a renderer shows of it)."""
    return "".join(ch for ch in text if not is_format(ch)) if text else text


# Characters that fold keeps as they are (not format, not white space other than " ", NFKC of the
# character alone is itself), learnt as they are met; bounded by the characters Unicode has.
_KEPT: set[str] = {" "}


def _unchanged(text: str) -> bool:
    """Whether ``fold(text)`` is ``text`` itself: every distinct character is kept as it is and no
    space follows a space (most texts: the character loop is then skipped)."""
    if "  " in text:
        return False
    kept = _KEPT
    for ch in set(text):
        if ch in kept:
            continue
        if ch.isspace() or is_format(ch) or unicodedata.normalize("NFKC", ch) != ch:
            return False
        kept.add(ch)
    return True


def fold(text: str, lower: bool = False) -> tuple[str, list[int]]:
    """The canonical form of ``text`` and, for each of its characters, the raw index it came from."""
    if text and not lower and _unchanged(text):
        return text, list(range(len(text)))
    return fold_each(text, lower)


def fold_each(text: str, lower: bool = False) -> tuple[str, list[int]]:
    """``fold`` character by character: the definition, which ``fold``'s shortcut for a text it
    leaves unchanged must agree with (tested)."""
    out: list[str] = []
    idx: list[int] = []
    space = False
    for i, ch in enumerate(text or ""):
        if is_format(ch):
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if lower:
            folded = folded.lower()
        for c in folded:
            if c.isspace():
                if space:
                    continue
                space = True
                c = " "
            else:
                space = False
            out.append(c)
            idx.append(i)
    return "".join(out), idx


def fold_text(text: str, lower: bool = True) -> str:
    """Only the canonical text (for comparing names and words)."""
    return fold(text, lower)[0].strip()


def raw_span(idx: list[int], start: int, end: int) -> tuple[int, int]:
    """The raw ``(start, end)`` of the canonical match ``[start, end)``."""
    return idx[start], idx[end - 1] + 1
