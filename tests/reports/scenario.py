"""The conversations the compliance tests read: each duty met once and missed once.

Base time: 20 days ago (whole hours), so every reply deadline in the scenario has passed
except for the one message written an hour ago.
"""

from __future__ import annotations

from datetime import date, timedelta

from ringebu_journal import accounts as accmod

from .world import World, utcnow

MAIN = "104000000000001"        # Ringebu kommune
KULTUR = "104000000000002"      # Ringebu kulturskole: silent for weeks
UNGDOM = "104000000000003"      # Ringebu ungdomsråd: silent, but closed for the holiday
HYTTE = "104000000000009"       # an own page nobody registered
IG = "17841400000000001"        # Instagram, registered, answered regularly

FACT_TEXT = "Det er feil at gjenbruksstasjonen er stengt på lørdager, den var åpen i går."


def build(w: World) -> None:
    w.account("facebook", MAIN, "Ringebu kommune", registered=True, unit="Kommunikasjon og service",
              notified=date(2024, 1, 10))
    w.account("facebook", KULTUR, "Ringebu kulturskole", registered=True, unit="Kulturskolen")
    w.account("facebook", UNGDOM, "Ringebu ungdomsråd", registered=True, unit="Kultur og fritid",
              notified=date(2024, 3, 1))
    w.account("facebook", HYTTE, "Hytteliv i Ringebu", registered=False, own=True)
    w.account("instagram", IG, "ringebukommune", registered=True, unit="Kommunikasjon og service",
              notified=date(2024, 1, 10))

    # -- the main page: an own post with a link, and its comments -----------------------------
    a = dict(account=MAIN)
    w.msg("p1", "Nye åpningstider på biblioteket fra 1. juli. Les mer på https://www.ringebu.kommune.no/bibliotek",
          0, kind="post", municipal=True, **a)
    w.judge("p1", "archive")
    # a question about services, answered after 2 hours
    w.msg("c1", "Når er biblioteket åpent i fellesferien?", 1, post="p1", parent="p1", author="Kari Nordbakken", **a)
    w.judge("c1", "archive", ("tjenestesporsmal",), ("reply",))
    w.msg("r1", "Hei Kari! I juli har vi åpent tirsdager og torsdager kl. 10–15.", 3, kind="reply", municipal=True,
          post="p1", parent="c1", **a)
    w.judge("r1", "archive")
    # a question never answered
    w.msg("c2", "Hvordan melder jeg på barnet mitt til SFO til høsten?", 2, post="p1", parent="p1",
          author="Ola Haugen", **a)
    w.judge("c2", "archive", ("tjenestesporsmal",), ("reply",))
    # a question answered three days later
    w.msg("c3", "Er det fortsatt kokevarsel på Fåvang?", 4, post="p1", parent="p1", author="Siri Bakken", **a)
    w.judge("c3", "archive", ("tjenestesporsmal",), ("reply",))
    w.msg("r3", "Kokevarselet ble opphevet i går.", 76, kind="reply", municipal=True, post="p1", parent="c3", **a)
    w.judge("r3", "archive")
    # praise, thanked
    w.msg("c4", "Tusen takk til de ansatte på biblioteket, dere er fantastiske!", 5, post="p1", parent="p1", **a)
    w.judge("c4", "archive", ("ros",), ("thank",))
    w.msg("r4", "Så hyggelig å høre, takk!", 6, kind="reply", municipal=True, post="p1", parent="c4", **a)
    w.judge("r4", "archive")
    # praise, not thanked
    w.msg("c5", "Så flott at dere har fått ny lekeplass ved Ringebu skole!", 5.5, post="p1", parent="p1", **a)
    w.judge("c5", "archive", ("ros",), ("thank",))
    # a factual error, never corrected
    w.msg("c6", FACT_TEXT, 6.5, post="p1", parent="p1", **a)
    w.judge("c6", "archive", ("faktafeil",), ("reply",))
    # a negative comment, never answered; and one answered in the same comment thread (a reply to a reply)
    w.msg("c7", "Elendig brøyting i Kvamsgrenda igjen, ingen i kommunen bryr seg.", 7, post="p1", parent="p1", **a)
    w.judge("c7", "archive", ("kritikk",), ("reply",))
    w.msg("c7b", "Enig, og strøingen er like ille. Hvorfor er det så dårlig?", 7.5, kind="reply", post="p1",
          parent="c7", **a)
    w.judge("c7b", "archive", ("kritikk",), ("reply",))
    w.msg("r7b", "Beklager! Brøytemannskapet er varslet og kommer i dag.", 9, kind="reply", municipal=True, post="p1",
          parent="c7", **a)
    w.judge("r7b", "archive")
    w.msg("c7c", "Kommunen kaster bort pengene våre på dyre konsulenter.", 7.7, post="p1", parent="p1", **a)
    w.judge("c7c", "archive", ("kritikk",), ("reply",))
    # virus links: still up; hidden within the hour; deleted after two days; seen hidden by a later import
    w.msg("c8", "Gratis gavekort på 5000 kr! Logg inn her: http://bit.ly/gav3kort-ringebu", 8, post="p1",
          parent="p1", author="Premie Senter", **a)
    w.judge("c8", "exclude", ("virus",), ("remove",))
    w.msg("c9", "Vinn ny iPhone, bekreft kontoen din: http://rngbu-login.example/verify", 8.5, post="p1",
          parent="p1", author="Gevinst", **a)
    w.judge("c9", "exclude", ("virus",), ("remove",))
    w.action("c9", "hidden", 9, note="phishing")
    w.msg("c10", "Siste sjanse! Krev premien her http://premie-ringebu.example", 10, post="p1", parent="p1",
          author="Premie", **a)
    w.judge("c10", "exclude", ("virus",), ("remove",))
    w.action("c10", "deleted", 60, note="viruslenke")
    w.msg("c10b", "Din konto er stengt, logg inn: http://faceb00k-sikkerhet.example", 11, post="p1", parent="p1",
          author="Sikkerhet", **a)
    w.judge("c10b", "exclude", ("virus",), ("remove",))
    w.new_version("c10b", status="hidden", hours=13)
    w.msg("c10c", "Klikk her for å få tilbake skatt: http://skatt-refusjon.example", 11.2, post="p1", parent="p1",
          author="Skatt", status="hidden", **a)
    w.judge("c10c", "exclude", ("virus",), ("remove",))
    # cases: referred by a reply; not referred at all; referred by a recorded action
    w.msg("c11", "Jeg vil klage på vedtaket om eiendomsskatt for gnr. 12 bnr. 4.", 12, post="p1", parent="p1",
          author="Per Sletten", **a)
    w.judge("c11", "journal", ("klage",), ("refer_post",))
    w.msg("r11", "Hei Per! Klagen må sendes skriftlig til postmottak@ringebu.kommune.no, så blir den registrert.",
          13, kind="reply", municipal=True, post="p1", parent="c11", **a)
    w.judge("r11", "archive")
    w.deliver("c11", 30)
    w.msg("c12", "Søker herved om plass i barnehagen for sønnen min fra august.", 14, post="p1", parent="p1",
          author="Mona Lien", **a)
    w.judge("c12", "journal", ("soknad",), ("refer_post",))
    w.msg("c13", "Jeg ber om innsyn i kontrakten med brøyteentreprenøren.", 15, post="p1", parent="p1",
          author="Journalist", **a)
    w.judge("c13", "journal", ("innsynskrav",), ("refer_post",))
    w.action("c13", "referred_post", 16, note="sendt til postmottak")
    w.deliver("c13", 30)
    # political: not referred; referred by a reply
    w.msg("c14", "Ordføreren må svare på hvorfor Fåvang skole skal legges ned!", 16, post="p1", parent="p1", **a)
    w.judge("c14", "review", ("politisk",), ("refer_political",))
    w.flag("c14", "archive", "politisk ytring, ikke sak")
    w.msg("c15", "Hvorfor stemte Sp for nedleggelse av skolen?", 17, post="p1", parent="p1", **a)
    w.judge("c15", "archive", ("politisk",), ("refer_political",))
    w.msg("r15", "Dette er et politisk spørsmål, vi har sendt det videre til ordføreren og gruppelederne.", 18,
          kind="reply", municipal=True, post="p1", parent="c15", **a)
    w.judge("r15", "archive")
    # the municipality's own replies: case handling, an identity number, screened information
    w.msg("c16", "Har dere fått søknaden min om startlån? Sendte den for tre uker siden.", 19, post="p1", parent="p1",
          author="Kari Nordbakken", **a)
    w.judge("c16", "journal", ("oppfolging",), ("refer_post",))
    w.deliver("c16", 30)
    w.msg("r16", "Hei Kari, søknaden din er innvilget. Du får vedtaket i posten.", 20, kind="reply", municipal=True,
          post="p1", parent="c16", **a)
    w.judge("r16", "journal", ("egen_saksbehandling",))
    w.deliver("r16", 30)
    w.msg("r17", "Vi har registrert fødselsnummeret 15108695088 på saken din.", 20.5, kind="reply", municipal=True,
          post="p1", parent="c16", **a)
    w.judge("r17", "archive")
    w.msg("c18", "Hvorfor får ikke sønnen min hjelp på skolen?", 21, post="p1", parent="p1", author="Mor", **a)
    w.judge("c18", "review", ("tjenestesporsmal",), ("reply",))
    w.msg("r18", "Vi vet at sønnen din har ADHD og får spesialundervisning, vi tar kontakt.", 22, kind="reply",
          municipal=True, post="p1", parent="c18", **a)
    w.judge("r18", "archive", ("egen_personopplysninger",), screen=True)
    # own posts: without a link; with the link only in its attachment; with only an e-mail address
    w.msg("p2", "Husk brannøvelse på rådhuset i morgen kl. 10.", 24, kind="post", municipal=True, **a)
    w.judge("p2", "archive", ("egen_uten_lenke",))
    w.msg("p3", "Ny skolerute for neste skoleår er klar.", 25, kind="post", municipal=True, **a)
    w.attach("p3", "https://www.ringebu.kommune.no/nyheter/ny-skolerute")
    w.judge("p3", "archive", ("egen_uten_lenke",))
    w.msg("p4", "Spørsmål om eiendomsskatt? Skriv til postmottak@ringebu.kommune.no.", 26, kind="post", municipal=True,
          **a)
    w.judge("p4", "archive")
    # Messenger: a question answered in the conversation; a question just asked (not yet due)
    w.msg("m1", "Hei, når tømmes søpla i Ringebu sentrum neste gang?", 30, platform="messenger", kind="message",
          conversation="t_100200300", **a)
    w.judge("m1", "exclude", ("tjenestesporsmal",), ("reply",))
    w.msg("m2", "Hei! Neste tømming er tirsdag, se tømmekalenderen på ringebu.kommune.no.", 31, platform="messenger",
          kind="message", municipal=True, conversation="t_100200300", **a)
    w.judge("m2", "archive")
    hours_now = (utcnow() - w.base).total_seconds() / 3600
    w.msg("m3", "Hei, er svømmehallen åpen i dag?", hours_now - 1, platform="messenger", kind="message",
          conversation="t_100200999", **a)
    w.judge("m3", "exclude", ("tjenestesporsmal",), ("reply",))

    # -- Instagram: answered regularly, nothing to find -----------------------------------------
    g = dict(account=IG, platform="instagram")
    w.msg("ig1", "Vinterferie i Ringebu! Program på ringebu.kommune.no/vinterferie", 48, kind="post", municipal=True,
          **g)
    w.judge("ig1", "archive")
    w.msg("ig2", "Koselig! Blir det skiskole også?", 50, post="ig1", parent="ig1", **g)
    w.judge("ig2", "archive", ("tjenestesporsmal",), ("reply",))
    w.msg("ig3", "Ja, skiskolen er tirsdag og torsdag, påmelding via lenken i bio.", 52, kind="reply",
          municipal=True, post="ig1", parent="ig2", **g)
    w.judge("ig3", "archive")

    # -- the culture school: citizens wrote for two weeks, nobody answered ------------------------
    k = dict(account=KULTUR)
    w.msg("k0", "Påmelding til kulturskolen er åpen: https://www.ringebu.kommune.no/kulturskolen", 0, kind="post",
          municipal=True, **k)
    w.judge("k0", "archive")
    for i, (day, text) in enumerate([(2, "Har dere plass på gitar?"), (4, "Hei? Noen som svarer her?"),
                                     (6, "Når starter pianoundervisningen?"), (9, "Ingen svar på en uke…")]):
        w.msg(f"k{i + 1}", text, day * 24, post="k0", parent="k0", **k)
        w.judge(f"k{i + 1}", "exclude", ("prat",))

    # -- the youth council: the same silence, but the page was closed for the holiday -------------
    u = dict(account=UNGDOM)
    w.msg("u0", "Ungdomsrådet har sommerferie. Les mer på ringebu.kommune.no/ungdomsradet", 0, kind="post",
          municipal=True, **u)
    w.judge("u0", "archive")
    for i, day in enumerate((2, 4, 6, 9)):
        w.msg(f"u{i + 1}", f"Hei ungdomsrådet, innlegg nummer {i + 1}", day * 24, post="u0", parent="u0", **u)
        w.judge(f"u{i + 1}", "exclude", ("prat",))

    # -- an own page nobody registered -----------------------------------------------------------
    w.msg("h1", "Løypene er kjørt i Ringebu i dag!", 40, kind="post", municipal=True, account=HYTTE)
    w.judge("h1", "archive", ("egen_uten_lenke",))


def close_youth_council(w: World) -> None:
    """The youth council's page was closed from the day after its post until today."""
    since = (w.base + timedelta(days=1)).date()
    w.app.role = "archivist"
    accmod.close_account(w.app, f"facebook:{UNGDOM}", reopens=utcnow().date() + timedelta(days=30),
                         notice="Siden er stengt i sommerferien.", since=since)
    accmod.reopen_account(w.app, UNGDOM)
