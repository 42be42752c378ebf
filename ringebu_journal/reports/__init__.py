"""Reports on the guideline's duties (compliance) and on what was journalført (journal).

Library entry points for the CLI and the demo:

* :func:`compliance_summary` — a few lines per account;
* :func:`write_html_report` — the self-contained HTML report;
* :func:`build_report` / :func:`build_journal_report` — the data behind both.
"""

from .compliance import FINDING_TYPES, ComplianceReport, Finding, build_report, compliance_summary
from .html import render_html, write_html_report
from .journal import build_journal_report
from .settings import SETTINGS, ComplianceSettings

__all__ = [
    "FINDING_TYPES", "SETTINGS", "ComplianceReport", "ComplianceSettings", "Finding", "build_journal_report",
    "build_report", "compliance_summary", "render_html", "write_html_report",
]
