"""Reports on the guideline's duties (compliance) and on what was journalført (journal).

Library entry points for the CLI and the demo:

* :func:`compliance_summary` — a few lines per account;
* :func:`write_html_report` — the self-contained HTML report;
* :func:`build_report` / :func:`build_journal_report` — the data behind both.
"""

from __future__ import annotations

import importlib
from typing import Any

# name → submodule; imported on first use (PEP 562), so that reading the settings (the command
# line builds its options from them at every start) does not import the judge and the reports
_NAMES = {"FINDING_TYPES": "compliance", "ComplianceReport": "compliance", "Finding": "compliance",
          "build_report": "compliance", "compliance_summary": "compliance", "render_html": "html",
          "write_html_report": "html", "build_journal_report": "journal", "SETTINGS": "settings",
          "ComplianceSettings": "settings"}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
