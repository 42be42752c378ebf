"""Detectors for what plain patterns cannot judge well: identity numbers with check digits,
suspicious links, addressing the political level, sensitive vocabulary and third parties.

Every detector takes the normalised text (NFKC, lower case), the original text (for the few
signals that live in capital letters, like the party abbreviation "H") and the municipality's own
domain, and returns a list of ``Hit``. Detectors are named in the policy file (``detector = …``),
so archive staff decide what a hit means; this module only finds them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable
from urllib.parse import urlsplit

from stdnum.no import fodselsnummer

from ringebu_journal.textfold import fold, raw_span

from .fastscan import Gate, GatedRegex, RuleIndex, split_top, word_prefixes


@dataclass(frozen=True)
class Hit:
    matched: str
    detail: str = ""


# --------------------------------------------------------------------------------------------
# National identity numbers: fødselsnummer, D-nummer (day + 40), H-nummer (month + 40)

# Eleven digits: the date (DDMMYY) and five more, written together, 6+5, or grouped 2-2-2-3-2, with
# any run of spaces, dots or dashes between the groups; found on the canonical text (``textfold``:
# NFKC, format characters such as zero-width spaces and soft hyphens dropped), so «150385\u200b10190»
# and «230790  10006» are found. Not part of a longer number, a case number (2026/1234), a decimal
# or a bank account (1503.32.12345: a break after four digits needs one after two).
_SEP = r"[ .\-\u2010-\u2015\u2212]*"
_FNR = re.compile(
    r"(?<![\d+])(?<!\d[/.,\-])(\d\d)(" + _SEP + r")(\d\d)(" + _SEP + r")(\d\d)(" + _SEP + r")(\d{3})("
    + _SEP + r")(\d\d)(?![\d/])(?![.,\-]\d)"
)
_FIVE_DIGITS = re.compile(r"\d{5}")
_DIGIT = re.compile(r"\d")
_NOT_FNR_BEFORE = re.compile(
    r"(?<!\w)(?:konto\w*|kontonr|account|acc|iban|bic|org\.?\s*nr|organisasjonsnummer|tlf|telefon\w*|"
    r"mobil\w*|ring|phone|tel|faktura\w*|kid|ordre\w*|referanse|ref)\W{0,3}(?:nr\.?|nummer|number|no\.?)?\W{0,3}$",
    re.IGNORECASE,
)


def national_id_kind(number: str) -> str:
    """fødselsnummer, D-nummer or H-nummer for a valid 11-digit number."""
    if int(number[0]) >= 4:
        return "D-nummer"
    if 4 <= int(number[2]) <= 5:
        return "H-nummer"
    return "fødselsnummer"


def national_id_spans(text: str) -> list[tuple[int, int, str]]:
    """Each valid identity number in ``text`` as ``(start, end, kind)`` of the raw text: found on
    the canonical form and mapped back, so invisible characters and doubled spaces inside it are
    part of the span."""
    if not text or len(_DIGIT.findall(text)) < 11:
        return []
    canon, idx = fold(text)
    out = []
    for m in _FNR.finditer(canon):
        seps = [m.group(i) for i in (2, 4, 6, 8)]
        if seps[1] and not seps[0]:
            continue                                   # 1503.32.12345: a bank account
        number = "".join(m.group(i) for i in (1, 3, 5, 7, 9))
        if _NOT_FNR_BEFORE.search(canon, max(0, m.start() - 25), m.start()):
            continue
        if fodselsnummer.is_valid(number):
            start, end = raw_span(idx, m.start(), m.end())
            out.append((start, end, national_id_kind(number)))
    return out


def find_national_ids(norm: str, orig: str = "", own_domain: str = "") -> list[Hit]:
    """Valid Norwegian identity numbers (both mod-11 check digits), however written (see ``_FNR``)."""
    return [Hit(norm[a:b], kind) for a, b, kind in national_id_spans(norm)]


# --------------------------------------------------------------------------------------------
# Suspicious links

_URL = re.compile(
    r"(?:https?://|hxxps?://|www\.)[^\s<>\"'()\[\]{}]+"
    r"|\b(?:[a-z0-9][a-z0-9-]*\.)+[a-z]{2,}(?:/[^\s<>\"'()\[\]{}]*)?(?![\w.-])"
)


@dataclass(frozen=True)
class LureLists:
    """What the link detectors compare against; the policy's ``[lures]`` table (the brand lists
    live there, not here). Domains are registrable domains (``nav.no``), matched with every
    subdomain."""

    brands: dict[str, tuple[str, ...]]          # brand word → its real domains
    short_brands: frozenset[str]                # matched only as a whole label ("nav", not "navigator")
    trusted: frozenset[str]
    shorteners: frozenset[str]
    free_hosting: frozenset[str]
    suspicious_tlds: frozenset[str]
    own_lure_tokens: frozenset[str]             # with the municipality's name in a foreign host
    host_lure_words: frozenset[str] = frozenset()   # a foreign host named for paying, verifying, logging in

    @cached_property
    def all_trusted(self) -> frozenset[str]:
        """The trusted domains and every brand's own domains (worked out once per lists)."""
        return self.trusted | frozenset(d for ds in self.brands.values() for d in ds)


