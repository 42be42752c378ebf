"""Validate a Noark 5 v5.0 arkivuttrekk: XSD (offline, official schemas) and the Arkade 5 controls.

``validate_package(path)`` returns a :class:`ValidationReport` with *every* problem found, each
naming the control (``N5.xx``), the file, the element (path or systemID) and what is wrong.

Everything streams: each XML file is read once in 64 KiB chunks by an ``XMLPullParser`` that
validates against the schema while the content controls run on the same events, and every element
is cleared once handled. systemIDs and references go to a temporary SQLite file, so memory does not
grow with the size of arkivstruktur.xml. Parsing is hardened: no network, no DTD loading, no
entity expansion, and a file that declares a DOCTYPE is refused outright.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from lxml import etree

from noark.namespaces import (
    ARKIVSTRUKTUR_XML,
    ARKIVUTTREKK_XML,
    DOCUMENT_DIR_NAMES,
    ENDRINGSLOGG_XML,
    LOEPENDE_JOURNAL_XML,
    OFFENTLIG_JOURNAL_XML,
    SCHEMA_FOR_FILE,
    XSI_TYPE,
)
from noark.schemas import load_schema, official_schema_path, secure_parser
from noark.analyses import analyse
from noark.source import PackageSource, open_source

CHUNK = 64 * 1024
_HASH_BLOCK = 512 * 1024

# Other XML files that may sit beside the Noark files (DIAS/METS wrappers) and their schemas.
EXTRA_SCHEMAS = {
    "info.xml": "info.xsd",
    "dias-mets.xml": "DIAS_METS.xsd",
    "dias-premis.xml": "DIAS_PREMIS.xsd",
    "addml.xml": "addml.xsd",
}
METS_NS = "http://www.loc.gov/METS/"


@dataclass
class Finding:
    control: str
    file: str
    element: str
    message: str

    def __str__(self) -> str:
        where = f" [{self.element}]" if self.element else ""
        return f"{self.control} {self.file}{where}: {self.message}"


@dataclass
class ValidationReport:
    path: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    statistics: dict = field(default_factory=dict)
    analyses: dict = field(default_factory=dict)      # Arkade's analyses a depot reads (noark.analyses)

    @property
    def ok(self) -> bool:
        return not self.findings

    def controls(self) -> set[str]:
        return {f.control for f in self.findings}

    def by_control(self, control: str) -> list[Finding]:
        return [f for f in self.findings if f.control == control]

    def to_text(self) -> str:
        lines = [f"Package: {self.path}"]
        for key, value in self.statistics.items():
            lines.append(f"  {key}: {value}")
        if self.analyses:
            lines.append("Arkade analyses (what a depot reads):")
            for key, value in self.analyses.items():
                lines.append(f"  {key}: {value}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.ok:
            lines.append("OK: no problems found (XSD and Arkade controls)")
        else:
            lines.append(f"{len(self.findings)} problem(s):")
            lines.extend(f"  {finding}" for finding in self.findings)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "path": self.path,
                "ok": self.ok,
                "findings": [asdict(f) for f in self.findings],
                "notes": self.notes,
                "statistics": self.statistics,
                "analyses": self.analyses,
            },
            ensure_ascii=False,
            indent=2,
        )


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


# --- the temporary index ------------------------------------------------------------------


class _Index:
    """systemIDs and references on disk (SQLite), so checking them needs no growing memory."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="noark-validate-", suffix=".sqlite")
        os.close(fd)
        # used from the parsing worker thread too (one thread at a time)
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE ids (id TEXT, kind TEXT)")
        self.db.execute("CREATE TABLE refs (kind TEXT, value TEXT, owner TEXT)")
        self.db.execute("CREATE TABLE files (path TEXT)")
        self._ids: list[tuple[str, str]] = []
        self._refs: list[tuple[str, str, str]] = []

    def add_id(self, value: str, kind: str) -> None:
        self._ids.append((value, kind))
        if len(self._ids) >= 5000:
            self.flush()

    def add_ref(self, kind: str, value: str, owner: str) -> None:
        self._refs.append((kind, value, owner))
        if len(self._refs) >= 5000:
            self.flush()

    def add_files(self, paths) -> None:
        self.db.executemany("INSERT INTO files VALUES (?)", ((p,) for p in paths))

    def flush(self) -> None:
        if self._ids:
            self.db.executemany("INSERT INTO ids VALUES (?, ?)", self._ids)
            self._ids.clear()
        if self._refs:
            self.db.executemany("INSERT INTO refs VALUES (?, ?, ?)", self._refs)
            self._refs.clear()

    def query(self, sql: str, *args):
        self.flush()
        return self.db.execute(sql, args)

    def close(self) -> None:
        self.db.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# --- streaming parse with schema -------------------------------------------------------------


