"""Which language a message is written in, offline, for the judge's "unknown ground" check.

Lingua (``lingua-language-detector``) is restricted to the languages the municipality meets and
runs in its low-accuracy mode (about 10,000 short texts/s). It is built on first use and asked
only about messages of at least ``MIN_WORDS`` words whose words the model mostly does not know,
so judging ordinary Norwegian messages never pays for it. Danish is left out on purpose: bokmål
is too often taken for it.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: ISO 639-1 codes of the languages the detector chooses between.
LANGUAGES = ("nb", "nn", "en", "sv", "de", "pl", "uk", "ru", "lt", "so", "ar", "es", "fr", "ti", "fa", "tr")
MIN_WORDS = 3

_URL = re.compile(r"(?:https?://|www\.)\S+")
_WORDS = re.compile(r"[^\W\d_]{2,}")


@lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = []
    for code in LANGUAGES:
        iso = getattr(IsoCode639_1, code.upper(), None)
        if iso is None:
            continue
        try:
            langs.append(Language.from_iso_code_639_1(iso))
        except ValueError:
            continue
    return LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it is too short to tell."""
    plain = _URL.sub(" ", text)
    if len(_WORDS.findall(plain)) < MIN_WORDS:
        return None
    lang = _detector().detect_language_of(plain)
    if lang is None:
        return None
    return lang.iso_code_639_1.name.lower()