_DEFAULT_LURES: list[LureLists] = []


def default_lures() -> LureLists:
    """The shipped policy's lists (for callers that judge links without a policy at hand)."""
    if not _DEFAULT_LURES:
        from .policy import load_policy
        _DEFAULT_LURES.append(load_policy().lures)
    return _DEFAULT_LURES[0]


@lru_cache(maxsize=1)
def _extractor():
    import tldextract
    # the public suffix list bundled with tldextract; never fetched
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> tuple[str, str]:
    """(registrable domain, public suffix) of a host by the public suffix list: ("nav.no", "no");
    ("", "") when the host has no known public suffix."""
    ext = _extractor()(host)
    if not ext.suffix or not ext.domain:
        return "", ""
    return f"{ext.domain}.{ext.suffix}", ext.suffix


_LURE_PATH = re.compile(
    r"(?:^|[/._=?&-])(?:log-?in|signin|sign-in|verify|verif\w*|confirm\w*|claim|prize|premie\w*|gevinst|"
    r"reward|gift|bonus|winner|vinn\w*|unlock|secure|account|konto|update|oppdater\w*|bekreft\w*|betal\w*|"
    r"payment|pay|refund|track\w*|sporing|wallet|recover\w*|appeal|support-case|checkpoint)(?:$|[/._=?&-])"
)


def _host_of(url: str) -> tuple[str, str]:
    u = url.replace("hxxp", "http", 1)
    if not re.match(r"[a-z][a-z0-9+.-]*://", u):
        u = "http://" + u
    try:
        parts = urlsplit(u)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return "", ""
    return host, parts.path + ("?" + parts.query if parts.query else "")


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


_LEET = str.maketrans("0134578", "oleastb")     # digits written for letters


