"""Writes the demo's bundled sample conversations (ringebu_journal/demo_data/).

The conversations are invented but realistic: the kinds of messages Ringebu kommune's pages
receive, in the shapes the Graph API returns (FORMATS.md). Run once; the output is committed.
"""

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "ringebu_journal" / "demo_data"
PAGE = "104123456789012"
IG = "17841400000000001"
BASE = "https://graph.facebook.com/v25.0"


def person(name, pid):
    return {"name": name, "id": pid}


KOMMUNE = person("Ringebu kommune", PAGE)
KARI = person("Kari Nordmann", "6123456789012345")
OLA = person("Ola Haugen", "6123456789012346")
LIV = person("Liv Bakken", "6123456789012347")
PER = person("Per Sletten", "6123456789012348")
SIRI = person("Siri Moen", "6123456789012349")
SPAM = person("Gavekort Norge", "6123456789019999")
ANNE = person("Anne Lie", "6123456789012350")


def c(cid, post, frm, msg, t, parent=None, hidden=False):
    d = {"id": f"{post}_{cid}", "message": msg, "created_time": t, "from": frm, "is_hidden": hidden,
         "permalink_url": f"https://www.facebook.com/{PAGE}/posts/{post}?comment_id={cid}"}
    if parent:
        d["parent"] = {"id": f"{post}_{parent}"}
    return d


posts = [
    {
        "id": f"{PAGE}_871234567890123",
        "message": "Vannledningsbrudd i Sentrumsvegen. Vannet er stengt til ca. kl. 15. Følg med på https://www.ringebu.kommune.no/vann",
        "created_time": "2026-10-05T08:15:30+0000",
        "from": KOMMUNE,
        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/871234567890123",
        "comments": {"data": [
            c("1122334455667788", "871234567890123", KARI, "Gjelder dette også Nedre gate? Vi har ikke vann i nr 12.", "2026-10-05T08:40:02+0000"),
            c("1122334455669999", "871234567890123", KOMMUNE, "Hei Kari, ja – Nedre gate er også berørt. Vannet er tilbake i ettermiddag.", "2026-10-05T08:47:51+0000", parent="1122334455667788"),
            c("1122334455670001", "871234567890123", OLA, "Jeg krever erstatning for vaskemaskinen som ble ødelagt da vannet kom tilbake. Hvem sender jeg regningen til?", "2026-10-05T16:02:11+0000"),
            c("1122334455670002", "871234567890123", KOMMUNE, "Hei Ola. Krav om erstatning må sendes skriftlig til postmottak@ringebu.kommune.no, så blir det registrert og behandlet.", "2026-10-05T16:30:00+0000", parent="1122334455670001"),
            c("1122334455670003", "871234567890123", LIV, "Takk for rask jobb, karer! 👏", "2026-10-05T17:10:00+0000"),
            c("1122334455670004", "871234567890123", SPAM, "GRATIS gavekort på 10 000 kr til de 100 første! Registrer deg på https://gavekort-norge.click/claim", "2026-10-05T18:00:00+0000", hidden=True),
        ]},
    },
    {
        "id": f"{PAGE}_871234567890200",
        "message": "Kommunestyret vedtok i går ny plan for skolestruktur. Vi svarer gjerne på spørsmål om hva det betyr for dere.",
        "created_time": "2026-10-12T10:00:00+0000",
        "from": KOMMUNE,
        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/871234567890200",
        "comments": {"data": [
            c("2233445566770001", "871234567890200", PER, "Ordføreren lovte å beholde Fåvang skole i valgkampen. Hvorfor stemte Sp for nedleggelse?", "2026-10-12T11:30:00+0000"),
            c("2233445566770002", "871234567890200", SIRI, "Jeg vil klage på vedtaket om skoleskyss for dattera mi. Hun får ikke skyss selv om vegen er farlig.", "2026-10-12T12:05:00+0000"),
            c("2233445566770003", "871234567890200", KOMMUNE, "Hei Siri. Vil du at vi registrerer dette som en klage? Da trenger vi navn og adresse på e-post til postmottak.", "2026-10-12T12:40:00+0000", parent="2233445566770002"),
            c("2233445566770004", "871234567890200", SIRI, "Ja, registrer det som en klage. Sender adressen på e-post nå.", "2026-10-12T13:00:00+0000", parent="2233445566770002"),
            c("2233445566770005", "871234567890200", ANNE, "Når blir det foreldremøte om den nye skolestrukturen?", "2026-10-13T07:45:00+0000"),
            c("2233445566770006", "871234567890200", KARI, "Alle vet jo at sønnen til rektor har vært innlagt på psykiatrisk. Ikke rart skolen er som den er.", "2026-10-13T09:00:00+0000"),
        ]},
    },
    {
        "id": f"{PAGE}_871234567890300",
        "message": "Husk bålforbudet som gjelder fra 15. april til 15. september.",
        "created_time": "2026-10-20T09:00:00+0000",
        "from": KOMMUNE,
        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/871234567890300",
        "comments": {"data": [
            c("3344556677880001", "871234567890300", OLA, "Det er jo oktober nå, bålforbudet gjelder ikke lenger 😅", "2026-10-20T09:30:00+0000"),
            c("3344556677880002", "871234567890300", LIV, "Vakkert bilde fra Venabygdsfjellet!", "2026-10-20T10:00:00+0000"),
        ]},
    },
]

