"""Detectors: identity numbers and their false friends, suspicious links, the political level,
sensitive vocabulary and third parties."""

import pytest

from ringebu_journal.judge.detectors import (
    classify_link, find_national_ids, find_political, find_sensitive, find_suspicious_links,
    find_third_parties,
)
from ringebu_journal.judge.engine import normalise


def ids(text: str) -> list[tuple[str, str]]:
    return [(h.matched, h.detail) for h in find_national_ids(normalise(text), text)]


@pytest.mark.parametrize("text, kind", [
    ("fødselsnummer 24089010035", "fødselsnummer"),
    ("Fnr: 240890 10035, takk", "fødselsnummer"),
    ("D-nummer 44127200189", "D-nummer"),
    ("H-nummer 15459000043", "H-nummer"),
    ("mitt nummer er 010190 00083.", "fødselsnummer"),
])
def test_valid_identity_numbers(text, kind):
    found = ids(text)
    assert len(found) == 1 and found[0][1] == kind


@pytest.mark.parametrize("text", [
    "24089010036",                    # second check digit wrong
    "24089010045",                    # first check digit wrong
    "kontonummer 1503.32.12345",      # bank account with dots
    "betal til konto 15033212345",    # account number written without dots, named as such
    "ring meg på 917 45 123",         # phone number
    "+47 91745123",
    "sak 2026/1234 og 25/877",        # case numbers
    "org.nr 974 589 095",             # organisation number (9 digits)
    "ordrenummer 24089010035",        # a valid-looking number named as something else
    "3,1415926535",                   # a decimal
])
def test_false_friends_are_not_identity_numbers(text):
    assert ids(text) == []


@pytest.mark.parametrize("url, why", [
    ("http://185.23.44.10/video.php", "ip"),
    ("http://[2001:db8::1]/x", "ip"),
    ("https://xn--psten-zua.com/track", "punycode"),
    ("https://fb-help-center-case.net/verify", "lookalike:fb"),
    ("https://meta-business-support.help/login", "lookalike:meta"),
    ("https://bankid-fornyelse.com", "lookalike:bankid"),
    ("http://posten-sporing.info/betal", "lookalike:posten"),
    ("http://vipps-utbetaling.top/claim", "lookalike:vipps"),
    ("https://nav-utbetaling.web.app/login", "lookalike:nav"),
    ("https://coop-jubileum.weebly.com", "lookalike:coop"),
    ("https://dnb-kundeservice.support/verify", "lookalike:dnb"),
    ("https://faceb00k-login.com", "lookalike:facebook"),
    ("http://tinyurl.com/2p9xk4ab", "shortener"),
    ("https://bit.ly/3xYz", "shortener"),
    ("https://t.co/x8Kd7aQ1", "shortener"),
    ("https://quiz-time.netlify.app", "free-hosting"),
    ("https://gavekort-norge.click/claim", "tld"),
    ("https://example-shop.com/account/verify", "lure-path"),
])
def test_suspicious_links(url, why):
    assert classify_link(url) == why


@pytest.mark.parametrize("url", [
    "https://www.ringebu.kommune.no/hoering", "ringebu.kommune.no/vann", "https://www.facebook.com/ringebu",
    "https://www.nav.no/sosialhjelp", "https://www.posten.no/sporing", "https://vipps.no",
    "https://www.nrk.no/innlandet/sak", "https://www.navigator.no", "https://www.gd.no/nyheter",
])
def test_trusted_links(url):
    assert classify_link(url) == ""


def test_own_domain_is_configurable():
    url = "https://www.ringebu.kommune.no/login"
    assert classify_link(url, own_domain="ringebu.kommune.no") == ""
    assert classify_link("https://www.nord-fron.kommune.no/login", own_domain="nord-fron.kommune.no") == ""
    assert classify_link(url, own_domain="nord-fron.kommune.no") == "lure-path"


def test_links_found_in_text():
    text = "Se her http://posten-sporing.info/betal og les mer på https://www.ringebu.kommune.no/info."
    hits = find_suspicious_links(normalise(text), text)
    assert [h.matched for h in hits] == ["http://posten-sporing.info/betal"]


def political(text: str) -> list[str]:
    return [h.matched for h in find_political(normalise(text), text)]


