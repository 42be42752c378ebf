"""The judge: conditions (negation, question forms), thread context, the municipality's own posts,
screening, actions, reasons, and that platform and message kind are no inputs."""

import inspect

import pytest

from ringebu_journal.judge import ContextItem, Judge
from ringebu_journal.models import Action, Decision


def decision(judge: Judge, text: str, **kw) -> str:
    return judge.judge(text, **kw).decision.value


@pytest.mark.parametrize("text", [
    "Jeg klager på vedtaket om skoleskyss.", "Eg klagar på gebyret.", "Æ klage på fakturaen",
    "Vi søker om plass i barnehagen.", "Eg søkjer om skuleskyss.", "Søknad om skjenkebevilling for bygdedagen.",
    "Jeg krever innsyn i kontrakten.", "Jeg sier opp SFO-plassen fra 1. mars.",
    "Saksnr 2025/1422: har ikke fått svar på søknaden.", "Jeg ønsker å varsle om trakassering.",
])
def test_cases_are_journalled(judge, text):
    r = judge.judge(text)
    assert r.decision == Decision.journal
    assert Action.refer_post in r.actions


@pytest.mark.parametrize("text", [
    "Hvordan klager man på eiendomsskatten?",       # asks how, does not complain
    "Korleis søkjer ein om plass i kulturskulen?",
    "Søker noen barnevakt i helgene?",              # not an application
    "Søker du jobb? NAV har ledige stillinger.",
    "Vi klager aldri, vi er bare glade 😊",          # negation after
    "Vi har ikke tenkt å klage på noe.",             # negation before
    "Hvor mange har søkt om plass i barnehagen?",
    "Sender inn søknad om mer sol i sommer 😂",      # a joke
    "Leste i avisa at naboen krever erstatning.",    # someone else's case in the news
    "Krever mye tålmodighet å være småbarnsforelder",
])
def test_keywords_out_of_context_are_not_cases(judge, text):
    assert decision(judge, text) != "journal"


def test_question_in_another_sentence_does_not_cancel_the_application(judge):
    assert decision(judge, "Vi søker om tillatelse til gapahuk. Hvordan gjør vi det formelt?") == "journal"


def test_how_question_gets_a_reply(judge):
    r = judge.judge("Hvordan klager man på eiendomsskatten?")
    assert Action.reply in r.actions and "tjenestesporsmal" in r.categories


MUNI_OFFER = ContextItem("Vil du at vi registrerer dette som en klage?", author_is_municipality=True)


def test_yes_to_the_municipalitys_offer_is_a_complaint(judge):
    r = judge.judge("Ja, registrer det som en klage", context=[MUNI_OFFER])
    assert r.decision == Decision.journal and "klage" in r.categories
    assert any(x.rule == "kontekst.ja_klage" for x in r.reasons)


def test_same_yes_without_context_is_chatter(judge):
    assert decision(judge, "Ja takk") != "journal"


def test_no_thanks_to_the_offer_is_not_a_case(judge):
    assert decision(judge, "Nei takk, det var bare et spørsmål.", context=[MUNI_OFFER]) != "journal"


def test_yes_under_a_citizens_text_is_not_a_registration(judge):
    ctx = [ContextItem("Vil noen registrere seg på dugnaden som klage?", author_is_municipality=False)]
    assert decision(judge, "Ja!", context=ctx) != "journal"


def test_joining_a_complaint(judge):
    parent = ContextItem("Jeg klager på den nye renovasjonsavgiften, den er urimelig.")
    assert decision(judge, "Samme her, vi klager også", context=[parent]) == "journal"
    # agreeing without saying more: a moderator decides
    assert decision(judge, "Samme her!", context=[parent]) == "review"
    # agreeing with a question is no case
    question = ContextItem("Når kommer søppelbilen?")
    assert decision(judge, "Samme her!", context=[question]) != "journal"


def test_municipality_posts_are_archived_with_duties(judge):
    r = judge.judge("Vi minner om at det er bålforbud fra 15. april.", author_is_municipality=True)
    assert r.decision == Decision.archive and "egen_uten_lenke" in r.categories and r.actions == []
    r = judge.judge("Bålforbud fra 15. april: https://www.ringebu.kommune.no/brann", author_is_municipality=True)
    assert "egen_uten_lenke" not in r.categories
    r = judge.judge("Jeg klager på vedtaket", author_is_municipality=True)
    assert r.decision == Decision.archive  # outgoing: never journal from the judge


