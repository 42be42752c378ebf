"""The real public samples in ../shared/noark5/samples/."""

from pathlib import Path

import pytest

from noark.validate import validate_package

SAMPLES = Path("/work/shared/noark5/samples")
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not available")


def test_noark5_enkel():
    report = validate_package(SAMPLES / "noark5-enkel")
    assert not report.by_control("N5.03"), report.to_text()  # passes the XSD
    # Its known errors, plus N5.29: format «text» for simple.txt, which Arkade's
    # HasFormatMismatch (extension ≠ format) reports as well.
    assert report.controls() == {"N5.01", "N5.22", "N5.48", "N5.29"}, report.to_text()
    assert len(report.by_control("N5.48")) == 2
    assert "Journalført" in report.by_control("N5.22")[0].message
    assert report.by_control("N5.01")[0].file == "arkivuttrekk.xml"


def test_arkade_small_v31_fails_v50_patterns():
    report = validate_package(SAMPLES / "arkade-small-v3.1")
    assert any("pattern" in f.message for f in report.by_control("N5.03"))
    assert any("3.1" in note for note in report.notes)


def test_journal_and_endringslogg_sample_pass_xsd():
    report = validate_package(SAMPLES / "arkade-journal-endringslogg")
    assert not report.by_control("N5.03"), report.to_text()
    assert report.statistics["antall journalregistrering"] == 4