def _near_brand(token: str, brand: str) -> bool:
    """One edit (or a digit for a letter) away from a long brand name: faceb00k, vlpps, postten."""
    if len(brand) < 5 or abs(len(token) - len(brand)) > 1 or token == brand:
        return False
    t = token.translate(_LEET)
    if t == brand:
        return True
    if len(t) == len(brand):
        return sum(a != b for a, b in zip(t, brand)) == 1
    short, long_ = (t, brand) if len(t) < len(brand) else (brand, t)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def classify_link(url: str, own_domain: str = "ringebu.kommune.no", lures: LureLists | None = None) -> str:
    """Why a link is suspicious ("ip", "punycode", "lookalike:…", "shortener", "free-hosting",
    "tld", "lure-host", "lure-path"), or "" when it is not. The municipality's own domain is
    trusted; the lists come from the policy (``lures``, the shipped policy's when None)."""
    lures = lures or default_lures()
    host, path = _host_of(url)
    if not host:
        return ""
    own = own_domain.lower().strip(".")
    if own and (_under(host, own) or (own.startswith("www.") and _under(host, own[4:]))):
        return ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return "ip"
    except ValueError:
        pass
    if "xn--" in host or not host.isascii():
        return "punycode"
    if any(_under(host, d) for d in lures.shorteners):
        return "shortener"
    trusted = any(_under(host, d) for d in lures.all_trusted)
    registered, suffix = registered_domain(host)
    tokens = re.split(r"[.-]", host[: len(host) - len(suffix) - 1] if suffix else host)
    # a look-alike of the municipality itself: "ringebu-kommune-login.com", "ringebu-skatt.com"
    labels = [part for part in own.split(".") if part != "www"]
    own_label = labels[0] if labels else ""
    if own_label and not trusted and own_label in tokens and any(t in lures.own_lure_tokens for t in tokens):
        return f"lookalike:{own_label}"
    if not trusted:
        for brand in lures.brands:
            if brand in lures.short_brands:
                if brand in tokens:
                    return f"lookalike:{brand}"
            elif any(brand in t or _near_brand(t, brand) for t in tokens):
                return f"lookalike:{brand}"
    if any(_under(host, d) for d in lures.free_hosting):
        return "free-hosting"
    if trusted:
        return ""
    if (suffix or host).rsplit(".", 1)[-1] in lures.suspicious_tlds:
        return "tld"
    if any(t in lures.host_lure_words for t in tokens):
        return "lure-host"
    if _LURE_PATH.search(path.lower()):
        return "lure-path"
    return ""


_LINK_HINT = re.compile(r"://|www\.|\.[a-z]{2,8}(?:/|\b)")


# The last answer as one immutable pair (the suspicious-link and lure-link detectors ask for the
# same message in turn).
_links_last: tuple[str | None, tuple[str, ...]] = (None, ())


def find_links(norm: str) -> list[str]:
    """Links in a text: with a scheme or www., or a bare host whose ending is a public suffix
    (so "e.coli" and "dr.lunde" are no links)."""
    global _links_last
    cached = _links_last
    if cached[0] == norm:
        return list(cached[1])
    if "." not in norm or _LINK_HINT.search(norm) is None:
        return []
    out = []
    for m in _URL.finditer(norm):
        url = m.group(0).rstrip(".,;:!?")
        if not url.startswith(("http", "hxxp", "www.")):
            host = url.split("/", 1)[0]
            if not registered_domain(host)[0] or host.replace(".", "").isdigit():
                continue
        out.append(url)
    _links_last = (norm, tuple(out))
    return out


Classify = Callable[[str, str], str]


def link_classifier(lures: LureLists | None = None, size: int = 4096) -> Classify:
    """``classify_link`` with these lists, remembering its answer per (link, own domain): the
    same link is asked about by two detectors, and a scam link comes back in many messages."""
    @lru_cache(maxsize=size)
    def classify(url: str, own_domain: str) -> str:
        return classify_link(url, own_domain, lures)
    return classify


def find_suspicious_links(norm: str, orig: str = "", own_domain: str = "ringebu.kommune.no",
                          lures: LureLists | None = None, classify: Classify | None = None) -> list[Hit]:
    hits = []
    for url in find_links(norm):
        why = classify(url, own_domain) if classify else classify_link(url, own_domain, lures)
        if why:
            hits.append(Hit(url, why))
    return hits


_LURE_WORDS = re.compile(
    r"\b(?:gratis|free|vinn\w*|vant|vunnet|win(?:ner|ning)?|gavekort\w*|gift ?card|premie\w*|gevinst\w*|"
    r"klikk her|trykk her|click here|del (?:dette|innlegget|posten)|share this|registrer deg|register now|"
    r"bekreft (?:konto\w*|identitet\w*|opplysning\w*)|verify your|confirm your|logg inn|log in|"
    r"pakken din|your (?:package|parcel|account)|betal \d+|tilbud kun i dag|begrenset antall|de \d+ første|"
    r"first \d+|kun i dag|only today)\b"
)