def test_municipality_reply_is_not_asked_for_a_link(judge):
    ctx = [ContextItem("Når er biblioteket åpent?")]
    r = judge.judge("Vi har åpent til 19 i dag!", author_is_municipality=True, context=ctx)
    assert "egen_uten_lenke" not in r.categories


def test_municipality_case_handling_and_personal_data(judge):
    r = judge.judge("Hei Kari, søknaden din er innvilget.", author_is_municipality=True)
    assert "egen_saksbehandling" in r.categories
    r = judge.judge("Ole Hansen, fnr 24089010035, har fått startlån.", author_is_municipality=True)
    assert "egen_personopplysninger" in r.categories and r.screening.screen


def test_a_reply_that_does_casework_in_a_citizens_matter_is_an_outgoing_case_document(judge):
    """Arkivforskrifta § 9: outgoing documents in a case are journalført like incoming ones. A reply
    that grants, credits or passes a concern on, in a thread with the citizen's message, goes to
    review; the same words in an own post, and a reply that only refers to the post address, do not."""
    ask = [ContextItem("Kan jeg få utsette betalingen av eiendomsskatten til høsten?", False)]
    r = judge.judge("Hei Anne! Vi innvilger betalingsutsettelse til 1. oktober.",
                    author_is_municipality=True, context=ask)
    assert r.decision == Decision.review and "egen_saksbehandling" in r.categories
    assert any(x.rule == "utgaaende.saksdokument" for x in r.reasons)
    concern = [ContextItem("Naboen roper på ungen hver kveld, jeg er bekymret.", False)]
    r = judge.judge("Takk for at du sier fra. Vi har sendt meldingen din videre til barneverntjenesten.",
                    author_is_municipality=True, context=concern)
    assert r.decision == Decision.review
    # the same casework words in an own post answer nobody: archived, flagged for the compliance report
    r = judge.judge("Hei Anne! Vi innvilger betalingsutsettelse til 1. oktober.", author_is_municipality=True)
    assert r.decision == Decision.archive and "egen_saksbehandling" in r.categories
    # a referral to the post address handles nothing itself
    r = judge.judge("Send klagen til postmottak@ringebu.kommune.no, så blir den registrert.",
                    author_is_municipality=True, context=ask)
    assert r.decision == Decision.archive and "egen_saksbehandling" not in r.categories
    # answering only another municipality message is not a citizen's matter
    r = judge.judge("Hei Anne! Vi innvilger betalingsutsettelse til 1. oktober.", author_is_municipality=True,
                    context=[ContextItem("Eiendomsskatten forfaller 20. mars.", True)])
    assert r.decision == Decision.archive


def test_threats_are_removed_and_kept_as_documentation(judge):
    """The guideline removes threats; the municipality keeps them (archive, not exclude), because
    a threat against its staff may have to be documented or reported."""
    for text in ("Ordføreren bør passe seg etter møtet i kveld.", "Vi vet hvor dere bor, alle sammen.",
                 "Det ligger en bombe i rådhuset."):
        r = judge.judge(text)
        assert "trussel" in r.categories and Action.remove in r.actions, text
        assert r.decision != Decision.exclude, text
    # a case stays a case when a threat comes with it
    r = judge.judge("Søppelbilen har kjørt ned postkassa mi. Neste gang står jeg der med hagla. "
                    "Jeg krever at kommunen erstatter postkassa.")
    assert "trussel" in r.categories and Action.remove in r.actions and r.decision == Decision.journal
    # hunting is not a threat
    assert "trussel" not in judge.judge("Elgen bør skytes, den har vært i hagen tre ganger.").categories


def test_own_domain_is_a_parameter(judge):
    text = "Les mer: https://www.nord-fron.kommune.no/info"
    assert "egen_uten_lenke" in judge.judge(text, author_is_municipality=True).categories
    r = judge.judge(text, author_is_municipality=True, own_domain="nord-fron.kommune.no")
    assert "egen_uten_lenke" not in r.categories


def test_screening_proposal(judge):
    r = judge.judge("Fødselsnummer 24089010035. Jeg har ikke fått svar på søknaden om bostøtte.")
    assert r.screening.screen
    assert "24089010035" in r.screening.mask
    assert "Offl. § 26 femte ledd" in r.screening.hjemmel
    r = judge.judge("Faren min har Parkinson og har fått for lite hjemmetjeneste. Vi klager.")
    assert r.screening.screen and "fvl. § 13" in r.screening.hjemmel and "parkinson" in r.screening.mask
    assert not judge.judge("Jeg klager på avslaget på skoleskyss for dattera mi.").screening.screen