class _LogCollector(etree.PyErrorLog):
    """Receives libxml2's errors as they happen (lxml's per-thread global log)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_error: Callable[[object], None] = lambda entry: None

    def log(self, entry, message, *args):
        self.on_error(entry)

    def receive(self, entry):
        self.on_error(entry)


class _Handler:
    """Receives the start/end events of one file; subclasses implement the content controls."""

    file = ""

    def __init__(self) -> None:
        self.last_system_id: Optional[str] = None
        self.line = 0

    def start(self, el) -> None:
        pass

    def end(self, el) -> None:
        pass

    def finish(self) -> None:
        pass


def _stream_file(source: PackageSource, rel: str, schema: Optional[etree.XMLSchema], handler: _Handler,
                 report: ValidationReport, control: str = "N5.03") -> bool:
    """Parse ``rel`` once, validating and feeding ``handler``; record XSD/syntax problems.

    Runs in a worker thread because lxml's global error log, which reports each validation error
    the moment it happens (so it can be placed at the element being parsed), is per thread.
    """
    outcome = {}

    def run():
        try:
            collector = _LogCollector()
            etree.use_global_python_log(collector)
            outcome["ok"] = _StreamRun(source, rel, schema, handler, report, control, collector).run()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"noark-validate-{rel}")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["ok"]


class _StreamRun:
    MAX_LISTED = 200

    def __init__(self, source, rel, schema, handler, report, control, collector):
        self.source, self.rel, self.handler, self.report, self.control = source, rel, handler, report, control
        kwargs = dict(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
                      huge_tree=True, remove_comments=True, remove_pis=True)
        if schema is not None:
            kwargs["schema"] = schema
        self.parser = etree.XMLPullParser(**kwargs)
        self.done: list = []  # ended elements waiting to be freed once the parser is out of feed()
        self.xsd_errors = 0
        collector.on_error = self._error

    def _events(self) -> None:
        handler = self.handler
        for event, el in self.parser.read_events():
            if event == "start":
                handler.start(el)
            else:
                line = el.sourceline
                if line:
                    handler.line = line
                handler.end(el)
                self.done.append(el)

    def _free(self) -> None:
        for el in self.done:
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
        self.done.clear()

    def _error(self, entry) -> None:
        if entry.domain_name not in ("SCHEMASV", "SCHEMASP"):
            return
        # Called from inside feed(): catch up with the events so far to place the error.
        self._events()
        self.xsd_errors += 1
        if self.xsd_errors <= self.MAX_LISTED:
            h = self.handler
            where = f"line {h.line}" + (f", after systemID {h.last_system_id}" if h.last_system_id else "")
            self.report.findings.append(Finding(self.control, self.rel, where, f"XSD: {entry.message}"))

    def run(self) -> bool:
        first = True
        try:
            with self.source.open(self.rel) as fh:
                while chunk := fh.read(CHUNK):
                    if first:
                        head = chunk[:8192]
                        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                            self.report.findings.append(Finding(
                                self.control, self.rel, "",
                                "DOCTYPE/ENTITY declarations are not allowed in a Noark 5 file; the file was not parsed"))
                            return False
                        first = False
                    self.parser.feed(chunk)
                    self._events()
                    self._free()
                try:
                    self.parser.close()
                except etree.XMLSyntaxError:
                    if not self.xsd_errors:
                        raise
                self._events()
                self._free()
        except etree.XMLSyntaxError as exc:
            self.report.findings.append(Finding(self.control, self.rel, f"line {exc.lineno}" if exc.lineno else "",
                                                f"not well-formed XML: {exc.msg}"))
            return False
        if self.xsd_errors > self.MAX_LISTED:
            self.report.findings.append(Finding(self.control, self.rel, "",
                                                f"… {self.xsd_errors - self.MAX_LISTED} more XSD errors not listed"))
        self.handler.finish()
        return self.xsd_errors == 0


# --- arkivstruktur content controls ----------------------------------------------------------

ENTITIES = {"arkiv", "arkivdel", "klassifikasjonssystem", "klasse", "mappe", "registrering",
            "dokumentbeskrivelse", "dokumentobjekt"}


class _Frame:
    __slots__ = ("name", "xsi_type", "system_id", "values", "kinds")

    def __init__(self, name: str, xsi_type: Optional[str]):
        self.name = name
        self.xsi_type = xsi_type
        self.system_id: Optional[str] = None
        self.values: dict[str, str] = {}
        self.kinds: set[str] = set()


class ArkivstrukturControls(_Handler):
    file = ARKIVSTRUKTUR_XML

    def __init__(self, report: ValidationReport, index: _Index, source: PackageSource):
        super().__init__()
        self.report = report
        self.index = index
        self.source = source
        self.frames: list[_Frame] = []
        self.depth_children: list[int] = []
        self.count = {"mappe": 0, "registrering": 0, "journalpost": 0, "dokumentbeskrivelse": 0,
                      "dokumentobjekt": 0, "skjerming": 0, "kassasjon": 0, "utfoertKassasjon": 0}
        self.first_registrering: Optional[str] = None
        self.last_registrering: Optional[str] = None

    def add(self, control: str, frame: Optional[_Frame], message: str) -> None:
        where = f"{frame.name} {frame.system_id}" if frame and frame.system_id else (frame.name if frame else "")
        self.report.findings.append(Finding(control, self.file, where, message))

    def start(self, el) -> None:
        name = _local(el.tag)
        if name in self.count:
            self.count[name] += 1
        if name in ENTITIES:
            xsi_type = el.get(XSI_TYPE)
            if name == "registrering" and xsi_type == "journalpost":
                self.count["journalpost"] += 1
            if self.frames:
                self.frames[-1].kinds.add(name)
            self.frames.append(_Frame(name, xsi_type))

    def end(self, el) -> None:
        name = _local(el.tag)
        if name in ENTITIES:
            self._end_entity(self.frames.pop())
            return
        if len(el):
            return  # a complex child (skjerming, part …): its leaves were handled
        text = el.text
        frame = self.frames[-1] if self.frames else None
        if text is None or not text.strip():
            self.report.findings.append(Finding("N5.63", self.file,
                                                f"{name} after systemID {self.last_system_id}" if self.last_system_id else name,
                                                f"element {name} has no content"))
            text = ""
        parent = _local(el.getparent().tag) if el.getparent() is not None else ""
        if frame is None or parent != frame.name:
            return  # leaf of a complex child (e.g. skjerming/tilgangsrestriksjon)
        value = text.strip()
        if name == "systemID":
            frame.system_id = value
            self.last_system_id = value
            self.index.add_id(value, frame.name)
            return
        if name == "referanseArkivdel":
            self.index.add_ref("arkivdel", value, f"{frame.name} {frame.system_id}")
            return
        if name == "referanseSekundaerKlassifikasjon" and frame.name == "mappe" and frame.xsi_type == "saksmappe":
            self.index.add_ref("klasse", value, f"{frame.name} {frame.system_id}")
            return
        frame.values[name] = value

    def _end_entity(self, frame: _Frame) -> None:
        v = frame.values
        if frame.name == "klasse":
            if "klasse" in frame.kinds and "mappe" in frame.kinds:
                self.add("N5.12", frame, "klasse has both sub-klasser and mapper")
            if "klasse" in frame.kinds and "registrering" in frame.kinds:
                self.add("N5.19", frame, "klasse has both sub-klasser and registreringer")
        elif frame.name == "mappe":
            if frame.xsi_type == "saksmappe":
                status = v.get("saksstatus", "")
                if status not in ("Avsluttet", "Utgår"):
                    self.add("N5.15", frame, f"saksstatus «{status}» (an extract needs «Avsluttet» or «Utgår»)")
        elif frame.name == "registrering":
            day = v.get("opprettetDato", "")[:10]
            if len(day) == 10:
                if self.first_registrering is None or day < self.first_registrering:
                    self.first_registrering = day
                if self.last_registrering is None or day > self.last_registrering:
                    self.last_registrering = day
            if frame.xsi_type == "journalpost":
                if not v.get("journalposttype"):
                    self.add("N5.17", frame, "journalposttype is empty or missing")
                status = v.get("journalstatus", "")
                if status not in ("Arkivert", "Utgår"):
                    self.add("N5.22", frame, f"journalstatus «{status}» (an extract needs «Arkivert» or «Utgår»)")
        elif frame.name == "dokumentbeskrivelse":
            status = v.get("dokumentstatus", "")
            if status != "Dokumentet er ferdigstilt":
                self.add("N5.25", frame, f"dokumentstatus «{status}» (must be «Dokumentet er ferdigstilt»)")
        elif frame.name == "dokumentobjekt":
            self._check_document(frame)

    def _check_document(self, frame: _Frame) -> None:
        v = frame.values
        reference = v.get("referanseDokumentfil")
        if not reference:
            return
        rel = reference.replace("\\", "/")
        while rel.startswith("./"):
            rel = rel[2:]
        self.index.add_ref("fil", rel, f"dokumentobjekt {frame.system_id}")
        fmt = v.get("format")
        if fmt is not None:
            base = rel.rsplit("/", 1)[-1]
            extension = base.rsplit(".", 1)[-1].lower() if "." in base else ""
            if extension != fmt.lower():
                self.add("N5.29", frame, f"format «{fmt}» does not match the file extension of {reference}")
        if not self.source.exists(rel):
            self.add("N5.32", frame, f"referanseDokumentfil {reference}: file not found in the package")
            return
        expected = v.get("sjekksum")
        if expected is not None:
            digest = hashlib.sha256()
            with self.source.open(rel) as fh:
                while block := fh.read(_HASH_BLOCK):
                    digest.update(block)
            if digest.hexdigest() != expected.strip().lower():
                self.add("N5.30", frame, f"sjekksum of {reference} is {expected}, the file's SHA-256 is {digest.hexdigest()}")


class JournalControls(_Handler):
    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.count = 0
        self.head: dict[str, str] = {}
        self.in_head = False

    def start(self, el) -> None:
        name = _local(el.tag)
        if name == "journalhode":
            self.in_head = True

    def end(self, el) -> None:
        name = _local(el.tag)
        if name == "journalregistrering":
            self.count += 1
        elif name == "journalhode":
            self.in_head = False
        elif self.in_head and name in ("journalStartDato", "journalSluttDato", "antallJournalposter"):
            self.head[name] = (el.text or "").strip()
        elif name == "systemID":
            self.last_system_id = (el.text or "").strip()


class EndringsloggControls(_Handler):
    file = ENDRINGSLOGG_XML

    def __init__(self, index: _Index):
        super().__init__()
        self.index = index
        self.count = 0

    def end(self, el) -> None:
        name = _local(el.tag)
        if name == "endring":
            self.count += 1
        elif name == "referanseArkivenhet":
            self.index.add_ref("endring", (el.text or "").strip(), f"endring {self.count + 1}")


# --- arkivuttrekk.xml -------------------------------------------------------------------------


@dataclass
class _AddmlFile:
    name: str
    data_object: str
    algorithm: Optional[str]
    value: Optional[str]
    is_schema: bool


@dataclass
class _Addml:
    files: list[_AddmlFile] = field(default_factory=list)
    occurrences: dict[tuple[str, str], str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    version: Optional[str] = None


def _read_addml(source: PackageSource) -> _Addml:
    ns = {"a": "http://www.arkivverket.no/standarder/addml"}
    with source.open(ARKIVUTTREKK_XML) as fh:
        root = etree.parse(fh, secure_parser(remove_comments=True)).getroot()
    result = _Addml()
    top = root.find("a:dataset/a:dataObjects/a:dataObject", ns)
    if top is None:
        return result
    for prop in top.iterfind(".//a:property[@name='additionalInfo']//a:property", ns):
        value = prop.find("a:value", ns)
        if value is not None and value.text is not None:
            result.info[prop.get("name")] = value.text.strip()
    version = top.find("a:properties/a:property[@name='info']/a:properties/a:property[@name='type']"
                       "/a:properties/a:property[@name='version']/a:value", ns)
    result.version = version.text.strip() if version is not None and version.text else None
    for data_object in top.iterfind("a:dataObjects/a:dataObject", ns):
        do_name = data_object.get("name")
        for file_prop in data_object.iterfind(".//a:property[@name='file']", ns):
            name = file_prop.find("a:properties/a:property[@name='name']/a:value", ns)
            if name is None or not name.text:
                continue
            algorithm = file_prop.find("a:properties/a:property[@name='checksum']/a:properties/"
                                       "a:property[@name='algorithm']/a:value", ns)
            value = file_prop.find("a:properties/a:property[@name='checksum']/a:properties/"
                                   "a:property[@name='value']/a:value", ns)
            parent = file_prop.getparent().getparent()
            result.files.append(_AddmlFile(
                name.text.strip(), do_name,
                algorithm.text.strip() if algorithm is not None and algorithm.text else None,
                value.text.strip() if value is not None and value.text else None,
                parent.get("name") == "schema",
            ))
        for occ in data_object.iterfind(".//a:property[@name='numberOfOccurrences']", ns):
            element = occ.find("a:value", ns)
            count = occ.find("a:properties/a:property[@name='value']/a:value", ns)
            if element is not None and count is not None:
                result.occurrences[(do_name, (element.text or "").strip())] = (count.text or "").strip()
    return result


def _sha256(source: PackageSource, rel: str) -> str:
    digest = hashlib.sha256()
    with source.open(rel) as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# --- the whole package ------------------------------------------------------------------------


def validate_package(path: Path | str, *, progress: Optional[Callable[[str], None]] = None) -> ValidationReport:
    """Validate the package folder or tar at ``path``; raises PackageReadError only when the path
    cannot be read at all. Everything else is a finding in the returned report."""
    source = open_source(Path(path))
    report = ValidationReport(path=str(path))
    index = _Index()
    try:
        _validate(source, report, index, progress or (lambda _msg: None))
        report.analyses = analyse(source)
    finally:
        index.close()
        source.close()
    return report


def _validate(source: PackageSource, report: ValidationReport, index: _Index, progress) -> None:
    findings = report.findings
    addml: Optional[_Addml] = None

    # N5.01 / N5.02 / N5.03 for arkivuttrekk.xml itself and the files it lists
    if not source.exists(ARKIVUTTREKK_XML):
        findings.append(Finding("N5.01", ARKIVUTTREKK_XML, "", "arkivuttrekk.xml is missing; the controls that "
                                "compare with it (N5.02, N5.10, N5.16, N5.28 count, N5.42/44/45, N5.59–N5.61) "
                                "were skipped"))
    else:
        progress(ARKIVUTTREKK_XML)
        if _stream_file(source, ARKIVUTTREKK_XML, load_schema("addml.xsd"), _Handler(), report):
            addml = _read_addml(source)
            if addml.version and addml.version != "5.0":
                report.notes.append(f"arkivuttrekk.xml states Noark 5 version {addml.version}; "
                                    "validated against v5.0, the only version this tool writes")
    if addml is not None:
        _check_listed_files(source, addml, report)

    # XSD of every XML file, with the content controls on the same pass
    controls = None
    struktur_schema_ok = False
    if source.exists(ARKIVSTRUKTUR_XML):
        progress(ARKIVSTRUKTUR_XML)
        controls = ArkivstrukturControls(report, index, source)
        struktur_schema_ok = _stream_file(source, ARKIVSTRUKTUR_XML, load_schema("arkivstruktur.xsd"), controls, report)
        report.statistics.update({f"antall {k}": v for k, v in controls.count.items()})
    else:
        findings.append(Finding("N5.01", ARKIVSTRUKTUR_XML, "", "arkivstruktur.xml is missing"))
    journals: dict[str, JournalControls] = {}
    for name in (LOEPENDE_JOURNAL_XML, OFFENTLIG_JOURNAL_XML):
        if source.exists(name):
            progress(name)
            journals[name] = JournalControls(name)
            if not _stream_file(source, name, load_schema(SCHEMA_FOR_FILE[name]), journals[name], report):
                journals[name].broken = True
    endringer = None
    if source.exists(ENDRINGSLOGG_XML):
        progress(ENDRINGSLOGG_XML)
        endringer = EndringsloggControls(index)
        _stream_file(source, ENDRINGSLOGG_XML, load_schema("endringslogg.xsd"), endringer, report)
        report.statistics["antall endring"] = endringer.count
    _validate_extra_xml(source, report)
    _check_schemas_in_package(source, addml, report)

    if controls is not None:
        _reference_controls(source, index, controls, endringer, addml, report)
        _count_controls(controls, addml, report)
    _document_folder_controls(source, index, addml, report)
    if addml is not None or journals:
        _journal_controls(controls, journals, addml, report)
    if addml is not None and endringer is None:
        findings.append(Finding("N5.61", ENDRINGSLOGG_XML, "", "endringslogg.xml is missing"))
    if not struktur_schema_ok and controls is not None:
        report.notes.append("arkivstruktur.xml has XSD errors; content controls ran on what could be read")


def _check_listed_files(source: PackageSource, addml: _Addml, report: ValidationReport) -> None:
    seen_checksum: set[str] = set()
    names = []
    for f in addml.files:
        if f.name not in names:
            names.append(f.name)
    for name in names:
        if not source.exists(name):
            report.findings.append(Finding("N5.01", ARKIVUTTREKK_XML, name, f"{name} is listed in arkivuttrekk.xml "
                                           "but missing from the package"))
    for name in names:
        entries = [f for f in addml.files if f.name == name]
        with_sum = [f for f in entries if f.value or f.algorithm]
        if not with_sum:
            report.findings.append(Finding("N5.02", ARKIVUTTREKK_XML, name, "no checksum is given for this file"))
            continue
        for f in with_sum[:1]:
            if name in seen_checksum:
                continue
            seen_checksum.add(name)
            if not f.algorithm or f.algorithm.upper() not in ("SHA-256", "SHA256"):
                report.findings.append(Finding("N5.02", ARKIVUTTREKK_XML, name,
                                               f"checksum algorithm «{f.algorithm}» (must be SHA-256)"))
                continue
            if not f.value:
                report.findings.append(Finding("N5.02", ARKIVUTTREKK_XML, name, "checksum value is missing"))
                continue
            if not source.exists(name):
                continue  # reported under N5.01
            actual = _sha256(source, name)
            if actual.lower() != f.value.lower():
                report.findings.append(Finding("N5.02", ARKIVUTTREKK_XML, name,
                                               f"checksum {f.value} in arkivuttrekk.xml, the file's SHA-256 is {actual}"))


def _check_schemas_in_package(source: PackageSource, addml: Optional[_Addml], report: ValidationReport) -> None:
    """N5.03: each XML file's schemas must be documented in arkivuttrekk.xml, present, and official."""
    if addml is None:
        return
    documented = {f.name for f in addml.files if f.is_schema}
    needed: set[str] = set()
    for xml_name, xsd in SCHEMA_FOR_FILE.items():
        if source.exists(xml_name) and xml_name != ARKIVUTTREKK_XML:
            needed.update((xsd, "metadatakatalog.xsd"))
    for xsd in sorted(needed):
        if xsd not in documented or not source.exists(xsd):
            report.findings.append(Finding("N5.03", xsd, "", "schema is not documented in arkivuttrekk.xml and present "
                                           "in the package (Arkade falls back to its built-in copy)"))
    for xsd in sorted(needed | ({"addml.xsd"} if source.exists("addml.xsd") else set())):
        if source.exists(xsd) and _sha256(source, xsd) != _file_sha256(official_schema_path(xsd)):
            report.findings.append(Finding("N5.03", xsd, "", "schema differs from Arkivverket's official v5.0 text "
                                           "(only the official schemas may be used)"))


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _validate_extra_xml(source: PackageSource, report: ValidationReport) -> None:
    known = set(SCHEMA_FOR_FILE)
    for rel in source.files():
        if "/" in rel or not rel.endswith(".xml") or rel in known:
            continue
        schema_name = EXTRA_SCHEMAS.get(rel)
        if schema_name is None:
            with source.open(rel) as fh:
                head = fh.read(4096)
            schema_name = "submissionDescription.xsd" if METS_NS.encode() in head else None
        if schema_name is None:
            report.notes.append(f"{rel}: not a Noark 5 or DIAS file; not validated")
            continue
        _stream_file(source, rel, load_schema(schema_name), _Handler(), report)


