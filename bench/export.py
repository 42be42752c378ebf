"""Benchmark of the noark library: write and validate packages of 10,000 and 100,000 registreringer.

    .venv/bin/python bench/export.py [--sizes 10000 100000] [--keep DIR]

Each size runs in its own subprocess (so peak RSS is measured separately), and validation in yet
another. Printed per size:

(a) XML throughput: elements/s of ArkivstrukturWriter, as a ratio to a bare ``lxml.etree.xmlfile``
    loop writing the same number of elements in the same process (target ≥ 0.33); with and
    without the cost of building the pydantic models;
(b) peak RSS of the export (full package: documents copied, journals, ADDML) — target < 300 MB
    and flat between sizes;
(d) validation throughput (elements/s and MB/s) and peak RSS of the validator.
Documents are small pre-made files ("already rendered"): the builder copies and hashes them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from noark import (  # noqa: E402
    Arkiv,
    Arkivdel,
    Arkivskaper,
    ArkivstrukturWriter,
    Dokumentbeskrivelse,
    Dokumentfil,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Korrespondansepart,
    PackageBuilder,
    Saksmappe,
    Uttrekksinfo,
    stable_uuid,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
PER_MAPPE = 5
NS = "http://www.arkivverket.no/standarder/noark5/arkivstruktur"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mapper(n_registreringer: int, documents: list[Path] | None):
    """A generator of saksmapper (PER_MAPPE journalposts each, one document each)."""
    seq = 0
    for m in range(n_registreringer // PER_MAPPE):
        regs = []
        for r in range(PER_MAPPE):
            seq += 1
            if documents is not None:
                src = documents[seq % len(documents)]
                objekt = Dokumentobjekt(systemID=stable_uuid("do", seq), opprettetDato=T0, opprettetAv="bench",
                                        fil=Dokumentfil(sti=f"{seq // 1000:04d}/{seq}.pdf", kilde=src, puid="fmt/477"))
            else:
                objekt = Dokumentobjekt(systemID=stable_uuid("do", seq), opprettetDato=T0, opprettetAv="bench",
                                        format="pdf", formatDetaljer="fmt/477",
                                        referanseDokumentfil=f"DOKUMENT/{seq // 1000:04d}/{seq}.pdf",
                                        sjekksum="0" * 64, filstoerrelse=1024)
            regs.append(Journalpost(
                systemID=stable_uuid("jp", seq), opprettetDato=T0, opprettetAv="bench", arkivertDato=T0,
                arkivertAv="bench",
                dokumentbeskrivelse=[Dokumentbeskrivelse(
                    systemID=stable_uuid("db", seq), dokumenttype="Melding", tittel=f"Melding {seq}",
                    opprettetDato=T0, opprettetAv="bench", dokumentnummer=1, tilknyttetDato=T0,
                    tilknyttetAv="bench", dokumentobjekt=[objekt])],
                tittel=f"Kommentar {seq} på innlegg om brøyting i Ringebu sentrum",
                korrespondansepart=[Korrespondansepart(korrespondanseparttype="Avsender",
                                                       korrespondansepartNavn=f"Innbygger {seq}")],
                journalaar=2024, journalsekvensnummer=seq, journalpostnummer=seq,
                journalposttype="Inngående dokument", journaldato=date(2024, 5, 1),
            ))
        yield Saksmappe(
            systemID=stable_uuid("mappe", m), mappeID=f"2024/{m + 1}", tittel=f"Tråd {m}", opprettetDato=T0,
            opprettetAv="bench", avsluttetDato=T0, avsluttetAv="bench", registrering=regs, saksaar=2024,
            sakssekvensnummer=m + 1, saksdato=date(2024, 5, 1), administrativEnhet="Servicetorget",
            saksansvarlig="Postmottak",
        )


def headers():
    arkiv = Arkiv(systemID=stable_uuid("arkiv"), tittel="Bench", opprettetDato=T0, opprettetAv="bench",
                  avsluttetDato=T0, avsluttetAv="bench",
                  arkivskaper=[Arkivskaper(arkivskaperID="964949204", arkivskaperNavn="Ringebu kommune")])
    arkivdel = Arkivdel(systemID=stable_uuid("arkivdel"), tittel="Bench", opprettetDato=T0, opprettetAv="bench",
                        avsluttetDato=T0, avsluttetAv="bench")
    ks = Klassifikasjonssystem(systemID=stable_uuid("ks"), tittel="Emner", opprettetDato=T0, opprettetAv="bench")
    klasse = Klasse(systemID=stable_uuid("klasse"), klasseID="K1", tittel="Emne", opprettetDato=T0, opprettetAv="bench")
    return arkiv, arkivdel, ks, klasse


def count_elements(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"</")
    return n


def baseline(path: Path, elements: int) -> float:
    """Bare xmlfile loop: the same number of elements, 30 leaves per parent, short texts."""
    tag_parent = "{%s}registrering" % NS
    leaves = ["{%s}e%d" % (NS, i) for i in range(29)]
    start = time.perf_counter()
    with open(path, "wb") as fh, etree.xmlfile(fh, encoding="utf-8", buffered=True) as xf:
        with xf.element("{%s}arkiv" % NS, nsmap={None: NS}):
            written = 1
            while written < elements:
                with xf.element(tag_parent):
                    for tag in leaves:
                        with xf.element(tag):
                            xf.write("verdi 2024-05-01T12:00:00Z")
                written += 30
    return time.perf_counter() - start


def run_export(n: int, out: Path) -> dict:
    arkiv, arkivdel, ks, klasse = headers()
    # (a) writer alone (documents pre-filled), then the same stream without writing, then the baseline
    xml_path = out / "writer-only.xml"
    start = time.perf_counter()
    with ArkivstrukturWriter(xml_path) as w, w.arkiv(arkiv), w.arkivdel(arkivdel), w.klassifikasjonssystem(ks), \
            w.klasse(klasse):
        for mappe in mapper(n, None):
            w.mappe(mappe)
    writer_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in mapper(n, None):
        pass
    models_s = time.perf_counter() - start
    elements = count_elements(xml_path)
    base_s = baseline(out / "baseline.xml", elements)
    xml_path.unlink()
    (out / "baseline.xml").unlink()
    rss_after_xml = peak_rss_mb()

    # (b) full package with document files
    docs_dir = out / "premade"
    docs_dir.mkdir()
    documents = []
    for i in range(8):
        p = docs_dir / f"doc{i}.pdf"
        p.write_bytes(b"%PDF-1.7\n" + os.urandom(1000 + i * 100))
        documents.append(p)
    package = out / "pakke"
    uttrekk = Uttrekksinfo(arkivskapere=["Ringebu kommune"], systemnavn="ringebu-journal", arkivnavn="Bench",
                           periodeStart=date(2024, 1, 1), periodeSlutt=date(2024, 12, 31))
    start = time.perf_counter()
    with PackageBuilder(package, uttrekk) as pkg:
        with pkg.arkiv(arkiv), pkg.arkivdel(arkivdel), pkg.klassifikasjonssystem(ks), pkg.klasse(klasse):
            for mappe in mapper(n, documents):
                pkg.add_mappe(mappe)
        pkg.add_endring(Endring(referanseArkivenhet=stable_uuid("jp", 1), referanseMetadata="journalstatus",
                                endretDato=T0, endretAv="bench", tidligereVerdi=None, nyVerdi="Arkivert"))
    package_s = time.perf_counter() - start
    shutil.rmtree(docs_dir)
    return {
        "registreringer": n,
        "elements": elements,
        "writer_s": round(writer_s, 2),
        "models_s": round(models_s, 2),
        "baseline_s": round(base_s, 2),
        "ratio_including_models": round(base_s / writer_s, 3),
        "ratio_writer_only": round(base_s / max(writer_s - models_s, 1e-9), 3),
        "writer_elements_per_s": round(elements / writer_s),
        "baseline_elements_per_s": round(elements / base_s),
        "peak_rss_mb_xml_phase": round(rss_after_xml, 1),
        "package_s": round(package_s, 2),
        "package_registreringer_per_s": round(n / package_s),
        "arkivstruktur_mb": round((package / "arkivstruktur.xml").stat().st_size / 1e6, 1),
        "peak_rss_mb_export": round(peak_rss_mb(), 1),
    }


def run_validate(package: Path) -> dict:
    from noark.validate import validate_package

    size = (package / "arkivstruktur.xml").stat().st_size
    elements = count_elements(package / "arkivstruktur.xml")
    start = time.perf_counter()
    report = validate_package(package)
    seconds = time.perf_counter() - start
    return {
        "ok": report.ok,
        "findings": len(report.findings),
        "validate_s": round(seconds, 2),
        "validate_elements_per_s": round(elements / seconds),
        "validate_mb_per_s": round(size / 1e6 / seconds, 1),
        "peak_rss_mb_validate": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", type=Path, help="keep the packages in this folder")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--validate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_export(args.one, args.out)))
        return
    if args.validate:
        print(json.dumps(run_validate(args.validate)))
        return
    base = args.keep or Path(tempfile.mkdtemp(prefix="noark-bench-"))
    try:
        for n in args.sizes:
            out = base / f"n{n}"
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            export = json.loads(subprocess.run([sys.executable, __file__, "--one", str(n), "--out", str(out)],
                                               check=True, capture_output=True, text=True).stdout)
            check = json.loads(subprocess.run([sys.executable, __file__, "--validate", str(out / "pakke")],
                                              check=True, capture_output=True, text=True).stdout)
            result = {**export, **check}
            print(json.dumps(result, ensure_ascii=False))
            print(f"n={n}: (a) ratio {result['ratio_including_models']} incl. models, "
                  f"{result['ratio_writer_only']} writer only "
                  f"({result['writer_elements_per_s']:,} vs {result['baseline_elements_per_s']:,} elements/s); "
                  f"(b) export peak RSS {result['peak_rss_mb_export']} MB; "
                  f"(d) validation {result['validate_elements_per_s']:,} elements/s, "
                  f"{result['validate_mb_per_s']} MB/s, peak RSS {result['peak_rss_mb_validate']} MB, "
                  f"ok={result['ok']}", flush=True)
            if not args.keep:
                shutil.rmtree(out)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
