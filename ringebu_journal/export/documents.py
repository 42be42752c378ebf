"""The documents of each registrering: the rendered thread, the attachments, the raw payload.

* Hoveddokument: the thread rendered as PDF/A-2b (``render.py``), PRONOM fmt/477. Its thread
  context shows only what may be shown with it (``masking.py``): other messages' screened parts
  masked as in the public journal, messages screened as a whole, excluded and undecided messages
  left out and counted. The message's own text is whole (variantformat «Arkivformat»); when the
  message is screened, the document carries skjerming with skjermingDokument, and a redacted
  variant (variantformat «Dokument hvor deler av innholdet er skjermet») lies beside the full one
  when the screened parts can be masked («Skjerming av deler av dokumentet»); when they cannot
  (screened as a whole) there is no redacted variant («Skjerming av hele dokumentet»).
* Vedlegg: each attachment whose bytes are stored and are JPEG or PNG, as they are (fmt/42–44,
  fmt/12–13, identified from the bytes, not from the declared media type). Anything else is not
  an accepted archive format here; it is listed in the export summary and noted as a merknad.
* Vedlegg «Originaldata»: the raw platform payload as UTF-8 JSON (``.json``, fmt/817); the PDF/A
  records a ``konvertering`` from it (``noark5.py``). Of a screened message it is screened as a
  whole (the payload is kept verbatim, so nothing can be masked in it).

Invariant: no PDF of a registrering without skjerming holds a screened text or an identity number.

An attachment whose bytes were stored at import (it has a SHA-256) but are not in the data
folder is not a "bytes not stored" case: the export is refused (nothing is published) with a
line naming the folder, so a package never silently lacks a stored attachment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError
from .masking import (
    SKJERMING_DELER,
    SKJERMING_HELE,
    Screening,
    context_view,
    mask_words,
    name_spans,
    screening_of,
    thread_words,
)
from .mapping import DocPlan, ExportPlan, RecordPlan, utc
from .render import PDF_PUID, RenderJob, Shown, render_key, thread_document

JSON_PUID = "fmt/817"      # JSON Data Interchange Format, accepted by Arkivverket from 2022-03-01


def identify_image(head: bytes) -> tuple[str, str] | None:
    """(extension, PRONOM id) for JPEG/PNG bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        jfif = head.find(b"JFIF\x00")
        if 0 <= jfif < 32 and len(head) >= jfif + 7:
            major, minor = head[jfif + 5], head[jfif + 6]
            if major == 1 and minor in (0, 1, 2):
                return "jpg", ("fmt/42", "fmt/43", "fmt/44")[minor]
        return "jpg", "fmt/43"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        # PNG 1.2 (fmt/13) added iTXt, sRGB, iCCP and sPLT; without them the file is PNG 1.1 (fmt/12).
        newer = any(tag in head for tag in (b"iTXt", b"sRGB", b"iCCP", b"sPLT"))
        return "png", "fmt/13" if newer else "fmt/12"
    return None


def attachment_file(data_dir: Path, att: dict[str, Any]) -> Path | None:
    """Where the importers stored an attachment's bytes (content-addressed by SHA-256)."""
    if att.get("stored_path"):
        p = Path(att["stored_path"])
        p = p if p.is_absolute() else Path(data_dir) / p
        if p.is_file():
            return p
    sha = att.get("sha256")
    if sha:
        p = Path(data_dir) / "attachments" / sha[:2] / sha
        if p.is_file():
            return p
    return None


def plan_documents(plan: ExportPlan, data_dir: Path) -> list[RenderJob]:
    """Attach the documents to every record of ``plan``; return the rendering jobs they need."""
    jobs: dict[str, RenderJob] = {}
    missing: list[tuple[int, str]] = []
    for mappe in plan.mapper:
        for rec in mappe.records:
            for job in _documents_for(rec, plan, data_dir, missing):
                jobs.setdefault(job.key, job)
    if missing:
        mid, sha = missing[0]
        raise UsageError(
            f"{len(missing)} stored attachment(s) are not in the data folder {data_dir} (first: message {mid}, "
            f"SHA-256 {sha}) — run the export with the data folder the import used (--data-dir or "
            "RINGEBU_JOURNAL_DATA); nothing was published")
    return list(jobs.values())


def screened_people(context: list[dict[str, Any]], decisions: dict[int, Any], but: int | None = None) -> list[str]:
    """The citizens whose names are screened (offl. § 13) somewhere in the thread."""
    return [c.get("author_name") or "" for c in context if c["id"] != but and c["id"] in decisions
            and not c.get("author_is_municipality") and screening_of(decisions[c["id"]]).masks_names]


def _thread_views(rec: RecordPlan, context: list[dict[str, Any]], plan: ExportPlan, also: list[str] = ()
                  ) -> tuple[list[Shown], dict[str, int], bool]:
    """The thread as ``rec``'s copy shows it: the shown messages, the left-out counts, whether masked."""
    m = rec.message
    decisions = plan.context_decisions
    # The people whose names are screened anywhere in the thread (offl. § 13): masked in every
    # screened text of the thread, since a reply names the person it answers.
    screened_names = screened_people(context, decisions, but=m["id"]) + list(also)
    words = thread_words(context, decisions)
    shown: list[Shown] = []
    left_out: dict[str, int] = {}
    masked = False
    for c in context:
        if c["id"] == m["id"]:
            shown.append(Shown(c, c.get("text") or "", c.get("author_name") or ""))
            continue
        d = decisions.get(c["id"])
        if d is None:
            left_out["undecided"] = left_out.get("undecided", 0) + 1
            continue
        view = context_view(c, d, screened_names, words)
        if not view.show:
            left_out[view.reason] = left_out.get(view.reason, 0) + 1
            continue
        masked = masked or view.masked
        shown.append(Shown(c, view.text, view.author))
    return shown, left_out, masked