def _reference_controls(source, index: _Index, controls: ArkivstrukturControls, endringer, addml, report) -> None:
    findings = report.findings
    index.flush()
    index.db.execute("CREATE INDEX ids_id ON ids (id)")
    for value, n in index.query("SELECT id, COUNT(*) FROM ids GROUP BY id HAVING COUNT(*) > 1 ORDER BY id"):
        findings.append(Finding("N5.47", ARKIVSTRUKTUR_XML, f"systemID {value}", f"systemID occurs {n} times"))
    for value, owner in index.query(
        "SELECT value, owner FROM refs WHERE kind = 'arkivdel' AND value NOT IN "
        "(SELECT id FROM ids WHERE kind = 'arkivdel') ORDER BY rowid"
    ):
        findings.append(Finding("N5.48", ARKIVSTRUKTUR_XML, owner,
                                f"referanseArkivdel {value} is not the systemID of an arkivdel in arkivstruktur.xml"))
    for value, owner in index.query(
        "SELECT value, owner FROM refs WHERE kind = 'klasse' AND value NOT IN "
        "(SELECT id FROM ids WHERE kind = 'klasse') ORDER BY rowid"
    ):
        findings.append(Finding("N5.51", ARKIVSTRUKTUR_XML, owner,
                                f"referanseSekundaerKlassifikasjon {value} is not the systemID of a klasse"))
    if endringer is not None:
        for value, owner in index.query(
            "SELECT value, owner FROM refs WHERE kind = 'endring' AND value NOT IN (SELECT id FROM ids) ORDER BY rowid"
        ):
            findings.append(Finding("N5.62", ENDRINGSLOGG_XML, owner,
                                    f"referanseArkivenhet {value} is not a systemID in arkivstruktur.xml"))