def find_lure_links(norm: str, orig: str = "", own_domain: str = "ringebu.kommune.no",
                    lures: LureLists | None = None, classify: Classify | None = None) -> list[Hit]:
    """A link to a foreign site with lure words around it (free prizes, "klikk her", confirm your
    account): the shape of a scam even when the address itself looks ordinary."""
    links = find_links(norm)
    if not links or _LURE_WORDS.search(norm) is None:
        return []
    own = own_domain.lower().strip(".")
    base = own[4:] if own.startswith("www.") else own
    hits = []
    for url in links:
        host, _ = _host_of(url)
        if host and not _under(host, base) and not (
                classify(url, own_domain) if classify else classify_link(url, own_domain, lures)):
            hits.append(Hit(url, "lokketekst"))
    return hits


def find_missing_own_link(norm: str, orig: str = "", own_domain: str = "ringebu.kommune.no") -> list[Hit]:
    """Fires (with an empty match) when the text has no link to the municipality's own website."""
    own = own_domain.lower().strip(".")
    base = own[4:] if own.startswith("www.") else own
    for url in find_links(norm):
        host, _ = _host_of(url)
        if host and _under(host, base):
            return []
    return [Hit("", f"ingen lenke til {base}")]


# --------------------------------------------------------------------------------------------
# Addressing the political level

_POLITICAL = re.compile(
    r"\b(?:varaordfør|ordfør)[ae]r\w*|\bmayor\b|\bkommunestyre(?!sal|møte)\w*|\bformannskap\w*|\bbystyre\w*|"
    r"\b(?:hovedutvalg|utvalg)(?:et|ene)?\s+for\b|utvalget\b|\bpolitiker\w*|\bpolitikar\w*|\bpolitisk\w*|"
    r"\bparti(?:et|er|ene|a|ane)?\b|\b(?:mener|meiner|stemte|stemmer|lovte|lovet|lova|lovde|synes|vil)\s+(?:høyre|venstre|rødt|ap|sp|senter)\b|\b(?:høyre|venstre|rødt|ap|sp)\s+(?:mener|meiner|stemte|stemmer|lovte|lovet|lova|lovde|vil|sier|seier)\b|\bvalgløfte\w*|\bvalprogram\w*|\bvalgprogram\w*|\bvalkamp\w*|"
    r"\bvalgkamp\w*|\binnbyggerforslag\w*|\binnbyggjarforslag\w*|\bgruppeleder\w*|\brepresentant(?:ene|en|ar)?\b|"
    r"\bcouncil(?:lor)?s?\b|\barbeiderpartiet\b|\bsenterpartiet\b|\bfremskrittspartiet\b|\bframstegspartiet\b|"
    r"\bmiljøpartiet\b|\bsosialistisk venstreparti\b|\bkristelig folkeparti\b|\bindustri- og næringspartiet\b|"
    r"\b(?:frp|krf|mdg|sv|inp)(?:-\w+)?\b|\bhvem\s+stemte\b|\bkven\s+stemte\b|\bstemte\s+(?:for|mot|imot)\b"
)
# Short abbreviations and ordinary words are party names only in capitals and near politics:
# "Hva mener Høyre", "Ap og Sp stemte", but not "til høyre" or "rødt lys".
_PARTY_CASED = re.compile(r"(?<![\w-])(?:Ap|AP|Sp|SP|H|V|R|Høyre|Venstre|Rødt|Senter)(?![\w-])")
_POLITICAL_NEAR = re.compile(
    r"\b(?:mener|meiner|stemte|stemmer|røystar|lovte|lover|valg\w*|val\b|parti\w*|program\w*|kommunestyre\w*|"
    r"representant\w*|gruppa|gruppen|politikk|politisk\w*|står for|sitt syn|posisjon\w*|opposisjon\w*|ordfør\w*)\b"
)


_POLITICAL_GATED = GatedRegex((_POLITICAL.pattern,))


