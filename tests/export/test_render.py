"""The Typst renderer alone: scripts the shipped fonts cover, named pictographs, values that look
like markup, determinism and the cache by content."""

from __future__ import annotations

from datetime import datetime, timezone

import pypdf

from ringebu_journal.export.render import (
    RenderJob,
    Shown,
    cache_path,
    render_all,
    render_key,
    render_pdf,
    thread_document,
)

from pdfcheck import pdf_text, pdfa_problems, squeezed

T = datetime(2026, 3, 2, 23, 25, 7, tzinfo=timezone.utc)
WORDS = {
    "norsk": "Blåbærsyltetøy på Ærøy",
    "samisk": "Sámegiella: čáhci, đuoddar, ŋuolga, šiella, ŧuhtte, žiehka, ʒ ǯ ǥ ǩ",
    "polsk": "Zażółć gęślą jaźń",
    "litauisk": "Ąžuolas, ėjo, įėjimas, ūkis, ų",
    "kyrillisk": "Привіт, як справи? Ёлка",
    "symboler": "€ § ° ½ ² → ← ✓ ★ ♥ ☺ • … – — «»",
}
ARABIC = "مرحبا بالعالم"
MARKUP = '#set page(width: 1cm) *fet* _kursiv_ $x^2$ <lbl> @ref \\ ] ) } #import "/etc/passwd"'


def _message(text: str, pid: str = "p_1") -> dict:
    return {"id": 1, "platform": "facebook", "kind": "comment", "platform_message_id": pid,
            "parent_platform_id": None, "author_name": "Åse Ødegård", "author_is_municipality": False,
            "created_at": T, "text": text, "status": "active", "version": 1, "raw_sha256": "ab" * 32,
            "imported_at": T, "account_platform_id": "1122", "permalink": "https://facebook.com/p_1"}


def _render(tmp_path, text: str, pid: str = "p_1"):
    m = _message(text, pid)
    data = thread_document(m, [Shown(m, text, m["author_name"])], capture=None, attachments=[])
    pdf = tmp_path / f"{pid}.pdf"
    pdf.write_bytes(render_pdf(data, render_key(data), int(T.timestamp())))
    return data, pdf


def test_the_shipped_fonts_cover_the_scripts_citizens_write(tmp_path):
    text = "\n".join(f"{k}: {v}" for k, v in WORDS.items()) + f"\narabisk: {ARABIC}\nemoji: 👏🏽 🎉"
    data, pdf = _render(tmp_path, text)
    assert "⟦" not in data.split("emoji")[0]            # nothing but the pictographs had to be named
    out = squeezed(pdf_text(pdf))                     # pypdf may split a word where kerning moves a glyph
    for word in WORDS.values():
        for token in word.split():
            assert token in out, token
    assert "⟦CLAPPINGHANDSSIGN⟧" in out and "⟦PARTYPOPPER⟧" in out
    fonts = {str(f.get_object()["/BaseFont"]).split("+", 1)[-1]
             for page in pypdf.PdfReader(str(pdf)).pages for f in page["/Resources"]["/Font"].values()}
    assert {"NotoSans-Regular", "NotoSans-Bold", "NotoSansArabic-Regular", "DejaVuSans"} <= fonts
    assert pdfa_problems(pdf) == []


def test_values_are_text_never_markup(tmp_path):
    data, pdf = _render(tmp_path, MARKUP)
    out = pdf_text(pdf)
    for token in ("#set", "*fet*", "_kursiv_", "$x^2$", "<lbl>", "@ref", '"/etc/passwd"'):
        assert token in out, token
    assert pdfa_problems(pdf) == []


def test_unprintable_characters_are_replaced_or_named(tmp_path):
    data, pdf = _render(tmp_path, "kontroll \x07 surrogat \ud800 ukjent \U000103ff kinesisk 中 slutt")
    out = pdf_text(pdf)
    assert "⟦CJK UNIFIED IDEOGRAPH-4E2D⟧" in out and "\ufffd" in out and "slutt" in out
    assert pdfa_problems(pdf) == []


def test_rendering_is_deterministic_and_cached_by_content(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _render(tmp_path / "a", "Samme tekst", "p_2")[1]
    b = _render(tmp_path / "b", "Samme tekst", "p_2")[1]
    assert a.read_bytes() == b.read_bytes()
    m = _message("Hei")
    jobs = []
    for text in ("en", "to", "en"):
        data = thread_document(m, [Shown(m, text, "x")], capture=None, attachments=[], focus_text=text)
        jobs.append(RenderJob(render_key(data), data, int(T.timestamp())))
    paths, stats = render_all(jobs, tmp_path / "data", workers=1)
    assert (stats.documents, stats.rendered, stats.cached) == (3, 2, 0)      # the same content once
    assert set(paths) == {jobs[0].key, jobs[1].key} and jobs[0].key == jobs[2].key
    assert all(cache_path(tmp_path / "data", k).is_file() for k in paths)
    again, second = render_all(jobs, tmp_path / "data", workers=1)
    assert second.rendered == 0 and second.cached == 3