def _count_controls(controls: ArkivstrukturControls, addml: Optional[_Addml], report: ValidationReport) -> None:
    if addml is None:
        return
    for control, element in (("N5.10", "mappe"), ("N5.16", "registrering")):
        stated = addml.occurrences.get(("arkivstruktur", element))
        actual = controls.count[element]
        if stated is None or stated != str(actual):
            report.findings.append(Finding(control, ARKIVUTTREKK_XML, f"numberOfOccurrences {element}",
                                           f"arkivuttrekk.xml states {stated}, arkivstruktur.xml has {actual}"))
    for control, flag, count_key, what in (
        ("N5.42", "inneholderSkjermetInformasjon", "skjerming", "skjerming"),
        ("N5.44", "inneholderDokumenterSomSkalKasseres", "kassasjon", "kassasjon"),
        ("N5.45", "omfatterDokumenterSomErKassert", "utfoertKassasjon", "utfoertKassasjon"),
    ):
        stated = addml.info.get(flag, "false").lower() == "true"
        actual = controls.count[count_key]
        if stated and actual == 0:
            report.findings.append(Finding(control, ARKIVUTTREKK_XML, flag,
                                           f"{flag} is true, but arkivstruktur.xml has no {what}"))
        elif not stated and actual > 0:
            report.findings.append(Finding(control, ARKIVUTTREKK_XML, flag,
                                           f"{flag} is false, but arkivstruktur.xml has {actual} {what}"))


