"""Namespace URIs, file names and schema pairs of a Noark 5 v5.0 arkivuttrekk, in one place."""

ARKIVSTRUKTUR = "http://www.arkivverket.no/standarder/noark5/arkivstruktur"
METADATAKATALOG = "http://www.arkivverket.no/standarder/noark5/metadatakatalog"
ENDRINGSLOGG = "http://www.arkivverket.no/standarder/noark5/endringslogg"
LOEPENDE_JOURNAL = "http://www.arkivverket.no/standarder/noark5/loependeJournal"
OFFENTLIG_JOURNAL = "http://www.arkivverket.no/standarder/noark5/offentligJournal"
ADDML = "http://www.arkivverket.no/standarder/addml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = "{%s}type" % XSI

ARKIVUTTREKK_XML = "arkivuttrekk.xml"
ARKIVSTRUKTUR_XML = "arkivstruktur.xml"
ENDRINGSLOGG_XML = "endringslogg.xml"
LOEPENDE_JOURNAL_XML = "loependeJournal.xml"
OFFENTLIG_JOURNAL_XML = "offentligJournal.xml"

DOKUMENT_DIR = "DOKUMENT"
# Arkade accepts these names for the documents folder (ArkadeConstants.DocumentDirectoryNames).
DOCUMENT_DIR_NAMES = ("dokumenter", "DOKUMENTER", "dokument", "DOKUMENT")

# XML file -> its main schema (SPEC 6.4.16–6.4.19: names are obligatory and case-sensitive).
SCHEMA_FOR_FILE = {
    ARKIVUTTREKK_XML: "addml.xsd",
    ARKIVSTRUKTUR_XML: "arkivstruktur.xsd",
    ENDRINGSLOGG_XML: "endringslogg.xsd",
    LOEPENDE_JOURNAL_XML: "loependeJournal.xsd",
    OFFENTLIG_JOURNAL_XML: "offentligJournal.xsd",
}

# The schemas copied into every package.
PACKAGE_SCHEMAS = (
    "addml.xsd",
    "arkivstruktur.xsd",
    "metadatakatalog.xsd",
    "endringslogg.xsd",
    "loependeJournal.xsd",
    "offentligJournal.xsd",
)
