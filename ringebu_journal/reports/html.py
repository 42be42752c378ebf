"""The compliance report as one self-contained HTML file: inline CSS, inline SVG charts drawn
here, no scripts, no fonts, no images, nothing fetched from the network. Links to the
platform (permalinks) are ordinary anchors a reader may follow.

Numbers carry ``data-`` attributes (``data-key``, ``data-count``) so that a test — or a
reader with a script of their own — can read them back exactly.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from ..app import App
from ..errors import StepRenderer, UsageError, render_text
from ..files import write_atomic
from .compliance import FINDING_TYPES, OUTCOMES, SEVERITIES, ComplianceReport, build_report

SUMMARY_COLUMNS: list[tuple[str, str]] = [
    ("messages", "Messages"), ("citizen_messages", "From citizens"), ("journal", "Journal"),
    ("archive", "Archive"), ("exclude", "Exclude"), ("review", "Review"), ("not_judged", "Not judged"),
    ("journal_waiting", "Journal waiting for export"), ("needs_reply", "Needed a reply"),
    ("answered_in_time", "Answered in time"), ("answered_late", "Answered late"), ("unanswered", "Unanswered"),
    ("median_reply_hours", "Median reply (h)"),
]

OUTCOME_COLOURS = {"journal": "#1f5f99", "archive": "#5b9b4a", "exclude": "#a0a0a0", "review": "#d9822b"}

# Reply-time buckets in hours: (label, upper bound inclusive).
REPLY_BUCKETS: list[tuple[str, float]] = [
    ("≤ 1 h", 1), ("1–4 h", 4), ("4–12 h", 12), ("12–24 h", 24), ("24–48 h", 48), ("> 48 h", float("inf")),
]
NO_REPLY = "no reply"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem;color:#1b1b1b;max-width:78rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem;margin-top:1.5rem}.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d0d0d0;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{font-weight:600;color:#fff;border-radius:3px;padding:0 .35rem;font-size:.8rem}
.sev-high{background:#b3261e}.sev-medium{background:#c26a00}.sev-low{background:#5a6f8a}.sev-info{background:#6b6b6b}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:2rem}.none{color:#555;font-style:italic}
.quote{color:#555;font-size:.8rem;font-style:italic}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def reply_buckets(report: ComplianceReport) -> dict[str, int]:
    counts = {label: 0 for label, _ in REPLY_BUCKETS}
    counts[NO_REPLY] = 0
    for rep in report.accounts:
        for h in rep.reply_hours:
            for label, upper in REPLY_BUCKETS:
                if h <= upper:
                    counts[label] += 1
                    break
        counts[NO_REPLY] += rep.stats.get("unanswered", 0)
    return counts


def weekly_chart(weekly: dict[str, dict[str, int]]) -> str:
    if not weekly:
        return '<p class="none" id="chart-weekly-empty">No judged messages in the period.</p>'
    bar, gap, left, top, height = 26, 8, 40, 10, 160
    weeks = list(weekly)
    width = left + len(weeks) * (bar + gap) + 10
    peak = max(sum(v.values()) for v in weekly.values()) or 1
    parts = [f'<svg id="chart-weekly" role="img" width="{width}" '
             f'height="{top + height + 60}" viewBox="0 0 {width} {top + height + 60}">',
             f"<title>Messages per week and outcome</title>",
             f'<line x1="{left}" y1="{top + height}" x2="{width - 5}" y2="{top + height}" stroke="#888"/>',
             f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + height}" font-size="10" text-anchor="end">0</text>']
    for i, week in enumerate(weeks):
        x = left + i * (bar + gap) + gap // 2
        y = top + height
        for outcome in OUTCOMES:
            n = weekly[week].get(outcome, 0)
            h = round(n / peak * height, 2)
            y -= h
            parts.append(f'<rect class="bar" data-week="{escape(week)}" data-outcome="{outcome}" data-count="{n}" '
                         f'x="{x}" y="{round(y, 2)}" width="{bar}" height="{h}" fill="{OUTCOME_COLOURS[outcome]}">'
                         f"<title>{escape(week)}: {n} {outcome}</title></rect>")
        total = sum(weekly[week].values())
        parts.append(f'<text x="{x + bar / 2}" y="{round(y - 3, 2)}" font-size="10" text-anchor="middle">{total}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{top + height + 12}" font-size="9" text-anchor="end" '
                     f'transform="rotate(-45 {x + bar / 2} {top + height + 12})">{escape(week)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{OUTCOME_COLOURS[o]}"></i>{o}</span>' for o in OUTCOMES)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def reply_chart(counts: dict[str, int], limit_hours: float) -> str:
    if not any(counts.values()):
        return '<p class="none" id="chart-replies-empty">No messages that needed a reply in the period.</p>'
    bar, gap, left, top, height = 44, 10, 40, 10, 160
    labels = list(counts)
    width = left + len(labels) * (bar + gap) + 10
    peak = max(counts.values()) or 1
    parts = [f'<svg id="chart-replies" role="img" width="{width}" '
             f'height="{top + height + 30}" viewBox="0 0 {width} {top + height + 30}">',
             "<title>Time until the municipality's first reply</title>",
             f'<line x1="{left}" y1="{top + height}" x2="{width - 5}" y2="{top + height}" stroke="#888"/>',
             f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>']
    for i, label in enumerate(labels):
        n = counts[label]
        x = left + i * (bar + gap) + gap // 2
        h = round(n / peak * height, 2)
        late = label == NO_REPLY or _bucket_upper(label) > limit_hours
        colour = "#b3261e" if late else "#1f5f99"
        parts.append(f'<rect class="bar" data-bucket="{escape(label)}" data-count="{n}" x="{x}" '
                     f'y="{round(top + height - h, 2)}" width="{bar}" height="{h}" fill="{colour}">'
                     f"<title>{escape(label)}: {n}</title></rect>")
        parts.append(f'<text x="{x + bar / 2}" y="{round(top + height - h - 3, 2)}" font-size="10" '
                     f'text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{top + height + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bucket_upper(label: str) -> float:
    for lab, upper in REPLY_BUCKETS:
        if lab == label:
            # the open bucket starts at the previous bound
            return upper if upper != float("inf") else REPLY_BUCKETS[-2][1] + 1
    return float("inf")


def _message_links(refs: list[Any]) -> str:
    out = []
    for r in refs:
        label = escape(f"{r.platform}:{r.platform_message_id}")
        if r.permalink and r.permalink.startswith(("https://", "http://")):
            out.append(f'<a href="{escape(r.permalink, quote=True)}" title="{escape(r.excerpt, quote=True)}">{label}</a>')
        else:
            out.append(f'<span title="{escape(r.excerpt, quote=True)}">{label}</span>')
    return "<br>".join(out)


def render_html(report: ComplianceReport, *, title: str | None = None, renderer: StepRenderer | None = None) -> str:
    """The report as one HTML page; ``renderer`` shows the findings' hints the front end's way."""
    title = title or f"{report.organisation} — social media compliance"
    period = report.as_dict()["period"]
    span = f"{period['from'] or 'the beginning'} – {period['to'] or 'now'}"
    settings = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in report.settings.as_dict().items())
    h: list[str] = [
        "<!DOCTYPE html>", '<html lang="nb"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Messages written {escape(span)} (UTC) · deadlines measured as of '
        f'{report.as_of:%Y-%m-%d %H:%M} UTC · {escape(settings)}</p>',
        "<h2>Summary per account</h2>",
        '<table id="summary"><thead><tr><th>Account</th><th>Unit</th><th>Registry</th>',
    ]
    h += [f"<th>{escape(label)}</th>" for _, label in SUMMARY_COLUMNS]
    h += [f"<th>{s}</th>" for s in SEVERITIES]
    h.append("</tr></thead><tbody>")
    for rep in report.accounts:
        info = rep.info
        registry = ("not registered" if not info.get("registered")
                    else f"rådmann notified {info['notified_date']}" if info.get("notified_date")
                    else "rådmann not notified")
        if info.get("closed"):
            registry += f"; closed until {info.get('reopens_date')}"
        h.append(f'<tr data-account="{escape(rep.key, quote=True)}">'
                 f'<td data-key="account">{escape(rep.label)}</td><td>{escape(info.get("unit") or "")}</td>'
                 f"<td>{escape(registry)}</td>")
        for key, _ in SUMMARY_COLUMNS:
            h.append(f'<td class="n" data-key="{key}">{escape(_fmt(rep.stats.get(key)))}</td>')
        for s, n in rep.severity_counts().items():
            h.append(f'<td class="n" data-key="{s}">{n}</td>')
        h.append("</tr>")
    h.append("</tbody></table>")
    if not report.accounts:
        h.append('<p class="none">No accounts and no messages in the period.</p>')
    h.append("<h2>Charts</h2><div class=\"charts\"><figure><figcaption>Messages per week and outcome "
             "(effective decision)</figcaption>")
    h.append(weekly_chart(report.weekly))
    h.append("</figure><figure><figcaption>Time until the municipality's first reply "
             f"(limit {report.settings.reply_hours:g} h)</figcaption>")
    h.append(reply_chart(reply_buckets(report), report.settings.reply_hours))
    h.append("</figure></div>")
    h.append("<h2>Findings</h2>")
    for rep in report.accounts:
        h.append(f'<section class="account" data-account="{escape(rep.key, quote=True)}">'
                 f"<h3>{escape(rep.label)}</h3>")
        if not rep.findings:
            h.append('<p class="none">No findings: the duties checked were met.</p></section>')
            continue
        h.append('<table class="findings"><thead><tr><th>Severity</th><th>Finding</th><th>When (UTC)</th>'
                 "<th>Messages</th><th>What</th></tr></thead><tbody>")
        for f in rep.findings:
            h.append(f'<tr data-type="{f.type}" data-severity="{f.severity}">'
                     f'<td><span class="sev sev-{f.severity}">{f.severity}</span></td>'
                     f"<td>{escape(f.title)}</td><td>{escape(_fmt(f.at))}</td>"
                     f"<td>{_message_links(f.messages)}</td><td>{escape(render_text(f.summary, renderer))}</td></tr>")
        h.append("</tbody></table></section>")
    h.append("<h2>What is checked</h2><ul>")
    for t in FINDING_TYPES.values():
        h.append(f'<li><span class="sev sev-{t.severity}">{t.severity}</span> <b>{escape(t.title)}</b> '
                 f'<code>{t.name}</code> <span class="quote">«{escape(t.guideline)}»</span></li>')
    h.append("</ul>")
    h.append(f'<p class="meta">Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by ringebu-journal.</p>')
    h.append("</body></html>\n")
    return "".join(h)


def write_html_report(app: App, path: str | Path, **options: Any) -> Path:
    """Build the compliance report and write it as one self-contained HTML file.

    ``options`` are those of :func:`~ringebu_journal.reports.compliance.build_report`
    (``from_date``, ``to_date``, ``account``, ``settings``, ``as_of``).
    """
    app.require("report.read")
    report = build_report(app, **options)
    return save_html(report, path)


def save_html(report: ComplianceReport, path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder — give a file name for the report, e.g. {path / 'compliance.html'}")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent} does not exist — create the folder or choose another --out")
    try:
        write_atomic(path, render_html(report))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror}) — choose another --out") from None
    return path
