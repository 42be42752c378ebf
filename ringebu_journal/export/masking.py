"""What may be shown of a message, and where: the masking rules, in one place.

Every open text the export writes — the public journal's titles (``offentligTittel``), the names
in the public journal, the thread context inside an archive copy, the redacted variant of an
archive copy — is made here, from the screening decision and its legal ground (hjemmel). The
titles in arkivstruktur.xml and loependeJournal.xml come from :func:`without_identity_numbers`.

Rules (offentleglova = offl., forvaltningsloven = fvl.):

* **No identity number anywhere open or in a title.** Fødselsnummer, D-nummer and H-nummer (both
  mod-11 check digits, found by the judge's own detector) are replaced by ``******`` in every
  title and every open text, whatever was decided.
* **Offl. § 26 femte ledd** covers the number only: the number is masked, the sender's name and
  the rest of the text and title stay open. tilgangsrestriksjon code ``26``.
* **Offl. § 13 with fvl. § 13** (and any other ground): the words the judge marked (its mask spans),
  the sensitive words and the identifying names are masked — the sensitive vocabulary and the other
  people (by relation, role or capitalised name) that the judge's own detectors find in the text,
  the author's name and the names of the other screened people in the thread. tilgangsrestriksjon code
  ``13``. When the judge marked no words (a message screened as a whole, e.g. a
  bekymringsmelding), nothing of its text can be shown: in a thread context it is left out and
  counted, and its archive copy has no redacted variant («Skjerming av hele dokumentet»).
* **Undecided** messages (to review, or not judged) and excluded ones are never shown in another
  message's archive copy; they are left out and counted.

Masking replaces each masked word or span by ``******`` (Noark 5's convention for the public
journal, M025), case-insensitively, longest span first, so that a span inside another is never
left half-masked. Everything here is pure and deterministic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator, Sequence

from noark.journal import MASK
from ringebu_journal.judge.detectors import _NOT_NAMES, find_sensitive, find_third_parties, national_id_spans
from ringebu_journal.judge.engine import normalise
from ringebu_journal.organisation import HJEMMEL_13  # noqa: F401 - the § 13 ground, worded once there
from ringebu_journal.textfold import drop_format, fold

HJEMMEL_26 = "Offl. § 26 femte ledd"
UNNTATT = "Unntatt offentlighet"

# skjermingDokument (M503), Noark 5 / Fiks Arkiv codes H and D
SKJERMING_HELE = "Skjerming av hele dokumentet"
SKJERMING_DELER = "Skjerming av deler av dokumentet"
# variantformat (M700)
ARKIVFORMAT = "Arkivformat"
SKJERMET_VARIANT = "Dokument hvor deler av innholdet er skjermet"

_S26 = re.compile(r"§\s*26\b")
_S13 = re.compile(r"§\s*13\b")
_NAME_PART = re.compile(r"[^\W\d_]{3,}")
UNDECIDED = (None, "review")


def is_number_only(hjemmel: str | None) -> bool:
    """True when every ground given is offl. § 26 (femte ledd): only the number is screened."""
    parts = [p.strip() for p in (hjemmel or "").split(";") if p.strip()]
    return bool(parts) and all(_S26.search(p) and not _S13.search(p) for p in parts)


def tilgangskode(hjemmel: str | None) -> str:
    """The tilgangsrestriksjon code that follows the hjemmel: «26» for § 26 alone, else «13»."""
    return "26" if is_number_only(hjemmel) else "13"


def identity_numbers(text: str) -> list[str]:
    """The identity numbers written in ``text``, as written (raw, e.g. «230790  10006»)."""
    return [text[a:b] for a, b, _ in national_id_spans(text or "")]


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each raw ``(start, end)`` span (merged when they touch) replaced by the mask."""
    if not spans:
        return text
    out, pos = [], 0
    for a, b in sorted(spans):
        if a >= pos:
            out.append(text[pos:a])
            out.append(MASK)
        pos = max(pos, b)           # an overlapping span extends the mask already written
    out.append(text[pos:])
    return "".join(out)


def _replace(text: str, spans: Iterable[str]) -> str:
    """``text`` with every span masked where it occurs as a whole word, compared on the canonical
    form (``textfold.fold``: NFKC, lower case, format characters dropped, one space for a run), so a
    zero-width space inside a word, a doubled space or a mathematical-bold name is no way round;
    the raw characters of each match are replaced. Longest span first; the result carries no format
    characters (the renderer drops them, and what is shown must be what was masked)."""
    canon, idx = fold(text or "", lower=True)
    taken: list[tuple[int, int]] = []
    folded = sorted({fold(s, lower=True)[0].strip() for s in spans if s and s.strip()}, key=len, reverse=True)
    for span in folded:
        if not span or span == MASK:
            continue
        pattern = re.escape(span)
        if span[0].isalnum():
            pattern = r"(?<!\w)" + pattern
        if span[-1].isalnum():
            pattern += r"(?!\w)"
        for m in re.finditer(pattern, canon):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
    raw = [(idx[a], idx[b - 1] + 1) for a, b in taken]
    return drop_format(_mask_spans(text or "", raw))


