"""Which language a message is written in, offline, for the judge's "unknown ground" check.

Lingua (``lingua-language-detector``) chooses among the languages people in a Norwegian
municipality write in: the Nordic and European languages of residents, visitors and labour
migrants, and the languages of refugees and newcomers that Lingua knows. It runs in its
low-accuracy mode (about 10,000 short texts/s), is built on first use and is asked only about
messages of at least ``MIN_WORDS`` words whose words the model mostly does not know, so judging
ordinary Norwegian messages never pays for it.

Invariant: a language outside the list can only be taken for one inside it, so the list must be
wide. With too narrow a list a Finnish message was taken for Somali, a language the model knows,
and the model's view was trusted on text it had never seen. Danish and Icelandic are left out on
purpose: dialect bokmål and nynorsk are too often taken for them; Tigrinya, Amharic and Kurdish
are not in Lingua.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: ISO 639-1 codes of the languages the detector chooses between.
LANGUAGES = ("nb", "nn", "en", "sv", "de", "nl", "fi", "et", "lv", "lt", "pl", "cs", "sk", "hu", "ro",
             "bg", "uk", "ru", "be", "hr", "bs", "sr", "sl", "sq", "mk", "el", "fr", "es", "pt", "it",
             "tr", "ar", "fa", "ur", "hi", "bn", "pa", "ta", "so", "sw", "vi", "th", "tl", "zh", "ja",
             "ko", "he", "ka", "hy", "az", "kk", "mn", "id")
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


#: The code for a text of enough words in no language of the list (a script none of them is
#: written in, such as Ge'ez for Tigrinya and Amharic): ISO 639-2's "undetermined".
UNDETERMINED = "und"


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language; ``UNDETERMINED`` when it has enough words but
    is in none of the languages listed; None when it is too short to tell."""
    plain = _URL.sub(" ", text)
    if len(_WORDS.findall(plain)) < MIN_WORDS:
        return None
    lang = _detector().detect_language_of(plain)
    if lang is None:
        return UNDETERMINED
    return lang.iso_code_639_1.name.lower()


def detect_unfamiliar(words: list[str], text: str) -> str | None:
    """The language of the words a model does not know, where there are enough of them to tell,
    else of the whole text. A message in Tigrinya with a Norwegian place name and "barnehage" in
    it is in Tigrinya, not Norwegian: the words the model already knows say least about it."""
    lang = detect_language(" ".join(words))
    return lang if lang is not None else detect_language(text)
