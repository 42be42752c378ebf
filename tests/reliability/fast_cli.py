"""The real `ringebu-journal` command line with the PDF/A renderer swapped for pipeline.fake_pdf.

    python tests/reliability/fast_cli.py --db URL … export noark5 --out DIR

Used by the fault-injection tests so that an export of thousands of records takes seconds; every
other step (database, XML writing, validation, publishing, audit) is the production code.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from pipeline import fake_pdf  # noqa: E402
from ringebu_journal.export import render  # noqa: E402

render.render_pdf = fake_pdf

from ringebu_journal.cli.main import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