feed = {"data": posts, "paging": {"cursors": {"before": "QVFIUnp", "after": "QVFIUkw"}}}

conversations = {"data": [
    {"id": "t_100000000000001", "updated_time": "2026-10-15T10:05:00+0000",
     "messages": {"data": [
         {"id": "m_AbC000000000001", "created_time": "2026-10-15T10:02:11+0000", "from": KARI,
          "to": {"data": [KOMMUNE]},
          "message": "Hei, jeg sier opp SFO-plassen til Jonas fra 1. januar. Fødselsnummeret hans er 24089010035."},
         {"id": "m_AbC000000000002", "created_time": "2026-10-15T10:05:00+0000", "from": KOMMUNE,
          "to": {"data": [KARI]},
          "message": "Takk for beskjed. Oppsigelse må sendes skriftlig til postmottak@ringebu.kommune.no eller på skjema på ringebu.kommune.no, så blir den registrert."},
     ]}},
    {"id": "t_100000000000002", "updated_time": "2026-10-18T14:00:00+0000",
     "messages": {"data": [
         {"id": "m_AbC000000000003", "created_time": "2026-10-18T14:00:00+0000", "from": PER,
          "to": {"data": [KOMMUNE]},
          "message": "Jeg krever innsyn i kontrakten kommunen inngikk med brøyteentreprenøren i 2025."},
     ]}},
    {"id": "t_100000000000003", "updated_time": "2026-10-21T20:00:00+0000",
     "messages": {"data": [
         {"id": "m_AbC000000000004", "created_time": "2026-10-21T20:00:00+0000", "from": ANNE,
          "to": {"data": [KOMMUNE]},
          "message": "Når har biblioteket åpent i høstferien?"},
     ]}},
]}

media = {"data": [
    {"id": "17900000000000001", "caption": "Høstfarger ved Ringebu stavkyrkje 🍁 Les mer om kulturarven på ringebu.kommune.no",
     "timestamp": "2026-10-08T12:00:00+0000", "username": "ringebukommune",
     "permalink": "https://www.instagram.com/p/DEMO0001/", "media_type": "IMAGE",
     "comments": {"data": [
         {"id": "17890000000000011", "text": "Nydelig! 😍", "timestamp": "2026-10-08T12:30:00+0000",
          "username": "kari.nordmann", "from": {"id": "17840000000000011", "username": "kari.nordmann"}},
         {"id": "17890000000000012", "text": "Dere har fakturert oss for tømming av slamavskiller som aldri ble gjort. Vi vil ha kreditnota.",
          "timestamp": "2026-10-09T08:00:00+0000", "username": "ola.haugen",
          "from": {"id": "17840000000000012", "username": "ola.haugen"}},
         {"id": "17890000000000013", "text": "Hei! Pakken din venter. Betal 29 kr i frakt her: http://posten-sporing.info/betal",
          "timestamp": "2026-10-09T09:00:00+0000", "username": "posten.norge.hjelp",
          "from": {"id": "17840000000000099", "username": "posten.norge.hjelp"}},
     ]}},
]}


def line(url, body):
    return json.dumps({"request": {"method": "GET", "url": url, "retrieved_at": "2026-10-22T06:00:00Z"},
                       "status": 200, "body": body}, ensure_ascii=False)


OUT.mkdir(parents=True, exist_ok=True)
with open(OUT / "facebook-harvest.jsonl", "w", encoding="utf-8") as fh:
    fh.write(line(f"{BASE}/{PAGE}/feed?fields=id,message,created_time,from,permalink_url,comments.filter(stream)"
                  "{id,message,created_time,from,parent,is_hidden,permalink_url}", feed) + "\n")
    fh.write(line(f"{BASE}/{PAGE}/conversations?platform=messenger&fields=id,updated_time,"
                  "messages{id,created_time,from,to,message}", conversations) + "\n")
    fh.write(line(f"{BASE}/{IG}/media?fields=id,caption,timestamp,username,permalink,media_type,"
                  "comments{id,text,timestamp,username,from}", media) + "\n")

manual = [
    {"platform": "linkedin", "kind": "post", "id": "li-post-0001", "account_id": "ringebu-kommune-li",
     "account_name": "Ringebu kommune", "author": {"id": "ringebu-kommune-li", "name": "Ringebu kommune", "is_municipality": True},
     "text": "Næringsfondet er åpent for søknader fra lokale gründere. Les mer på https://www.ringebu.kommune.no/naering",
     "created_at": "2026-10-14T08:00:00Z", "permalink": "https://www.linkedin.com/feed/update/urn:li:activity:0001"},
    {"platform": "linkedin", "kind": "comment", "id": "li-demo-0001", "post_id": "li-post-0001",
     "parent_id": "li-post-0001", "account_id": "ringebu-kommune-li",
     "author": {"id": "li-user-77", "name": "Marte Holm"},
     "text": "Vi søker herved om tilskudd fra næringsfondet til oppstart av gårdsbutikk på Fåvang. Budsjett kommer på e-post.",
     "created_at": "2026-10-16T09:12:00Z", "permalink": "https://www.linkedin.com/feed/update/urn:li:activity:0001?comment=1"},
]
with open(OUT / "manual-captures.jsonl", "w", encoding="utf-8") as fh:
    for m in manual:
        fh.write(json.dumps(m, ensure_ascii=False) + "\n")
print("wrote", OUT)