def find_political(norm: str, orig: str = "", own_domain: str = "") -> list[Hit]:
    hits = []
    hits = [Hit(m.group(0), "politisk nivå") for m in _POLITICAL_GATED.finditer(norm, word_prefixes(norm))]
    if orig and orig != orig.lower():
        for m in _PARTY_CASED.finditer(orig):
            start = m.start()
            # A capital at the start of a sentence is not evidence of a name on its own.
            sentence_start = start == 0 or orig[max(0, start - 2):start].strip() in (".", "!", "?", "")
            word = m.group(0)
            if sentence_start and word in ("H", "V", "R"):
                continue
            lo, hi = max(0, start - 60), m.end() + 60
            if _POLITICAL_NEAR.search(orig[lo:hi].lower()) or re.search(
                    rf"{re.escape(word)}\s*(?:,|og|\+|&)\s*(?:Ap|Sp|H|V|R|Frp|SV|KrF|MDG|INP)\b", orig[start:hi]):
                hits.append(Hit(word, "partinavn"))
    return hits


# --------------------------------------------------------------------------------------------
# Sensitive vocabulary (screening) and third parties

SENSITIVE: dict[str, str] = {
    "helse": (
        r"diagnos\w*|sjukdom\w*|sykdom\w*|sykemeld\w*|sjukmeld\w*|sykmeld\w*|innlagt|innlegging\w*|"
        r"psykiatri\w*|psykisk\w*|psykose\w*|psykolog\w*|depresjon\w*|deprimert|angst\w*|kreft\w*|cancer|"
        r"cellegift\w*|demens|dement|alzheimer\w*|parkinson\w*|autis\w*|asperger\w*|adhd|epilepsi\w*|diabet\w*|insulin\w*|"
        r"schizofren\w*|bipolar\w*|spiseforstyrr\w*|anoreksi\w*|bulimi\w*|hjerneslag\w*|hjerteinfarkt\w*|slag(?:et)? i (?:haust|høst|fjor|vår|sommar|sommer|vinter)|"
        r"cerebral parese|downs? syndrom|utviklingshemm\w*|funksjonshemm\w*|funksjonsnedsett\w*|rullestol\w*|"
        r"medisin(?:er|ene|ering\w*)|medikament\w*|selvmord\w*|sjølvmord\w*|suicid\w*|overdose\w*|hiv|"
        r"abort\w*|gravid\w*|svangerskap\w*|lam(?:met)?\b|blind\b|døv\b|hørselshemm\w*|synshemm\w*|"
        r"slagpasient\w*|terminal\w*|palliativ\w*|dialyse|legeerklæring\w*|"
        r"avlastning\w*|bpa|brukerstyrt personlig assistanse|omsorgsstønad\w*|omsorgslønn\w*|"
        r"støttekontakt\w*|hc-kort\w*|hc-parkering\w*|parkeringstillatelse for forflytningshemmede|"
        r"handikap\w*|uføretrygd\w*|ufør|uføre|arbeidsavklaringspeng\w*|sjukemeld\w*|"
        r"trygghetsalarm\w*|hjemmesykepleie\w*|heimesjukepleie\w*|sykehjemsplass\w*|sjukeheimsplass\w*|"
        r"oppkast|diaré|diare|omgangssyke\w*|astma\w*|allergi\w*|lungebetennelse|pleie(?:r|ar)\s+(?:kona|mannen|mor|far)\w*|"
        r"demens\w*|går seg bort|gå seg bort|gikk seg bort|niepełnospraw\w*|zaświadczenie od lekarza|choroba|chory|"
        r"інвалід\w*|хвороб\w*|лікар\w*|астм\w*"
    ),
    "barnevern": (
        r"barnevern\w*|fosterheim\w*|fosterhjem\w*|fosterbarn\w*|fosterforeld\w*|omsorgsovertak\w*|"
        r"bekymringsmelding\w*|vold\w*|overgrep\w*|mishandl\w*|blåmerk\w*|omsorgssvikt\w*|incest|"
        r"seksuelle?\s+overgrep\w*"
    ),
    "skole": (
        r"ppt|pp-tjenest\w*|pedagogisk[- ]psykologisk\w*|spesialundervisning\w*|spesialpedagog\w*|"
        r"sakkyndig vurdering\w*|individuell opplæringsplan|iop|dysleksi\w*|lærevansk\w*|"
        r"lese- og skrivevansk\w*"
    ),
    "mobbing": (r"mobb\w*|krenk\w*|utestengt|trakasser\w*|kap(?:ittel)?\.? 9 ?a|§ ?9 ?a|blir plaget|blir plaga|"
                r"plages|erta|ertet|frosset ut|fryst ut|holdt utenfor|haldt utanfor"),
    "rus": (
        r"rus|rusen|rusbruk\w*|rusmisbruk\w*|rusavhengig\w*|rusbehandling\w*|rusproblem\w*|rusomsorg\w*|"
        r"rusmiddel\w*|rusmidler\w*|alkoholi\w*|alkoholproblem\w*|narkotika\w*|narkoman\w*|heroin|amfetamin|"
        r"hasj|kokain|promille\w*|avrusning\w*|metadon|lar-pasient\w*|fyllekjør\w*|misbruk\w*"
    ),
    "sosialhjelp": (
        r"sosialhjelp\w*|sosialstønad\w*|økonomisk\s+(?:sosial)?(?:hjelp|stønad)|nødhjelp|"
        r"kvalifiseringsprogram\w*|livsopphold\w*|gjeldsrådgiv\w*|gjeldsordning\w*|tvangssalg\w*|utkastelse\w*|"
        r"sosialen|sosialkontor\w*|har (?:ikke|ikkje|itj) råd|(?:ikke|ikkje|itj) (?:penger|pengar) til|"
        r"hjelp med husleia|hjelp til husleia|kr på konto\w*|dagpengene er (?:ikke|ikkje) kommet"
    ),
    "fengsel": (
        r"fengsel\w*|fengsla|soning\w*|soner|sonet|dømt\w*|straffedømt|kriminalomsorg\w*|varetekt\w*|"
        r"siktet|tiltalt|anmeldt|domfelt\w*|straffe?attest\w*|voldsdom\w*|ble arrestert|arrestert"
    ),
    "familie": (r"skilsmiss\w*|samlivsbrudd\w*|barnefordeling\w*|foreldretvist\w*|barneloven|besøksforbud\w*|"
               r"hemmelig adresse|sperret adresse|fortrolig adresse|strengt fortrolig adresse|kode 6|kode 7|innelåst"),
}
_SENSITIVE_KINDS = list(SENSITIVE)
_SENSITIVE_INDEX = RuleIndex([tuple(rf"\b(?:{a})\b" for a in split_top(SENSITIVE[k])) for k in _SENSITIVE_KINDS])
_sensitive_last: tuple[str | None, dict[str, list[Hit]]] = (None, {})   # one pair, replaced atomically