def test_exposure_of_others_is_removed_but_own_family_is_not(judge):
    r = judge.judge("Alle vet at sønnen til rektor har vært innlagt på psykiatrisk.")
    assert Action.remove in r.actions and r.screening.screen and "eksponering" in r.categories
    r = judge.judge("Mora mi har demens og vi klager på vedtaket om sjukeheimsplass.")
    assert Action.remove not in r.actions and r.decision == Decision.journal


def test_phishing_is_removed_and_excluded(judge):
    r = judge.judge("Gratis gavekort! https://gavekort-norge.click/claim")
    assert r.decision == Decision.exclude and Action.remove in r.actions and "virus" in r.categories


def test_political_and_praise_actions(judge):
    r = judge.judge("Hva mener Høyre om eiendomsskatten?")
    assert Action.refer_political in r.actions and Action.reply not in r.actions
    assert Action.thank in judge.judge("Takk for flott arrangement på torget! 🎉").actions


def test_every_reason_has_a_readable_line_with_the_matched_text(judge):
    r = judge.judge("Eg søkjer om plass i barnehagen.")
    lines = [x.line() for x in r.reasons]
    assert any(line.startswith("soknad.soker «søkjer om»:") and "saksbevis +2.5" in line for line in lines)


def test_channel_and_kind_are_not_parameters():
    params = set(inspect.signature(Judge.judge).parameters)
    assert params == {"self", "text", "author_is_municipality", "context", "own_domain"}
    assert not {"platform", "kind"} & params


def test_judging_is_stateless(judge):
    text = "Jeg klager på vedtaket om skoleskyss."
    first = judge.judge(text).model_dump()
    judge.judge("Gratis gavekort! https://bit.ly/x")
    assert judge.judge(text).model_dump() == first


def test_normalisation_handles_case_and_compatibility_forms(judge):
    assert decision(judge, "JEG KLAGER PÅ VEDTAKET!!!") == "journal"
    assert decision(judge, "Jeg\u00a0klager på vedtaket") == "journal"   # no-break space
    assert decision(judge, "ｊｅｇ ｋｌａｇｅｒ på vedtaket") == "journal"  # full-width letters (NFKC)


def test_results_are_valid_models(judge):
    from ringebu_journal.models import JudgmentResult

    for text in ("Fnr 24089010035, jeg klager på vedtaket.", "😂", "Gratis! https://bit.ly/x"):
        r = judge.judge(text)
        again = JudgmentResult.model_validate_json(r.model_dump_json())
        assert again == r


def test_judging_in_threads_gives_the_same_results(judge):
    import json
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    corpus = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "own.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")] * 3
    expected = [judge.judge(t).model_dump() for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: judge.judge(t).model_dump(), texts))
    assert got == expected


def test_format_characters_are_dropped_before_the_rules_and_the_model():
    """Zero-width spaces, soft hyphens, bidi marks and other format characters (Unicode Cf) are
    invisible to a reader, so the judge does not see them either."""
    import sys
    import unicodedata

    from ringebu_journal.judge.engine import _FORMAT, normalise

    every_cf = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    assert _FORMAT.sub("", every_cf) == ""
    assert normalise("Jeg kl\u200bager p\u00e5 ved\u00adtaket\u2069\ufeff") == "jeg klager på vedtaket"
    judge = Judge(model=None)
    plain = judge.judge("Jeg klager på vedtaket om byggesøknaden.")
    hidden = judge.judge("Jeg kl\u200bager p\u00e5 ved\u00adtaket om bygge\u200ds\u00f8knaden.")
    assert plain.decision == hidden.decision == Decision.journal
    assert [r.rule for r in hidden.reasons] == [r.rule for r in plain.reasons]


def test_a_citizens_parent_is_judged_only_when_the_reply_joins_it():
    """Whether a citizen's parent message is a case is judged (at the cost of a second judgment)
    only for a reply whose own words join it ("samme her"), not for every reply in a thread."""
    judge = Judge()
    parent = ContextItem("Jeg klager på vedtaket om brøyting av vegen vår.", relation="sibling")
    judge.judge("Fint vær i dag, skal på tur", context=[parent])
    assert judge._parent_cache == {}
    joined = judge.judge("Samme her!", context=[parent])
    assert len(judge._parent_cache) == 1
    assert joined.decision != Decision.exclude
