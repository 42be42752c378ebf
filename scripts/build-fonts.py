"""Build the archive fonts shipped in ``ringebu_journal/export/fonts/`` from PyPI font packages.

    mkdir -p /tmp/fontsrc && cd /tmp/fontsrc
    pip download --no-deps fontpkg-noto-sans==2.15 fontpkg-noto-sans-arabic==2.12 matplotlib==3.11.2
    for w in *.whl; do unzip -o -q "$w" -d x; done
    python scripts/build-fonts.py /tmp/fontsrc/x
    python scripts/build-fonts.py --coverage     # only coverage.txt, from the fonts in place

Run by hand when the fonts are to change; the built files and the licences are committed, so an
install needs neither this script nor fontTools. What it makes (all static instances, cut down to
the scripts citizens write in, layout tables kept so kerning and Arabic joining still work):

* ``NotoSans-Regular.ttf`` / ``NotoSans-Bold.ttf`` — Noto Sans at wght 400/700, wdth 100:
  Latin with every letter of Norwegian, the Sami languages, Polish and Lithuanian, Greek,
  Cyrillic, punctuation, currency and letterlike symbols (SIL Open Font License 1.1);
* ``NotoSansArabic-Regular.ttf`` — Noto Sans Arabic at wght 400: Arabic, Arabic Supplement and
  the presentation forms (SIL Open Font License 1.1);
* ``DejaVuSans-Symbols.ttf`` — DejaVu Sans cut down to arrows, mathematical operators, box
  drawing, geometric shapes, miscellaneous symbols, dingbats and the white square brackets ⟦ ⟧
  the archive copy names pictographs with (Bitstream Vera / DejaVu licence; the family name has
  neither «Bitstream» nor «Vera», as that licence asks of modified fonts).

The fonts are fixed: the same sources give the same bytes (head.modified from the source).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

OUT = Path(__file__).resolve().parents[1] / "ringebu_journal" / "export" / "fonts"

LATIN = [(0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x2AF), (0x2B0, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF),
         (0x400, 0x52F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF),
         (0x2100, 0x214F), (0x2150, 0x218F), (0xFB00, 0xFB06), (0xFFFD, 0xFFFD)]
ARABIC = [(0x20, 0x40), (0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF),
          (0x200C, 0x200F), (0x2010, 0x2027)]
SYMBOLS = [(0x2190, 0x21FF), (0x2200, 0x22FF), (0x2300, 0x23FF), (0x2460, 0x24FF), (0x2500, 0x257F),
           (0x2580, 0x259F), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2700, 0x27BF), (0x27C0, 0x27EF),
           (0x27F0, 0x27FF), (0x2900, 0x297F), (0x2B00, 0x2BFF)]


def _codepoints(ranges):
    return [c for a, b in ranges for c in range(a, b + 1)]


def _cut(font: TTFont, ranges, *, keep_layout: bool) -> TTFont:
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.hinting = False
    opts.layout_features = ["*"] if keep_layout else []
    if not keep_layout:
        opts.drop_tables += ["GSUB", "GPOS", "GDEF", "kern"]
    opts.drop_tables += ["FFTM", "MATH", "DSIG"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=_codepoints(ranges))
    sub.subset(font)
    return font


def _instance(path: Path, weight: int) -> TTFont:
    font = TTFont(str(path), recalcTimestamp=False)
    axes = {a.axisTag for a in font["fvar"].axes} if "fvar" in font else set()
    loc = {k: v for k, v in (("wght", weight), ("wdth", 100)) if k in axes}
    return instancer.instantiateVariableFont(font, loc, updateFontNames=True) if loc else font


def _save(font: TTFont, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT / name))
    print(f"{name}: {(OUT / name).stat().st_size:,} bytes")


def write_coverage() -> None:
    """``coverage.txt``: the code points the shipped fonts cover, as hex ranges; the renderer names
    every other character (PDF/A allows no missing glyph)."""
    points: set[int] = set()
    for f in sorted(OUT.glob("*.ttf")):
        points |= set(TTFont(str(f)).getBestCmap())
    ranges, start, prev = [], None, None
    for c in sorted(points):
        if start is None:
            start = prev = c
        elif c == prev + 1:
            prev = c
        else:
            ranges.append((start, prev))
            start = prev = c
    if start is not None:
        ranges.append((start, prev))
    (OUT / "coverage.txt").write_text("".join(f"{a:04X}-{b:04X}\n" for a, b in ranges), encoding="ascii")
    print(f"coverage.txt: {len(points):,} code points in {len(ranges)} ranges")


def main(src: Path) -> None:
    noto = src / "fontpkg_noto_sans" / "files" / "NotoSans[wdth,wght].ttf"
    arabic = src / "fontpkg_noto_sans_arabic" / "files" / "NotoSansArabic[wdth,wght].ttf"
    dejavu = src / "matplotlib" / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    for p in (noto, arabic, dejavu):
        if not p.is_file():
            sys.exit(f"{p} is missing — download and unpack the packages as the docstring shows")
    _save(_cut(_instance(noto, 400), LATIN, keep_layout=True), "NotoSans-Regular.ttf")
    _save(_cut(_instance(noto, 700), LATIN, keep_layout=True), "NotoSans-Bold.ttf")
    _save(_cut(_instance(arabic, 400), ARABIC, keep_layout=True), "NotoSansArabic-Regular.ttf")
    symbols = _cut(TTFont(str(dejavu), recalcTimestamp=False), SYMBOLS, keep_layout=False)
    _save(symbols, "DejaVuSans-Symbols.ttf")
    shutil.copyfile(src / "fontpkg_noto_sans" / "LICENSE", OUT / "LICENSE-NotoSans-OFL.txt")
    shutil.copyfile(src / "fontpkg_noto_sans_arabic" / "LICENSE", OUT / "LICENSE-NotoSansArabic-OFL.txt")
    shutil.copyfile(dejavu.parent / "LICENSE_DEJAVU", OUT / "LICENSE-DejaVu.txt")
    write_coverage()


if __name__ == "__main__":
    if sys.argv[1:] == ["--coverage"]:
        write_coverage()
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/build-fonts.py FOLDER-WITH-UNPACKED-WHEELS")
    main(Path(sys.argv[1]))