def _document_folder_controls(source, index: _Index, addml: Optional[_Addml], report: ValidationReport) -> None:
    folders = [name for name in DOCUMENT_DIR_NAMES]
    document_files = [rel for rel in source.files() if rel.split("/", 1)[0] in folders and "/" in rel]
    index.add_files(document_files)
    for (path,) in index.query(
        "SELECT path FROM files WHERE path NOT IN (SELECT value FROM refs WHERE kind = 'fil') ORDER BY path"
    ):
        report.findings.append(Finding("N5.33", path, "", "document file is not referenced by any dokumentobjekt"))
    report.statistics["antall dokumentfiler"] = len(document_files)
    if addml is None:
        return
    if not document_files:
        report.findings.append(Finding("N5.28", "", "", "no documents folder with files "
                                       f"({', '.join(DOCUMENT_DIR_NAMES)})"))
    stated = addml.info.get("antallDokumentfiler")
    if stated is None:
        report.findings.append(Finding("N5.28", ARKIVUTTREKK_XML, "antallDokumentfiler", "antallDokumentfiler is missing"))
    elif stated != str(len(document_files)):
        report.findings.append(Finding("N5.28", ARKIVUTTREKK_XML, "antallDokumentfiler",
                                       f"arkivuttrekk.xml states {stated}, the package has {len(document_files)} document files"))


