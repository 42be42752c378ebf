"""Write ``generated.jsonl``: labelled cases combined from the case-type concepts in the shared
VOCABULARY (speech acts × the municipality's fields × bokmål/nynorsk/dialect forms), with the
noise real messages have (all lower case, emoji, a typo, a greeting).

The hand-written corpora (``own.jsonl``, ``holdout.jsonl``) are the better test; this file adds
breadth. Run ``python tests/corpus/generate.py`` to rebuild it (deterministic).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SUBJ_I = ["Jeg", "Eg", "Æ", "jeg", "eg"]
SUBJ_WE = ["Vi", "Me", "vi"]
APPLY_VERB = {"Jeg": "søker", "jeg": "søker", "Eg": "søkjer", "eg": "søkjer", "Æ": "søke", "Vi": "søker",
              "Me": "søkjer", "vi": "søker"}
COMPLAIN_VERB = {"Jeg": "klager", "jeg": "klager", "Eg": "klagar", "eg": "klagar", "Æ": "klage",
                 "Vi": "klager", "Me": "klagar", "vi": "klager"}
APPLY_THINGS = [
    ("plass i barnehagen fra august", False), ("skoleskyss for dattera mi", False),
    ("dispensasjon for å bygge garasje nær vegen", False), ("tilskudd til nytt tak på grendehuset", False),
    ("startlån", False), ("fritak for eiendomsskatt på det gamle fjøset", False),
    ("kommunal bolig", False), ("snøscooterløyve for frakt til hytta", False),
    ("fradeling av ei tomt, gnr 88 bnr 2", False), ("skjenkebevilling til festivalen", False),
    ("kulturmidler til teaterlaget", False), ("plass på SFO fem dager i uka", False),
    ("omsorgsstønad for å passe mor", False), ("praktisk bistand i hjemmet", False),
    ("utvidet helsehjelp fordi kreften har kommet tilbake", True),
    ("spesialundervisning for sønnen vår etter PPT-rapporten", True),
    ("økonomisk sosialhjelp for januar", True), ("plass på rusbehandling i kommunal regi", True),
]
COMPLAIN_OBJECTS = [
    ("vedtaket om skoleskyss", False), ("gebyret for feiing og tilsyn", False),
    ("avslaget på byggesøknaden", False), ("fakturaen for vann og avløp", False),
    ("takseringen for eiendomsskatt", False), ("vedtaket om redusert hjemmetjeneste til far, som har Parkinson", True),
    ("parkeringsbota ved rådhuset", False), ("avslaget på søknaden om barnehageplass", False),
    ("at SFO-prisen er økt midt i året", False), ("vedtaket om avlastning for sønnen vår med autisme", True),
    ("at renovasjonen ikke har hentet søpla på tre uker", False),
]
DOCS = ["kontrakten med brøyteentreprenøren", "alle dokumentene i byggesaka på nabotomta",
        "postlista for forrige uke", "møtereferatet fra oppvekstutvalget", "avtalen om salg av kommunal tomt",
        "rapporten om skolebygget"]
ACCESS = ["Ber om innsyn i {d}.", "Eg krev innsyn i {d}.", "Jeg ønsker innsyn i {d}.", "Innsynskrav: {d}.",
          "Kan jeg få kopi av {d}?"]
ENDS = ["Jeg sier opp barnehageplassen til {n} fra 1. {m}.", "Eg seier opp SFO-plassen til {n} frå 1. {m}.",
        "Vi sier opp plassen i kulturskolen til {n} fra {m}.", "Vi trekker søknaden om plass på SFO for {n}."]
NAMES = ["Emil", "Sofie", "Jakob", "Ingrid", "Nora", "Olav", "Astrid"]
MONTHS = ["januar", "mars", "mai", "august", "oktober"]
FOLLOW = ["Har ikke fått svar på søknaden om {t}.", "Har ikkje fått svar på søknaden om {t} eg sende i vår.",
          "Når kommer vedtaket på søknaden om {t}?", "Purring: søknaden om {t}, sendt i februar.",
          "Vi venter fortsatt på svar på søknaden om {t}."]
CLAIMS = ["Brøytebilen knuste postkassa vår. Vi krever erstatning.",
          "Vi har betalt renovasjon for en hytte som er revet. Vil ha tilbakebetalt for tre år.",
          "Kommunen har fakturert oss to ganger for vannmåleren, ber om kreditnota.",
          "Vannlekkasjen fra den kommunale ledningen ødela kjelleren. Vi vil ha erstatning.",
          "SFO var stengt i to uker i juni, vi krever refusjon for de ukene."]
HOWQ = ["Hvordan søker man om {t}?", "Korleis søkjer ein om {t}?", "Hvor søker jeg om {t}?",
        "Når er fristen for å søke om {t}?", "Hva skal til for å få {t}?"]
HOW_COMPLAIN = ["Hvordan klager man på {o}?", "Korleis klagar ein på {o}?", "Hvor sender man klage på {o}?"]
WHENQ = ["Når er biblioteket åpent i påsken?", "Kva tid kjem søppelbilen til Venabygd?",
         "Er det kokevarsel i Fåvang fortsatt?", "Når åpner gjenbruksstasjonen på lørdag?",
         "Går skolebussen som vanlig i morgen?", "Hvor kan jeg levere gamle dekk?",
         "Er svømmehallen stengt i vinterferien?", "Kor finn eg tømmekalenderen?"]
PRAISE = ["Takk for {x}!", "Tusen takk for {x} 🙏", "Så flott med {x} ❤️", "Godt jobba med {x}!"]
PRAISE_X = ["fin brøyting i natt", "et flott arrangement på torget", "god hjelp på servicetorget",
            "rask informasjon om vannet", "nye lekeapparater i parken", "den nye løypa"]
PARTIES = ["Senterpartiet", "Høyre", "Arbeiderpartiet", "Frp", "SV", "MDG", "KrF", "Rødt", "Venstre", "INP"]
TOPICS = ["eiendomsskatten", "nedlegging av Fåvang skole", "hyttebygging på fjellet", "ny idrettshall",
          "vindkraft", "sykehjemsplasser"]
POLQ = ["Hva mener {p} om {t}?", "Kva meiner {p} om {t}?", "Hvorfor stemte {p} for {t}?",
        "Ordføreren må svare på hva som skjer med {t}.", "Kommunestyret bør ta opp {t} på nytt."]
CHATTER = ["😂", "haha", "Så fint!", "Nydelig vær i dag", "Noen som skal på kino i kveld?", "Heia Ringebu IL!",
           "@Mari Lien se her", "Lol", "Selger barnesykkel, pm", "Hvem var det som vant quizen?",
           "Noen som har sett nøklene mine? Mista dei ved Coop.", "God helg alle sammen"]
PHISH = ["Gratis gavekort! Registrer deg: https://{h}/claim", "Kontoen din er låst. Logg inn: https://{h}/login",
         "Du har vunnet! Hent premien: http://{h}/premie", "Pakken din venter: https://{h}/track"]
PHISH_HOSTS = ["vipps-gave.click", "bankid-sikkerhet.top", "posten-levering.info", "nav-stotte.web.app",
               "dnb-kunde.xyz", "faceb00k-support.com", "10.20.30.40", "meta-help-desk.net", "coop-premie.weebly.com"]
GREETING = ["Hei! ", "Hei, ", "Hallo. ", "God dag. ", ""]
EMOJI = [" 🙂", " 😡", " 🙏", " 👍", ""]


def noise(rnd: random.Random, text: str) -> str:
    if rnd.random() < 0.25:
        text = text.lower()
    if rnd.random() < 0.3:
        text = rnd.choice(GREETING) + text
    if rnd.random() < 0.2:
        text += rnd.choice(EMOJI)
    if rnd.random() < 0.1:
        words = text.split(" ")
        i = rnd.randrange(len(words))
        w = words[i]
        if len(w) > 4:  # a typo: two letters swapped inside a word
            j = rnd.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        text = " ".join(words)
    return text


def build(seed: int = 26) -> list[dict]:
    rnd = random.Random(seed)
    rows: list[tuple[str, bool, bool, list[str], bool]] = []
    for _ in range(40):
        s = rnd.choice(SUBJ_I + SUBJ_WE)
        thing, sens = rnd.choice(APPLY_THINGS)
        rows.append((f"{s} {APPLY_VERB[s]} om {thing}.", True, sens, ["refer_post"], False))
    for _ in range(35):
        s = rnd.choice(SUBJ_I + SUBJ_WE)
        obj, sens = rnd.choice(COMPLAIN_OBJECTS)
        rows.append((f"{s} {COMPLAIN_VERB[s]} på {obj}.", True, sens, ["refer_post"], False))
    for _ in range(15):
        rows.append((rnd.choice(ACCESS).format(d=rnd.choice(DOCS)), True, False, ["refer_post"], False))
    for _ in range(15):
        rows.append((rnd.choice(ENDS).format(n=rnd.choice(NAMES), m=rnd.choice(MONTHS)), True, False,
                     ["refer_post"], False))
    for _ in range(15):
        thing, sens = rnd.choice(APPLY_THINGS)
        rows.append((rnd.choice(FOLLOW).format(t=thing), True, sens, ["refer_post"], False))
    for _ in range(10):
        rows.append((rnd.choice(CLAIMS), True, False, ["refer_post"], False))
    for _ in range(25):
        thing, _s = rnd.choice(APPLY_THINGS[:14])
        rows.append((rnd.choice(HOWQ).format(t=thing), False, False, ["reply"], False))
    for _ in range(12):
        obj, _s = rnd.choice(COMPLAIN_OBJECTS[:5])
        rows.append((rnd.choice(HOW_COMPLAIN).format(o=obj), False, False, ["reply"], False))
    for _ in range(15):
        rows.append((rnd.choice(WHENQ), False, False, ["reply"], False))
    for _ in range(15):
        rows.append((rnd.choice(PRAISE).format(x=rnd.choice(PRAISE_X)), False, False, ["thank"], False))
    for _ in range(20):
        rows.append((rnd.choice(POLQ).format(p=rnd.choice(PARTIES), t=rnd.choice(TOPICS)), False, False,
                     ["refer_political"], False))
    for _ in range(15):
        rows.append((rnd.choice(CHATTER), False, False, [], False))
    for _ in range(15):
        rows.append((rnd.choice(PHISH).format(h=rnd.choice(PHISH_HOSTS)), False, False, ["remove"], False))
    platforms = ["facebook", "messenger", "instagram", "x"]
    out = []
    for i, (text, journal, screen, actions, hard) in enumerate(rows):
        plat = platforms[i % 4]
        out.append({"id": f"g{i + 1:03d}", "platform": plat,
                    "kind": "message" if plat == "messenger" else "comment", "author": "citizen",
                    "text": noise(rnd, text), "journal": journal, "screen": screen, "actions": actions,
                    "hard": hard})
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("generated.jsonl")
    rows = build()
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} cases written to {path}")