def sensitive_words(text: str) -> list[str]:
    """What the judge's detectors find in ``text`` that § 13 screens: sensitive vocabulary (health,
    child welfare, school, social assistance …), other people by relation or role («sønnen til
    rektor», «naboen») and capitalised names with a personal matter."""
    if not text:
        return []
    canon = fold(text)[0]
    norm = normalise(canon)
    found = [h.matched for h in find_third_parties(norm, canon)]
    found += [h.matched for hits in find_sensitive(norm).values() for h in hits]
    found += capitalised_names(canon)
    found += _ACRONYM.findall(canon)
    found += [m.group(0) for m in _HARM.finditer(canon)]
    return found


# In a text screened under § 13, abbreviations name a service or a diagnosis (BUP, PPT, ADHD, NAV)
# and words of violence or abuse say what happened to someone («hun blir slått hjemme»).
_ACRONYM = re.compile(r"(?<!\w)[A-ZÆØÅ]{2,6}(?!\w)")
_HARM = re.compile(
    r"(?<!\w)(?:slått|slåtte|slår|slo|slag|juling|banket|banka|vold\w*|mishandl\w*|overgrep\w*|misbruk\w*|"
    r"sparket|sparka|truet|truga|lugget|lugga)(?!\w)", re.IGNORECASE)


_CAPITALISED = re.compile(r"(?<![\w@-])@?[A-ZÆØÅ][a-zæøåäöüéè]+(?![\w-])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[«\"(]\s*)$")
# Capitalised words that are no person: the judge's list, platforms and the channel labels of titles.
# Sentence openers (verbs, greetings, question words) before a name are no part of it: «Kan Kari …».
_NOT_PERSONS = _NOT_NAMES | {
    "Facebook", "Messenger", "Instagram", "Linkedin", "LinkedIn", "Tiktok", "TikTok", "Sosiale", "Kommune",
    "Takk", "Tusen", "Hallo", "Heisann", "God", "Gratulerer", "Husk", "Se", "Les", "Ring", "Send", "Spør",
    "Kan", "Kunne", "Vil", "Ville", "Skal", "Skulle", "Må", "Er", "Var", "Har", "Hadde", "Blir", "Får",
    "Hvordan", "Korleis", "Hvilken", "Hvilke", "Kva", "Kvifor", "Dere", "Jeg", "Eg", "Vi", "Ja", "Nei",
}


def capitalised_names(text: str) -> list[str]:
    """Capitalised words inside a sentence, and at its start when another follows («Ola Nabogutt»):
    in Norwegian these are proper names, which identify a person or the place they live."""
    hits = list(_CAPITALISED.finditer(text))
    out = []
    for i, m in enumerate(hits):
        word = m.group(0).lstrip("@")
        if word in _NOT_PERSONS:
            continue
        initial = _SENTENCE_START.search(text, 0, m.start()) is not None and not m.group(0).startswith("@")
        if initial:
            nxt = hits[i + 1] if i + 1 < len(hits) else None
            if nxt is None or text[m.end():nxt.start()] != " " or nxt.group(0) in _NOT_PERSONS:
                continue
        out.append(word)
    return out


def without_identity_numbers(text: str) -> str:
    """``text`` with every identity number masked, on the raw characters it is written with (a
    zero-width space or a doubled space inside it is masked with it); format characters dropped.
    For titles, names, file names and every open text, which must never carry one."""
    if not text:
        return text
    return drop_format(_mask_spans(text, [(a, b) for a, b, _ in national_id_spans(text)]))


def mask_words(text: str, words: Iterable[str]) -> str:
    """``text`` with each of ``words`` masked (whole words, compared on the canonical form)."""
    words = [w for w in words if w and w.strip()]
    return _replace(text, words) if words and text else text


def thread_words(context: Sequence[dict[str, Any]], decisions: dict[int, Any]) -> list[str]:
    """The words the judge (or a moderator) marked to mask in the messages of a thread screened
    under offl. § 13 or another ground that masks names: masked wherever the thread repeats them.
    Identity numbers are masked everywhere anyway."""
    out: list[str] = []
    for c in context:
        d = decisions.get(c["id"])
        if d is None or getattr(d, "decision", None) in UNDECIDED:
            continue
        scr = screening_of(d)
        if scr.masks_names:
            out.extend(sp for sp in scr.spans if sp and sp.strip() and sp.strip() != MASK)
    return out


def name_spans(names: Iterable[str]) -> list[str]:
    """Each name and each of its parts of three letters or more (a first name alone identifies too)."""
    out: list[str] = []
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        out.append(name)
        canon = fold(name)[0]
        out.extend(p for p in _NAME_PART.findall(canon) if p[0].isupper())
        if _BIDI_OVERRIDE.search(name):
            # «Live\u202e nesuaH» is shown as «Live Hausen»: the visual name and its parts too
            head, tail = _BIDI_OVERRIDE.split(name, 1)
            tail = _BIDI_POP.split(tail, 1)[0]
            shown = f"{fold(head)[0].strip()} {fold(tail)[0][::-1].strip()}".strip()
            out.append(shown)
            out.extend(p for p in _NAME_PART.findall(shown) if p[0].isupper())
    return out


