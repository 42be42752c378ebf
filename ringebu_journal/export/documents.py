"""The documents of each registrering: the rendered thread, the attachments, the raw payload.

* Hoveddokument: the thread rendered as PDF/A-2b (``render.py``), PRONOM fmt/477.
* Vedlegg: each attachment whose bytes are stored and are JPEG or PNG, as they are (fmt/42–44,
  fmt/12–13, identified from the bytes, not from the declared media type). Anything else is not
  an accepted archive format here; it is listed in the export summary and noted as a merknad.
* Vedlegg «Originaldata»: the raw platform payload as UTF-8 text (x-fmt/111).

An attachment whose bytes were stored at import (it has a SHA-256) but are not in the data
folder is not a "bytes not stored" case: the export is refused (nothing is published) with a
line naming the folder, so a package never silently lacks a stored attachment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError
from .mapping import DocPlan, ExportPlan, RecordPlan, utc
from .render import PDF_PUID, TEXT_PUID, RenderJob, render_key, thread_html


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
            job = _documents_for(rec, plan, data_dir, missing)
            jobs.setdefault(job.key, job)
    if missing:
        mid, sha = missing[0]
        raise UsageError(
            f"{len(missing)} stored attachment(s) are not in the data folder {data_dir} (first: message {mid}, "
            f"SHA-256 {sha}) — run the export with the data folder the import used (--data-dir or "
            "RINGEBU_JOURNAL_DATA); nothing was published")
    return list(jobs.values())


def _documents_for(rec: RecordPlan, plan: ExportPlan, data_dir: Path, missing: list[tuple[int, str]]) -> RenderJob:
    m = rec.message
    context = plan.threads.get(m["thread_id"], [m]) if m["thread_id"] is not None else [m]
    atts = plan.attachments.get(m["id"], [])
    html = thread_html(m, context, capture=plan.captures.get(m["capture_id"]), attachments=atts,
                       hidden_ids=plan.excluded_ids - {m["id"]})
    key = render_key(html)
    created = utc(m["created_at"])
    folder = f"{created:%Y}/{created:%m}"
    docs = [DocPlan(role="hoveddokument", tittel=rec.tittel, dokumenttype="Melding i sosiale medier",
                    sti=f"{folder}/{rec.system_id}.pdf", puid=PDF_PUID, render_key=key)]
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
                        sti=f"{folder}/{rec.system_id}-originaldata.txt", puid=TEXT_PUID,
                        data=raw.encode("utf-8", "replace")))
    rec.documents = docs
    return RenderJob(key=key, html=html, epoch=int(created.timestamp()))
