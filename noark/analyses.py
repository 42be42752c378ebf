"""The Arkade content analyses a depot reads first, computed from a package.

Arkade 5 reports these as figures, not errors; a receiving archive reads them to see
whether the package makes sense: N5.27 (first and last registrering by opprettetDato), N5.35
(parter), N5.39 (korrespondanseparter), N5.40 (avskrivninger, per avskrivningsmåte), N5.46
(converted documents: dokumentobjekt with a konvertering, per from → to format) and N5.60 (the
journals' start and end dates, beside the first and last journaldato in arkivstruktur.xml and the
arkivdel's period). One streaming pass over each file; memory stays flat.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lxml import etree

from noark.namespaces import ARKIVSTRUKTUR_XML, LOEPENDE_JOURNAL_XML, OFFENTLIG_JOURNAL_XML
from noark.source import PackageSource


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el) -> str:
    return (el.text or "").strip()


def _struktur(source: PackageSource) -> dict[str, Any]:
    first = last = None
    jfirst = jlast = None
    parter = korr = 0
    avskrivning: Counter[str] = Counter()
    konvertert = 0
    konverteringer: Counter[str] = Counter()
    periods: list[tuple[str, str]] = []
    with source.open(ARKIVSTRUKTUR_XML) as fh:
        for _event, el in etree.iterparse(fh, events=("end",), huge_tree=True, resolve_entities=False, no_network=True):
            name = _local(el.tag)
            parent = el.getparent()
            pname = _local(parent.tag) if parent is not None else ""
            if name == "opprettetDato" and pname == "registrering":
                day = _text(el)[:10]
                first = day if first is None or day < first else first
                last = day if last is None or day > last else last
            elif name == "journaldato" and pname == "registrering":
                day = _text(el)[:10]
                jfirst = day if jfirst is None or day < jfirst else jfirst
                jlast = day if jlast is None or day > jlast else jlast
            elif name == "part":
                parter += 1
            elif name == "korrespondansepart" and pname == "registrering":
                korr += 1
            elif name == "avskrivning":
                maate = next((_text(c) for c in el if _local(c.tag) == "avskrivningsmaate"), "")
                avskrivning[maate] += 1
            elif name == "dokumentobjekt":
                konv = [c for c in el if _local(c.tag) == "konvertering"]
                if konv:
                    konvertert += 1
                for c in konv:
                    fra = next((_text(x) for x in c if _local(x.tag) == "konvertertFraFormat"), "?")
                    til = next((_text(x) for x in c if _local(x.tag) == "konvertertTilFormat"), "?")
                    konverteringer[f"{fra} → {til}"] += 1
                el.clear(keep_tail=True)
            elif name == "arkivperiodeSluttDato" and pname == "arkivdel":
                start = next((_text(c) for c in parent if _local(c.tag) == "arkivperiodeStartDato"), "")
                periods.append((start[:10], _text(el)[:10]))
            elif name == "mappe" and pname != "mappe":
                el.clear(keep_tail=True)
    return {"first": first, "last": last, "jfirst": jfirst, "jlast": jlast, "parter": parter, "korr": korr,
            "avskrivning": avskrivning, "konvertert": konvertert, "konverteringer": konverteringer,
            "periods": periods}


def _journal_head(source: PackageSource, name: str) -> tuple[str, str] | None:
    if not source.exists(name):
        return None
    start = slutt = ""
    with source.open(name) as fh:
        for _event, el in etree.iterparse(fh, events=("end",), resolve_entities=False, no_network=True):
            n = _local(el.tag)
            if n == "journalStartDato":
                start = _text(el)[:10]
            elif n == "journalSluttDato":
                slutt = _text(el)[:10]
            elif n == "journalhode":
                break
    return start, slutt


def analyse(source: PackageSource) -> dict[str, str]:
    """The analyses as «control: figure» lines, in Arkade's order. Empty when arkivstruktur.xml
    is missing or cannot be parsed (the controls report that)."""
    if not source.exists(ARKIVSTRUKTUR_XML):
        return {}
    try:
        s = _struktur(source)
        loepende = _journal_head(source, LOEPENDE_JOURNAL_XML)
        offentlig = _journal_head(source, OFFENTLIG_JOURNAL_XML)
    except etree.XMLSyntaxError:
        return {}
    out: dict[str, str] = {}
    out["N5.27 første og siste registrering (opprettetDato)"] = (
        f"{s['first']} – {s['last']}" if s["first"] else "ingen registreringer")
    out["N5.35 antall parter"] = str(s["parter"])
    out["N5.39 antall korrespondanseparter"] = str(s["korr"])
    total = sum(s["avskrivning"].values())
    out["N5.40 antall avskrivninger"] = str(total) + (
        " (" + ", ".join(f"{k or 'uten måte'}: {v}" for k, v in sorted(s["avskrivning"].items())) + ")" if total else "")
    out["N5.46 antall konverterte dokumenter"] = str(s["konvertert"]) + (
        " (" + ", ".join(f"{k}: {v}" for k, v in sorted(s["konverteringer"].items())) + ")" if s["konvertert"] else "")
    parts = []
    if loepende:
        parts.append(f"løpende journal {loepende[0]} – {loepende[1]}")
    if offentlig:
        parts.append(f"offentlig journal {offentlig[0]} – {offentlig[1]}")
    if s["jfirst"]:
        parts.append(f"journaldato i arkivstruktur {s['jfirst']} – {s['jlast']}")
    for start, slutt in s["periods"]:
        parts.append(f"arkivdel {start} – {slutt}")
    out["N5.60 start- og sluttdatoer"] = "; ".join(parts) if parts else "ingen journaler"
    return out