@pytest.mark.parametrize("text", [
    "Ordføreren lovte ny barnehage", "ordføraren må svare", "Kommunestyret burde skamme seg",
    "Til formannskapet:", "Hva mener Høyre i Ringebu om eiendomsskatten?", "Hvorfor stemte Ap mot bredbånd?",
    "Frp lovte lavere skatt", "Kva meiner MDG om hyttebygging?", "Hva skjedde med valgløftet?",
    "Ap, Sp og H stemte for", "hva mener høyre om sykehjemmet?", "Hvilket parti vil stoppe dette?",
    "Vi leverer et innbyggerforslag", "Dear mayor, please answer",
])
def test_political_level(text):
    assert political(text)


@pytest.mark.parametrize("text", [
    "Ta til høyre ved rundkjøringa", "Det var rødt lys", "H. Hansen har bursdag", "V-formet dal",
    "Sp. og svar", "Vi tar en tur til venstre", "Møtet er i kommunestyresalen", "R er en bokstav",
])
def test_not_political(text):
    assert political(text) == []


@pytest.mark.parametrize("text, kind", [
    ("Han har Parkinson og faller ofte", "helse"), ("innlagt på psykiatrisk", "helse"),
    ("barnevernet var her", "barnevern"), ("han får spesialundervisning etter PPT", "skole"),
    ("dottera blir mobba", "mobbing"), ("han sliter med rus", "rus"),
    ("vi går på sosialhjelp", "sosialhjelp"), ("han sitter i fengsel", "fengsel"),
    ("etter skilsmissen", "familie"),
])
def test_sensitive_vocabulary(text, kind):
    assert kind in find_sensitive(normalise(text))


@pytest.mark.parametrize("text", ["russetida var fin", "bussen til sykehuset", "tilrettelagt skoleskyss",
                                  "vi søker om bostøtte"])
def test_not_sensitive(text):
    assert find_sensitive(normalise(text)) == {}


@pytest.mark.parametrize("text", [
    "sønnen til rektor", "Naboen vår", "han som bor i nr 12", "Ola på 7. trinn har autisme", "Kari har ADHD",
])
def test_third_parties(text):
    assert find_third_parties(normalise(text), text)


def test_first_word_of_a_sentence_is_not_a_name():
    assert find_third_parties(normalise("Det er fint. Vi har det bra."), "Det er fint. Vi har det bra.") == []


def test_look_alike_of_the_municipality_itself():
    assert classify_link("https://ringebu-kommune-login.com") == "lookalike:ringebu"
    assert classify_link("https://nord-fron-kommune.support/konto", own_domain="nord-fron.kommune.no") != ""
    assert classify_link("https://www.visitringebu.com/sommer") == ""


def test_third_party_named_by_address():
    text = "Gutten i nr 7 har vært i fengsel"
    assert find_third_parties(normalise(text), text)


def test_a_link_is_classified_once_for_both_link_detectors(monkeypatch):
    """The suspicious-link and lure-link detectors of a judge share one classification per link
    (and the list of links per message): a lure message with two links classifies each once, and
    a second message with the same link classifies nothing again. The results are those of the
    detectors without the shared classifier."""
    from ringebu_journal.judge import Judge, detectors
    from ringebu_journal.judge.detectors import find_lure_links

    judge = Judge(model=None)
    lures = judge.policy.lures
    calls: list[str] = []
    real = detectors.classify_link

    def counted(url, own_domain="ringebu.kommune.no", lures=None):
        calls.append(url)
        return real(url, own_domain, lures)

    monkeypatch.setattr(detectors, "classify_link", counted)
    text = "Gratis gavekort! Klikk her: https://premie-vinn.example.com/claim og www.vg.no/nyheter"
    first = judge.judge(text)
    assert sorted(calls) == ["https://premie-vinn.example.com/claim", "www.vg.no/nyheter"]
    judge.judge(text + " i dag")
    assert len(calls) == 2
    monkeypatch.setattr(detectors, "classify_link", real)
    norm = normalise(text)
    for name, plain in (("lenke_mistenkelig", find_suspicious_links), ("lenke_lokketekst", find_lure_links)):
        assert judge._detectors[name](norm, text, "ringebu.kommune.no") == plain(
            norm, text, "ringebu.kommune.no", lures)
    assert Judge(model=None).judge(text).model_dump() == first.model_dump()