def _own_screening(rec: RecordPlan) -> Screening:
    """The screening of the record's own text and name (a reply in a screened case masks names)."""
    own = screening_of(rec.decision)
    if own.screen or not rec.screened:
        return own
    return Screening(screen=True, hjemmel=rec.screening_hjemmel, spans=own.spans)


def has_redacted_variant(rec: RecordPlan) -> bool:
    """Whether ``rec``'s hoveddokument gets a redacted variant (the rule of :func:`_documents_for`)."""
    return rec.screened and (_own_screening(rec).partly_showable or not screening_of(rec.decision).screen)


def _documents_for(rec: RecordPlan, plan: ExportPlan, data_dir: Path, missing: list[tuple[int, str]]
                   ) -> list[RenderJob]:
    m = rec.message
    context = plan.threads.get(m["thread_id"], [m]) if m["thread_id"] is not None else [m]
    atts = plan.attachments.get(m["id"], [])
    capture = plan.captures.get(m["capture_id"])
    shown, left_out, masked = _thread_views(rec, context, plan)
    # an open document names no one screened under § 13 in the thread, not even in a file name
    case_words = [*name_spans(screened_people(context, plan.context_decisions)),
                  *thread_words(context, plan.context_decisions)]
    open_atts = [dict(a, filename=mask_words(a["filename"], case_words)) if a.get("filename") else a for a in atts]
    data = thread_document(m, shown, capture=capture, attachments=atts if rec.screened else open_atts,
                           left_out=left_out, masked=masked, organisation=plan.organisation.name)
    jobs = [RenderJob(key=render_key(data), data=data, epoch=int(utc(m["created_at"]).timestamp()))]
    key = jobs[0].key
    redacted_key = None
    skjerming_dokument = None
    own = _own_screening(rec)
    if rec.screened:
        # screened for its party's name only (a reply in a screened case): the names can be masked
        if has_redacted_variant(rec):
            author = m.get("author_name") or ""
            person = not m.get("author_is_municipality")
            names = ([author] if person else []) + screened_people(context, plan.context_decisions, but=m["id"])
            # the redacted variant does not name the message's own screened author anywhere either
            r_shown, r_left_out, _ = _thread_views(rec, context, plan, [author] if person and own.masks_names else [])
            redacted = thread_document(
                m, r_shown, capture=capture, attachments=open_atts, left_out=r_left_out, masked=True,
                focus_text=mask_words(own.open_text(m.get("text") or "", names if own.masks_names else ()),
                                      [*name_spans(screened_people(context, plan.context_decisions, but=m["id"])),
                                       *thread_words(context, plan.context_decisions)]),
                focus_author=(own.open_name(author) if person else author) or "Anonym / ukjent",
                variant_note=f"Skjermet variant: opplysninger unntatt offentlighet ({own.hjemmel}) er erstattet med ******.",
                organisation=plan.organisation.name,
            )
            redacted_key = render_key(redacted)
            jobs.append(RenderJob(key=redacted_key, data=redacted, epoch=jobs[0].epoch))
            skjerming_dokument = SKJERMING_DELER
        else:
            skjerming_dokument = SKJERMING_HELE
    created = utc(m["created_at"])
    folder = f"{created:%Y}/{created:%m}"
    docs = [DocPlan(role="hoveddokument", tittel=rec.tittel, dokumenttype="Melding i sosiale medier",
                    sti=f"{folder}/{rec.system_id}.pdf", puid=PDF_PUID, render_key=key,
                    skjerming_dokument=skjerming_dokument, redacted_render_key=redacted_key,
                    redacted_sti=f"{folder}/{rec.system_id}-skjermet.pdf" if redacted_key else None)]
    for a in atts:
        path = attachment_file(data_dir, a)
        if path is None and a.get("sha256"):
            missing.append((m["id"], a["sha256"]))
            continue
        if path is None:
            rec.unsupported.append({"message_id": m["id"], "sha256": a.get("sha256"), "media_type": a.get("media_type"),
                                    "reason": "bytes not stored" + (f" ({a['note']})" if a.get("note") else "")})
            continue
        with open(path, "rb") as fh:
            head = fh.read(4096)
        kind = identify_image(head)
        if kind is None:
            rec.unsupported.append({"message_id": m["id"], "sha256": a.get("sha256"), "media_type": a.get("media_type"),
                                    "reason": "not JPEG or PNG: not exported as an archive format"})
            continue
        ext, puid = kind
        sha = a.get("sha256") or path.name
        name = a.get("filename") or f"vedlegg.{ext}"
        docs.append(DocPlan(role="vedlegg", tittel=f"Vedlegg: {name}", dokumenttype="Bilde",
                            sti=f"vedlegg/{sha[:2]}/{sha}.{ext}", puid=puid, source=path))
    raw = m.get("raw") or ""
    docs.append(DocPlan(role="original", tittel="Originaldata", dokumenttype="Originaldata",
                        sti=f"{folder}/{rec.system_id}-originaldata.json", puid=JSON_PUID,
                        data=raw.encode("utf-8", "replace"),
                        skjerming_dokument=SKJERMING_HELE if rec.screened else None))
    rec.documents = docs
    return jobs