_BIDI_OVERRIDE = re.compile("[\u202e\u2067]")
_BIDI_POP = re.compile("[\u202c\u2069]")


@dataclass(frozen=True)
class Screening:
    """The screening of one message: whether, on which ground, and which words the judge marked."""

    screen: bool
    hjemmel: str | None
    spans: tuple[str, ...] = ()

    @property
    def number_only(self) -> bool:
        return self.screen and is_number_only(self.hjemmel)

    @property
    def masks_names(self) -> bool:
        """§ 13 and other grounds mask identifying names; § 26 (5) does not."""
        return self.screen and not is_number_only(self.hjemmel)

    @property
    def partly_showable(self) -> bool:
        """Whether a masked text can be shown: § 26, or words marked to mask under § 13."""
        return not self.screen or self.number_only or bool(self.spans)

    def open_text(self, text: str, names: Sequence[str] = ()) -> str:
        """``text`` as it may be shown openly (identity numbers always masked)."""
        masked = without_identity_numbers(text or "")
        if not self.screen:
            return _replace(masked, self.spans) if self.spans else masked
        if self.number_only:
            return _replace(masked, self.spans)
        return _replace(masked, [*self.spans, *name_spans(names), *sensitive_words(masked)])

    def open_name(self, name: str) -> str:
        return MASK if self.masks_names and (name or "").strip() else name


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def json_strings(raw: str | None) -> list[str]:
    """The raw JSON text and every string in it once decoded (a ``\\u200b`` escape hides nothing)."""
    if not raw:
        return []
    try:
        return [raw, *_strings(json.loads(raw))]
    except ValueError:
        return [raw]


def screen_identity_numbers(decision: Any, text: str | None, *also: str | None) -> Any:
    """``decision`` screened by offl. § 26 femte ledd when ``text`` — or any of ``also``: the
    author's name, the attachments' file names, the Originaldata and its fields — holds an
    identity number and the decision does not screen it already; the numbers of ``text`` join the
    spans to mask. (The Originaldata is then not open: it is kept whole, number and all.)"""
    ids = identity_numbers(text or "")
    elsewhere = any(identity_numbers(t or "") for t in also)
    if not ids and not elsewhere:
        return decision
    spans = tuple(getattr(decision, "mask", ()) or ())
    spans += tuple(i for i in ids if i not in spans)
    if getattr(decision, "screen", False):
        return replace(decision, mask=spans)
    return replace(decision, screen=True, hjemmel=HJEMMEL_26, mask=spans)


def screening_of(decision: Any) -> Screening:
    """The :class:`Screening` of an export decision (``screen``, ``hjemmel``, ``mask``)."""
    screen = bool(getattr(decision, "screen", False))
    return Screening(screen=screen, hjemmel=getattr(decision, "hjemmel", None) if screen else None,
                     spans=tuple(getattr(decision, "mask", ()) or ()))


def public_title(tittel: str, screening: Screening, names: Sequence[str] = ()) -> str:
    """offentligTittel (M025): the title with the screened words masked, never the whole title."""
    return screening.open_text(tittel, names)


# -- thread context of an archive copy -------------------------------------------------------


@dataclass(frozen=True)
class ContextView:
    """What a context message shows in another message's archive copy."""

    show: bool
    text: str = ""
    author: str = ""
    reason: str = ""            # why it is left out: "undecided" | "excluded" | "screened"
    masked: bool = False


def context_view(message: dict[str, Any], decision: Any, participants: Sequence[str],
                 words: Sequence[str] = ()) -> ContextView:
    """How ``message`` may appear in the thread context of another message's archive copy.

    ``participants``: the names of the people screened under § 13 elsewhere in the thread; they
    are masked in this message's text whatever its own screening."""
    kind = getattr(decision, "decision", None)
    if kind in UNDECIDED:
        return ContextView(False, reason="undecided")
    if kind == "exclude":
        return ContextView(False, reason="excluded")
    scr = screening_of(decision)
    author = message.get("author_name") or ""
    if not scr.partly_showable:
        return ContextView(False, reason="screened")
    person = not message.get("author_is_municipality")     # the municipality's name is never screened
    text = message.get("text") or ""
    shown = scr.open_text(text, ([author] if person else []) + list(participants) if scr.masks_names else ())
    if participants or words:
        # the screened people are not named in any open text of the thread (a reply names them),
        # nor is what was masked in another message of the thread (``thread_words``)
        shown = _replace(shown, [*name_spans(participants), *words])
    name = scr.open_name(author) if person else author
    return ContextView(True, text=shown, author=name, masked=shown != text or name != author)
