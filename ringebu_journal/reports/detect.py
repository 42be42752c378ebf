"""Direct checks on the text, where the text says more reliably than a category whether a duty
was met: a link to the municipality's website, a reply that refers to the post address or to
the political level, a reply that decides a case, a national identity number.

Identity numbers are found by the judge's own detector (``judge.detectors.national_id_spans``),
so the compliance report and the judge never disagree on what is one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

from ringebu_journal.judge.detectors import national_id_spans

# A reply that sends the citizen to the ordinary post address, the archive's inbox or a form.
REFERRAL_POST = re.compile(
    r"\b(?:post(?:adresse|mottak|boks)?|e-?post(?:adresse)?|epost|skjema\w*|søknadsskjema\w*|"
    r"sende?\s+(?:inn|det|den|saken|søknaden|klagen|henvendelsen|kravet|innsynskravet)\b[^.!?]{0,40}\b(?:til|via)|"
    r"skriftleg|skriftlig|edialog|svarut|digitalt\s+skjema|brev)\b",
    re.IGNORECASE,
)

# A reply that sends a political message on to the political level.
REFERRAL_POLITICAL = re.compile(
    r"\b(?:ordfør[ea]r\w*|varaordfør[ea]r\w*|kommunestyre\w*|formannskap\w*|politisk\w*|politiker\w*|"
    r"politikar\w*|folkevalgt\w*|folkevald\w*|gruppeleiar\w*|gruppeleder\w*|innbyggerforslag\w*|"
    r"innbyggjarforslag\w*|utval\w*|utvalg\w*)\b",
    re.IGNORECASE,
)

# The municipality deciding a personal case in public: "søknaden din er innvilget", "du har fått plass".
_CASE_OBJECT = r"(?:søknad(?:en)?\s+din|din\s+søknad|søknaden\s+om\s+\w+|klagen\s+din|din\s+klage|saka\s+di|saken\s+din|din\s+sak)"
_CASE_VERB = (r"(?:innvilg\w*|avslått|avslag|avvist|godkjent|godkjend|behandla|behandlet|tatt\s+til\s+følge|"
              r"ikke\s+tatt\s+til\s+følge|ikkje\s+teke\s+til\s+følgje)")
OWN_CASE_HANDLING = re.compile(
    rf"\b(?:{_CASE_OBJECT}\s+(?:er|vart|ble|blir|har\s+blitt)\s+(?:\w+\s+)?{_CASE_VERB}|"
    rf"(?:du|dere|de)\s+(?:har\s+fått|får|fekk|fikk)\s+(?:\w+\s+)?(?:plass|innvilg\w*|avslag|vedtak|tilskot|tilskudd)|"
    rf"vi\s+har\s+(?:nå\s+)?(?:innvilg\w*|avslått|godkjent|behandlet|behandla)\s+(?:søknad|klage|saka?|saken))",
    re.IGNORECASE,
)


@lru_cache(maxsize=16)
def _domain_pattern(domain: str) -> re.Pattern:
    # www.ringebu.kommune.no/… and sub-domains count; an e-mail address (post@…) is not a link.
    return re.compile(r"(?<![@\w.-])(?:[\w-]+\.)*" + re.escape(domain.lower().strip(".")) + r"(?![\w-]|\.[\w-])",
                      re.IGNORECASE)


def links_to(domain: str, texts: Iterable[str]) -> bool:
    """Whether any of the texts (message text, attachment URLs) links to the domain."""
    rx = _domain_pattern(domain)
    return any(t and rx.search(t) for t in texts)


def refers_to_post(text: str) -> bool:
    return bool(REFERRAL_POST.search(text or ""))


def refers_to_political(text: str) -> bool:
    return bool(REFERRAL_POLITICAL.search(text or ""))


def looks_like_case_handling(text: str) -> str | None:
    m = OWN_CASE_HANDLING.search(text or "")
    return m.group(0) if m else None


_NOT_DIGIT = re.compile(r"[^0-9]")


def identity_numbers(text: str) -> list[str]:
    """Valid Norwegian national identity numbers (fødselsnummer, D-nummer, H-nummer) in the text,
    as their eleven digits, however they were written."""
    t = text or ""
    return [_NOT_DIGIT.sub("", unicodedata.normalize("NFKC", t[a:b])) for a, b, _ in national_id_spans(t)]


def mask_number(number: str) -> str:
    return number[:6] + "*****"
