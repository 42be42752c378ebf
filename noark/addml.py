"""arkivuttrekk.xml, filled in from Riksarkivaren's ADDML template for Noark 5 v5.0.

The template (``noark/data/arkivuttrekk-mal.xml``, a byte-for-byte copy of «Noark 5 v 5-
arkivuttrekk_v5_0.xml») is parsed and only its values are replaced, so the structure is exactly
the one the depot and Arkade read (Arkade takes ``dataObject[0]/properties/info/additionalInfo``
by position).

Besides the template's own context elements, a caller may add named groups of values
(``Uttrekksinfo.kontekst``), each written as one more ``additionalElement`` in
``dataset/reference/context/additionalElements`` with one ``property`` per value. The ADDML
schema allows any number of them and Arkade reads only the elements it knows by name, so the
extract stays valid; :func:`read_kontekst` reads them back from a written arkivuttrekk.xml.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Optional

from lxml import etree

from noark.models import NoarkModel, Tekst
from noark.namespaces import ADDML, ARKIVUTTREKK_XML
from noark.schemas import secure_parser

TEMPLATE = Path(__file__).resolve().parent / "data" / "arkivuttrekk-mal.xml"
_A = "{%s}" % ADDML
_NSMAP = {"a": ADDML}


class Uttrekksinfo(NoarkModel):
    """What the caller states about the extract (SPEC, «Påkrevde elementer i arkivuttrekk.xml»)."""

    arkivskapere: list[Tekst]
    systemType: Tekst = "Sakarkiv (Noark-5)"
    systemnavn: Tekst
    arkivnavn: Tekst
    periodeStart: date
    periodeSlutt: date
    inngaaendeSkille: Literal["mykt", "skarpt"] = "skarpt"
    utgaaendeSkille: Literal["mykt", "skarpt"] = "skarpt"
    inneholderVirksomhetsspesifikkeMetadata: bool = False
    # extra context groups: additionalElement name -> {property name: value}
    kontekst: dict[str, dict[str, Tekst]] = {}


@dataclass
class Datafil:
    """One XML file of the package as arkivuttrekk.xml describes it."""

    navn: str  # dataObject name: arkivstruktur, endringslogg, loependeJournal, offentligJournal
    forekomster: dict[str, int] = field(default_factory=dict)  # numberOfOccurrences value -> count


def sha256_file(path: Path, block: int = 512 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _prop(parent: etree._Element, *names: str) -> etree._Element:
    """Follow ``property[@name]`` steps (through ``properties``) below ``parent``."""
    node = parent
    for name in names:
        found = node.find(f"a:properties/a:property[@name='{name}']", _NSMAP)
        if found is None:
            raise LookupError(f"ADDML template has no property {name!r} below {node.tag}")
        node = found
    return node


def _set_value(prop: etree._Element, text: str) -> None:
    value = prop.find("a:value", _NSMAP)
    value.text = text


def build_arkivuttrekk(
    directory: Path,
    info: Uttrekksinfo,
    datafiler: list[Datafil],
    *,
    antall_dokumentfiler: int,
    inneholder_skjermet_informasjon: bool,
    omfatter_dokumenter_som_er_kassert: bool,
    inneholder_dokumenter_som_skal_kasseres: bool,
) -> bytes:
    """The arkivuttrekk.xml bytes for the XML files and schemas already present in ``directory``."""
    with open(TEMPLATE, "rb") as fh:
        tree = etree.parse(fh, secure_parser(remove_comments=True))
    root = tree.getroot()
    context = root.find("a:dataset/a:reference/a:context/a:additionalElements", _NSMAP)

    creators = context.find("a:additionalElement[@name='recordCreators']/a:additionalElements", _NSMAP)
    template_creator = creators.find("a:additionalElement", _NSMAP)
    for old in list(creators):
        creators.remove(old)
    for name in info.arkivskapere:
        creator = etree.SubElement(creators, _A + "additionalElement", name=template_creator.get("name"))
        etree.SubElement(creator, _A + "value").text = name
    context.find("a:additionalElement[@name='systemType']/a:value", _NSMAP).text = info.systemType
    context.find("a:additionalElement[@name='systemName']/a:value", _NSMAP).text = info.systemnavn
    context.find("a:additionalElement[@name='archive']/a:value", _NSMAP).text = info.arkivnavn
    for group, values in info.kontekst.items():
        element = etree.SubElement(context, _A + "additionalElement", name=group)
        props = etree.SubElement(element, _A + "properties")
        for key, value in values.items():
            prop = etree.SubElement(props, _A + "property", name=key)
            etree.SubElement(prop, _A + "value").text = value
    period = root.find(
        "a:dataset/a:reference/a:content/a:additionalElements/a:additionalElement[@name='archivalPeriod']", _NSMAP
    )
    _set_value(_prop(period, "startDate"), info.periodeStart.isoformat())
    _set_value(_prop(period, "endDate"), info.periodeSlutt.isoformat())

    uttrekk = root.find("a:dataset/a:dataObjects/a:dataObject[@name='Noark 5-arkivuttrekk']", _NSMAP)
    type_prop = _prop(uttrekk, "info", "type")
    _set_value(type_prop, "Noark 5")
    _set_value(_prop(type_prop, "version"), "5.0")
    extra = _prop(uttrekk, "info", "additionalInfo")
    _set_value(_prop(extra, "periode", "inngaaendeSkille"), info.inngaaendeSkille)
    _set_value(_prop(extra, "periode", "utgaaendeSkille"), info.utgaaendeSkille)
    flags = {
        "inneholderSkjermetInformasjon": inneholder_skjermet_informasjon,
        "omfatterDokumenterSomErKassert": omfatter_dokumenter_som_er_kassert,
        "inneholderDokumenterSomSkalKasseres": inneholder_dokumenter_som_skal_kasseres,
        "inneholderVirksomhetsspesifikkeMetadata": info.inneholderVirksomhetsspesifikkeMetadata,
    }
    for name, flag in flags.items():
        _set_value(_prop(extra, name), "true" if flag else "false")
    _set_value(_prop(extra, "antallDokumentfiler"), str(antall_dokumentfiler))

    wanted = {d.navn: d for d in datafiler}
    container = uttrekk.find("a:dataObjects", _NSMAP)
    for data_object in list(container.findall("a:dataObject", _NSMAP)):
        datafil = wanted.get(data_object.get("name"))
        if datafil is None:
            container.remove(data_object)
            continue
        _fill_data_object(directory, data_object, datafil)
    missing = set(wanted) - {d.get("name") for d in container.findall("a:dataObject", _NSMAP)}
    if missing:
        raise LookupError(f"ADDML template has no dataObject for {sorted(missing)}")
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _fill_data_object(directory: Path, data_object: etree._Element, datafil: Datafil) -> None:
    props = data_object.find("a:properties", _NSMAP)
    for prop in props.findall("a:property", _NSMAP):
        kind = prop.get("name")
        if kind == "file":
            _fill_file(directory, prop)
        elif kind == "schema":
            file_prop = prop.find("a:properties/a:property[@name='file']", _NSMAP)
            _fill_file(directory, file_prop)
        elif kind == "info":
            for occ in prop.findall("a:properties/a:property[@name='numberOfOccurrences']", _NSMAP):
                element = occ.find("a:value", _NSMAP).text
                _set_value(_prop(occ, "value"), str(datafil.forekomster.get(element, 0)))


def _fill_file(directory: Path, file_prop: etree._Element) -> None:
    name = _prop(file_prop, "name").find("a:value", _NSMAP).text
    checksum = file_prop.find("a:properties/a:property[@name='checksum']", _NSMAP)
    if checksum is None:  # metadatakatalog.xsd: documented with a checksum only once
        return
    _set_value(_prop(checksum, "algorithm"), "SHA-256")
    _set_value(_prop(checksum, "value"), sha256_file(directory / name))


def read_kontekst(data: bytes, group: str) -> dict[str, str] | None:
    """The values of one extra context group of an arkivuttrekk.xml (None when it has none)."""
    root = etree.fromstring(data, secure_parser(remove_comments=True))
    element = root.find(
        f"a:dataset/a:reference/a:context/a:additionalElements/a:additionalElement[@name='{group}']", _NSMAP)
    if element is None:
        return None
    return {p.get("name"): (p.findtext("a:value", default="", namespaces=_NSMAP) or "")
            for p in element.findall("a:properties/a:property", _NSMAP)}


def write_arkivuttrekk(directory: Path | str, info: Uttrekksinfo, datafiler: list[Datafil], **flags) -> Path:
    """Write arkivuttrekk.xml into ``directory`` (its XML files and XSDs must be there already)."""
    directory = Path(directory)
    data = build_arkivuttrekk(directory, info, datafiler, **flags)
    path = directory / ARKIVUTTREKK_XML
    path.write_bytes(data)
    return path
