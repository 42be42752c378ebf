"""Reading archive copies back: text (pypdf) and the PDF/A-2b conformance points the export promises."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf

SHIPPED_FONTS = {"NotoSans-Regular", "NotoSans-Bold", "NotoSansArabic-Regular", "DejaVuSans"}


def pdf_text(path: Path) -> str:
    """The text of every page, as a reader copying it out would get it."""
    reader = pypdf.PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def squeezed(text: str) -> str:
    """``text`` without any whitespace or zero-width break: a number split over lines still matches."""
    return re.sub(r"[\s\u200b]+", "", text)


def pdfa_problems(path: Path) -> list[str]:
    """What keeps ``path`` from being the PDF/A-2b the export promises (empty when it is)."""
    problems = []
    reader = pypdf.PdfReader(str(path))
    root = reader.trailer["/Root"]
    if "/Metadata" not in root:
        return ["no XMP metadata stream"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    part = re.search(r"pdfaid:part(?:>|=\")(\d)", xmp)
    conf = re.search(r"pdfaid:conformance(?:>|=\")([A-Za-z])", xmp)
    if not part or part.group(1) != "2" or not conf or conf.group(1).upper() != "B":
        problems.append(f"XMP pdfaid is not part 2 conformance B: {part and part.group(1)}/{conf and conf.group(1)}")
    intents = root.get("/OutputIntents")
    if not intents:
        problems.append("no OutputIntent")
    else:
        intent = intents[0].get_object()
        if intent.get("/S") != "/GTS_PDFA1" or "/DestOutputProfile" not in intent:
            problems.append("OutputIntent is not GTS_PDFA1 with an ICC profile")
    for n, page in enumerate(reader.pages, start=1):
        fonts = page.get("/Resources", {}).get("/Font", {})
        for name, ref in fonts.items():
            font = ref.get_object()
            base = str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1]
            descendants = font.get("/DescendantFonts")
            desc = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            if not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                problems.append(f"page {n}: font {base} is not embedded")
            if base not in SHIPPED_FONTS:
                problems.append(f"page {n}: font {base} is not one of the shipped fonts")
    return problems