def _journal_controls(controls, journals: dict, addml: Optional[_Addml], report: ValidationReport) -> None:
    sharp = addml is not None and addml.info.get("inngaaendeSkille") == "skarpt" \
        and addml.info.get("utgaaendeSkille") == "skarpt"
    loepende = journals.get(LOEPENDE_JOURNAL_XML)
    offentlig = journals.get(OFFENTLIG_JOURNAL_XML)
    journalposter = controls.count["journalpost"] if controls else 0
    if loepende is None or offentlig is None or getattr(loepende, "broken", False) or getattr(offentlig, "broken", False):
        if journalposter or journals:
            report.findings.append(Finding("N5.59", LOEPENDE_JOURNAL_XML if loepende is None else OFFENTLIG_JOURNAL_XML,
                                           "", f"the journals cannot be read (arkivstruktur.xml has {journalposter} journalposter)"))
        return
    report.statistics["antall journalregistrering"] = loepende.count
    if loepende.count != offentlig.count:
        report.findings.append(Finding("N5.59", OFFENTLIG_JOURNAL_XML, "journalregistrering",
                                       f"loependeJournal.xml has {loepende.count} entries, offentligJournal.xml {offentlig.count}"))
    if sharp and loepende.count != journalposter:
        report.findings.append(Finding("N5.59", LOEPENDE_JOURNAL_XML, "journalregistrering",
                                       f"«skarpt» periodeskille: the journals have {loepende.count} entries, "
                                       f"arkivstruktur.xml has {journalposter} journalposter"))
    ldates = (loepende.head.get("journalStartDato", "")[:10], loepende.head.get("journalSluttDato", "")[:10])
    odates = (offentlig.head.get("journalStartDato", "")[:10], offentlig.head.get("journalSluttDato", "")[:10])
    if ldates != odates:
        report.findings.append(Finding("N5.60", OFFENTLIG_JOURNAL_XML, "journalhode",
                                       f"journal dates differ: løpende {ldates[0]}–{ldates[1]}, offentlig {odates[0]}–{odates[1]}"))
    if sharp and controls is not None:
        adates = (controls.first_registrering or "", controls.last_registrering or "")
        if not adates[0]:
            report.findings.append(Finding("N5.60", ARKIVSTRUKTUR_XML, "", "no registrering opprettetDato found"))
        elif adates != ldates:
            report.findings.append(Finding("N5.60", LOEPENDE_JOURNAL_XML, "journalhode",
                                           f"«skarpt» periodeskille: journal period {ldates[0]}–{ldates[1]} differs from "
                                           f"the registreringer's {adates[0]}–{adates[1]}"))

