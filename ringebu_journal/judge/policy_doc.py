"""Write the policy documentation (docs/policy.md) from a policy file, rule by rule.

    python -m ringebu_journal.judge.policy_doc [POLICY.toml] > docs/policy.md

A test checks that docs/policy.md is what this prints for the shipped policy, so the
documentation and the rules cannot drift apart.
"""

from __future__ import annotations

import sys

from .detectors import DETECTORS
from .policy import ROLES, Policy, load_policy

_DETECTOR_TEXT = {
    "fodselsnummer": "fødselsnummer, D-nummer og H-nummer (11 siffer, også 6+5 med mellomrom) med begge "
                     "mod-11-kontrollsifre; ikke kontonummer, telefonnummer eller saksnummer",
    "lenke_mistenkelig": "lenker med IP-adresse, punycode, etterligning av kommunen eller et merke i "
                         "`[lures]`, lenkeforkortere, gratis nettsteder, mistenkelige toppdomener, et "
                         "fremmed domene oppkalt etter betaling eller innlogging, og innlogging/premie i "
                         "adressen; kommunens eget domene er klarert",
    "lenke_egen_mangler": "meldingen har ingen lenke til kommunens eget domene",
    "politisk": "ordfører, kommunestyre, formannskap, utvalg, politikere, partinavn og forkortelser "
                "(korte forkortelser som H, V, R, Ap, Sp bare med stor forbokstav og nær politiske ord), "
                "valgløfter, innbyggerforslag",
    "tredjeperson": "andre personer som kan identifiseres: «sønnen til rektor», naboen, «han som bor …», "
                    "navn med stor forbokstav sammen med noe personlig",
}


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render(policy: Policy) -> str:
    out = [
        f"# Regelsett for innholdsvurdering: {policy.name}",
        "",
        "Denne siden er laget fra `ringebu_journal/judge/default_policy.toml` med "
        "`python -m ringebu_journal.judge.policy_doc > docs/policy.md`; en test passer på at de stemmer overens.",
        "",
        f"- Versjon: `{policy.version}`",
        f"- {policy.description}" if policy.description else "",
        f"- Standard skjermingshjemmel: {policy.default_hjemmel}",
        "",
        "## Hvordan reglene brukes",
        "",
        "Teksten normaliseres først (Unicode NFKC, små bokstaver med æøå, ett slags anførselstegn og "
        "bindestrek). Hver regel som slår til gir en begrunnelse med teksten den traff. Saksbevis "
        "(`evidence`) summeres:",
        "",
        f"- summen er minst **{policy.thresholds['journal']:g}**: **journalføres** (tiltak `refer_post`)",
        f"- summen er minst **{policy.thresholds['review']:g}**: **vurderes** av moderator (tiltak `refer_post`)",
        "- ellers **arkiveres** meldingen når den gjelder kommunen (spørsmål, kritikk, ros, politikk, "
        "kommunens ansvarsområder) og **avgrenses** når den ikke gjør det (prat, reklame, svindel).",
        "",
        "En kategori med rollen remove (`virus`) gir alltid tiltaket `remove` og avgrensning (virus- og "
        "svindellenker). Sensitivt innhold om en annen person som kan identifiseres, uten at innbyggeren skriver om seg selv "
        "eller sin egen sak, gir kategorien `eksponering` og tiltaket `remove`. Når meldingen er en sak, "
        "faller `reply` og `thank` bort (saken henvises til postmottak); når den er politisk, faller `reply` "
        "bort (henvises til politisk nivå).",
        "",
        "Kommunens egne innlegg og svar (`applies_to = municipality`) arkiveres og får kategorier "
        "for pliktene i retningslinjene: `egen_uten_lenke`, `egen_saksbehandling`, `egen_personopplysninger`. "
        "Et svar i en tråd med en innbyggers melding som behandler saken (en kategori med rollen "
        "`outgoing_case`: søknaden er innvilget, fakturaen kreditert, bekymringen sendt til barnevernet) "
        "er et utgående saksdokument og går til vurdering, der det journalføres sammen med saken. "
        "Kanal og meldingstype er aldri med i vurderingen.",
        "",
        "## Regler og modell",
        "",
        "Ved siden av reglene vurderer en lært tekstmodell hver innbyggermelding (se docs/judge.md). "
        "Innstillingene i `[model]`:",
        "",
        "| innstilling | verdi |",
        "|---|---|",
        *[f"| `{k}` | `{v}` |" for k, v in policy.model.items()],
        "",
        "## Lenker og merkenavn (`[lures]`)",
        "",
        *(["| liste | innhold |", "|---|---|",
           "| brands | " + _md(", ".join(f"{b} ({', '.join(d)})" for b, d in sorted(policy.lures.brands.items()))) + " |",
           *[f"| {k} | {_md(', '.join(sorted(getattr(policy.lures, k))))} |"
             for k in ("short_brands", "trusted", "shorteners", "free_hosting", "suspicious_tlds",
                       "own_lure_tokens", "host_lure_words")]]
          if policy.lures else ["(ingen)"]),
        "",
        "## Kategorier og roller (`[categories]`)",
        "",
        "En regel kan bare gi en kategori som er deklarert her. Rollen avgjør hva dommeren gjør med den; "
        "dommeren kjenner ingen kategorinavn selv.",
        "",
        "| kategori | rolle | hva rollen betyr |",
        "|---|---|---|",
        *[f"| `{c}` | {r} | {_md(ROLES[r])} |" for c, r in policy.categories.items()],
        "",
        "## Egen sak i et kommunalt felt (`[own_matter]`)",
        "",
        *([f"Når reglene ikke gir nok saksbevis, men meldingen har en kategori med rollen municipal_field "
           f"og ingen med rollene praise, political, to_others eller remove, og et mønster under `own` "
           f"treffer, går meldingen til vurdering med begrunnelsen `{policy.own_matter.rule}` "
           f"(«{_md(policy.own_matter.description)}»). Med ros gjelder det bare når også et mønster under "
           f"`need` treffer.",
           "",
           *[f"- own `{_md(p)}`" for p in policy.own_matter.own],
           *[f"- need `{_md(p)}`" for p in policy.own_matter.need]]
          if policy.own_matter else ["(ingen: regelsettet har ingen slik vurdering)"]),
        "",
        "## Betingelser",
        "",
        "| id | virkeområde | beskrivelse | mønstre |",
        "|---|---|---|---|",
    ]
    for c in policy.conditions.values():
        pats = "<br>".join(f"`{_md(p)}`" for p in c.patterns)
        out.append(f"| `{c.id}` | {c.scope} | {_md(c.description)} | {pats} |")
    out += ["", "## Regler", ""]
    for r in policy.rules:
        out.append(f"### `{r.id}`")
        out.append("")
        out.append(_md(r.description))
        out.append("")
        out.append(f"- Gjelder: {r.applies_to} · linje {r.line} i regelfila")
        out.append(f"- Virkning: {r.effect() or '—'}")
        if r.mask:
            out.append("- Treffet maskeres i offentlig journal når meldingen skjermes")
        if r.unless:
            out.append("- Slår ikke til når: " + ", ".join(f"`{u}`" for u in r.unless))
        if r.requires:
            out.append("- Krever: " + ", ".join(f"`{u}`" for u in r.requires))
        if r.context_author:
            what = "som dommeren selv finner er en sak" if r.context_case else "som matcher mønstrene under"
            out.append(f"- Trådkontekst: et innlegg skrevet av {r.context_author} {what}")
            for p in r.context_patterns:
                out.append(f"  - kontekstmønster `{p}`")
        if r.detector:
            out.append(f"- Detektor `{r.detector}`: {_DETECTOR_TEXT.get(r.detector, DETECTORS[r.detector].__doc__ or '')}")
        for p in r.patterns:
            out.append(f"- Mønster `{p}`")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    policy = load_policy(args[0] if args else None)
    sys.stdout.write(render(policy))


if __name__ == "__main__":
    main()