def find_sensitive(norm: str) -> dict[str, list[Hit]]:
    """All sensitive vocabulary in one pass, by kind (the last answer is kept for the next kind)."""
    global _sensitive_last
    cached = _sensitive_last
    if cached[0] == norm:
        return cached[1]
    found: dict[str, list[Hit]] = {}
    for r, alts in _SENSITIVE_INDEX.open_alternatives(norm, word_prefixes(norm)).items():
        rx = _SENSITIVE_INDEX.regex_for(r, alts)
        kind = _SENSITIVE_KINDS[r]
        hits = [Hit(m.group(0), kind) for m in rx.finditer(norm)]
        if hits:
            found[kind] = hits
    _sensitive_last = (norm, found)
    return found

_RELATIONS = (r"sønnen|sonen|dattera|datteren|dottera|dotter|kona|konen|mannen|faren|far|moren|mora|mor|"
              r"broren|bror|søstera|søsteren|søster|kjæresten|samboeren|eksen|barna|borna|ungen|ungene|"
              r"onkelen|tanta|bestemoren|bestefaren|svigermor|svigerfar")
_THIRD_PARTY = re.compile(
    rf"\b(?:{_RELATIONS})\s+(?:til|åt|hans|hennes)\s+\w+|"
    r"\bnabo(?:en|ene|jenta|gutten|kona|mannen|barna|ungen|ungane|jenten)\b|\b(?:grannen|læreren|lærerinna|rektoren|rektor|treneren|sjefen|lederen|rådmannen|"
    r"assistenten|sykepleieren|legen|presten|vaktmesteren|kona hans|mannen hennes)\b|"
    r"\b(?:han|hun|ho|hu|dem|de)\s+som\s+(?:bor|bur|jobber|jobbar|går|er|eier|driver|kjører|sitter|sit|står|"
    r"underviser|selger|sel|har)\b|"
    r"\b(?:gutten|jenta|mannen|kvinnen|dama|fyren|karen|familien|paret|ungen|kona)\s+(?:i|på|ved|som bor i|som bur i)\s+"
    r"(?:(?:det|den)\s+)?(?:\w+\s+){0,2}?(?:nr\.?\s*\d+|huset|hus|blokka|gata|garden|gården|\w+vegen|\w+veien)\b"
)
# A capitalised name with a personal matter: "Ola på 7. trinn", "Kari har", "@Per Hansen".
_NAME = re.compile(
    r"@[A-ZÆØÅ]\w+(?: [A-ZÆØÅ]\w+)?|(?<![\w.])[A-ZÆØÅ][a-zæøå]{1,15}(?: [A-ZÆØÅ][a-zæøå]{1,15})?"
    r"(?= (?:på|i) \d{1,2}\.? ?(?:trinn|klasse)| (?:har|er|fikk|fekk|sitter|sit|satt|sat|ble|vart|går|bruker|tar|får|ligger|låg|lå)\b"
    r"| på [A-ZÆØÅ][a-zæøå]+)"
)
_THIRD_PARTY_GATE = Gate((_THIRD_PARTY.pattern,))
_NOT_NAMES = frozenset({
    "Jeg", "Eg", "Vi", "Me", "Han", "Hun", "Ho", "Det", "Den", "De", "Dere", "Dokker", "Du", "Kommunen",
    "Ringebu", "Fåvang", "Venabygd", "Kvitfjell", "Nav", "Skolen", "Barnehagen", "Hei", "Og", "Men", "Så",
    "Alle", "Ingen", "Noen", "Nokon", "Hvem", "Kven", "Hva", "Kva", "Når", "Hvor", "Kor", "Mamma", "Pappa",
    "Mor", "Far", "Dette", "Hvorfor", "Kvifor", "Ordføreren", "Rådmannen", "Kommunestyret", "Læreren",
    "Naboen", "Sjefen", "It", "He", "She", "They", "This", "That", "We", "You", "There", "Mitt", "Min",
})


def _sensitive(kind: str) -> Callable[[str, str, str], list[Hit]]:
    def detect(norm: str, orig: str = "", own_domain: str = "") -> list[Hit]:
        return find_sensitive(norm).get(kind, [])

    detect.__doc__ = f"Sensitive vocabulary: {kind}."
    return detect


def find_third_parties(norm: str, orig: str = "", own_domain: str = "") -> list[Hit]:
    """Identifiable other people: relations ("sønnen til rektor"), roles ("naboen"), "han som bor …",
    and capitalised names with something personal ("Ola på 7. trinn")."""
    hits = []
    if _THIRD_PARTY_GATE.open(norm, word_prefixes(norm)):
        hits = [Hit(m.group(0), "tredjeperson") for m in _THIRD_PARTY.finditer(norm)]
    if orig and orig != orig.lower():
        for m in _NAME.finditer(orig):
            name = m.group(0)
            if name.split()[0].lstrip("@") in _NOT_NAMES:
                continue
            start = m.start()
            at_sentence_start = start == 0 or orig[max(0, start - 2):start].strip() in (".", "!", "?", "")
            # "Vannet er stengt", "Bålforbudet gjelder": a definite noun opens the sentence, not a name
            if at_sentence_start and " " not in name and name.endswith("et"):
                continue
            hits.append(Hit(name.lower(), "navn"))
    return hits


DetectorFn = Callable[[str, str, str], list[Hit]]

DETECTORS: dict[str, DetectorFn] = {
    "fodselsnummer": find_national_ids,
    "lenke_mistenkelig": find_suspicious_links,
    "lenke_lokketekst": find_lure_links,
    "lenke_egen_mangler": find_missing_own_link,
    "politisk": find_political,
    "tredjeperson": find_third_parties,
    **{f"sensitiv_{k}": _sensitive(k) for k in SENSITIVE},
}
