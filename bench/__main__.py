"""`python -m bench` (or `make bench`): every benchmark, each in its own subprocess, one table.

    python -m bench            # full sizes (several minutes on a 2-core machine)
    python -m bench --quick    # small sizes, about a minute
    python -m bench --only import,judge --markdown
    python -m bench web        # the web workspace: pages on 100,000 messages, 8 moderators over HTTP (bench/web.py)

Runs bench/import.py, bench/judge.py (+ bench/judge_floor.py), bench/judge_store.py (the judge
command end to end, one thread against many), bench/export.py (export and
validation), bench/render.py and bench/audit_verify.py, reads what each prints (JSON where the
script prints JSON, its text table otherwise) and prints one table: figure, value, target, and
the ratio against a floor measured in the same run on the same data:

* import: a bare ``json.loads`` + ``sqlite3.executemany`` loop over the same dump (bench/import.py);
* judge: one compiled regex search per message over the same mix (bench/judge_floor.py);
* judge command end to end: the same floor, and the judge alone on the same messages and thread
  context (bench/judge_store.py), with the SHA-256 of what the command stored;
* judge outputs: no floor; the SHA-256 of every result over every corpus and 20,000 generated
  messages, one at a time and in batches (bench/judge_outputs.py): equal before and after a change
  meant only for speed;
* export: a bare ``lxml.etree.xmlfile`` loop writing as many elements (bench/export.py);
* validation: a bare ``lxml.etree.iterparse`` pass over the same arkivstruktur.xml (here);
* rendering: one bare Typst compile per document of the same text as one paragraph, same fonts,
  PDF/A-2b, in-process, nothing written (bench/render.py);
* audit verify: a bare sqlite3 loop checking the chain over the same rows' stored record bytes
  (bench/audit_verify.py).

Ratios are ours/floor as rates (1.0 = as fast as the floor; the import and export targets are
stated by their issues). The machine (nproc, RAM, CPU model, Python) and the date are printed
with the table; ``--markdown`` prints the table as Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FULL = {"import": "100000,1000000", "judge": 100_000, "judge_store": 15_000, "judge_outputs": None,
        "export": [10_000, 100_000], "render": 400, "audit": 1_000_000, "search": 100_000}
QUICK = {"import": "20000", "judge": 20_000, "judge_store": 3_000, "judge_outputs": None, "export": [2_000],
         "render": 60, "audit": 50_000, "search": 20_000}


def run(args: list[str], timeout: float = 3600) -> str:
    p = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    return p.stdout


def json_lines(out: str) -> list[dict]:
    rows = []
    for ln in out.splitlines():
        ln = ln.strip()
        if ln.startswith("{"):
            rows.append(json.loads(ln))
    return rows


def parse_right_aligned(out: str, first_header: str) -> list[dict[str, str]]:
    """A text table with right-aligned columns: each value ends where its header ends."""
    lines = out.splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.strip().startswith(first_header))
    header = lines[idx]
    rows = []
    for ln in lines[idx + 1:]:
        toks = list(re.finditer(r"\S+", ln))
        if not toks or not re.match(r"[\d,.]+$", toks[0].group()):
            break
        row, prev = {}, 0
        for t in toks:
            row[header[prev:t.end()].strip()] = t.group()
            prev = t.end()
        rows.append(row)
    return rows


def num(s: str) -> float:
    return float(s.replace(",", ""))


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, figure: str, value: str, target: str = "—", ratio: str = "—") -> None:
        self.rows.append((figure, value, target, ratio))

    def text(self) -> str:
        head = ("figure", "value", "target", "ratio to floor")
        w = [max(len(r[i]) for r in self.rows + [head]) for i in range(4)]
        out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(head)), "  ".join("-" * x for x in w)]
        out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in self.rows]
        return "\n".join(out)

    def markdown(self) -> str:
        out = ["| figure | value | target | ratio to floor |", "|---|---|---|---|"]
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(out)


def machine() -> str:
    model = "unknown CPU"
    try:
        for ln in open("/proc/cpuinfo", encoding="utf-8"):
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for ln in open("/proc/meminfo", encoding="utf-8"):
            if ln.startswith("MemTotal"):
                ram = f"{int(ln.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs (nproc), {ram} RAM, {model}, Python {platform.python_version()}, "
            f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, load average {os.getloadavg()[0]:.1f} at start")


def bench_import(t: Table, sizes: str) -> None:
    out = run(["bench/import.py", "--sizes", sizes])
    for r in parse_right_aligned(out, "comments"):
        n = r["comments"]
        rate = num(r["msgs/s"])
        t.add(f"import facebook-dump, {n} comments: messages/s", f"{rate:,.0f}", "≥ 30,000 at 10^6 (idle machine)",
              f"{num(r['ours/floor']):.2f} (floor {num(r['floor msgs/s']):,.0f}/s)")
        t.add(f"import facebook-dump, {n} comments: messages per CPU-second", f"{num(r['msgs/cpu-s']):,.0f}",
              "≥ 0.33 of floor (CPU time)", f"{num(r['cpu ratio']):.2f} (floor {num(r['floor/cpu-s']):,.0f}/CPU-s)")
        t.add(f"import, {n} comments: peak RSS", f"{num(r['peak RSS MB']):.0f} MB", "< 300 MB, flat")


def bench_judge(t: Table, messages: int) -> None:
    out = run(["bench/judge.py", "--messages", str(messages)])
    m = re.search(r"([\d,]+) messages/s on one core", out)
    rate = num(m.group(1)) if m else float("nan")
    floor = json.loads(run(["bench/judge_floor.py", "--messages", str(messages)]).strip().splitlines()[-1])
    f = floor["floor_messages_per_cpu_s"]
    t.add(f"judge, {messages:,} messages: messages/s on one core (CPU time)", f"{rate:,.0f}", "≥ 5,000 (with the model)",
          f"{rate / f:.3f} (floor {f:,}/s: one regex search)")


def bench_judge_store(t: Table, messages: int) -> None:
    rows = json_lines(run(["bench/judge_store.py", "--messages", str(messages), "--threads", str(max(1, messages // 100))]))
    spread, one, ratio = rows[0], rows[1], rows[2]
    # the floor: one compiled regex search per message of the same generated mix
    floor = json.loads(run(["bench/judge_floor.py", "--messages", str(messages)]).strip().splitlines()[-1])
    f = floor["floor_messages_per_cpu_s"]
    t.add(f"judge command end to end (SQLite), {spread['messages']:,} messages in {spread['threads']} threads: "
          "messages/s (CPU time)", f"{spread['per_s_cpu']:,}", "≥ 5,000",
          f"{spread['per_s_cpu'] / spread['judge_alone_per_s_cpu']:.2f} of the judge alone "
          f"({spread['judge_alone_per_s_cpu']:,}/s; judging {spread['judging_share']:.0%} of the CPU time); "
          f"{spread['per_s_cpu'] / f:.4f} of the floor ({f:,}/s: one regex search)")
    t.add(f"judge command end to end, the same in one thread: messages/s", f"{one['per_s_cpu']:,}", "linear",
          f"{ratio['ratio']:.2f} of the spread threads' rate per message (target ≥ 0.5)")
    t.add("judge command: what it stored (SHA-256 without the run's times)",
          f"{spread['stored_sha256'][:16]} / {one['stored_sha256'][:16]}", "unchanged by a speed change", "—")


def bench_judge_outputs(t: Table, _size: object) -> None:
    r = json.loads(run(["-m", "bench.judge_outputs", "--fingerprint"]).strip().splitlines()[-1])
    t.add(f"judge outputs, {r['results']:,} results (every corpus, 20,000 generated): SHA-256",
          r["sha256"][:16], "unchanged by a speed change",
          "one at a time = in batches" if r["batch_equals_single"] else "one at a time ≠ in batches (BROKEN)")
    if not r["batch_equals_single"]:
        raise RuntimeError("judge_many and judge gave different results")


VALIDATE_FLOOR = r'''
import json, sys, time
from lxml import etree
t = time.perf_counter(); n = 0
for _ev, el in etree.iterparse(sys.argv[1], events=("end",), resolve_entities=False, no_network=True, huge_tree=True):
    n += 1
    el.clear(keep_tail=False)
s = time.perf_counter() - t
print(json.dumps({"elements": n, "seconds": s, "elements_per_s": n / s}))
'''


def bench_export(t: Table, sizes: list[int]) -> None:
    for n in sizes:
        keep = Path(tempfile.mkdtemp(prefix="rj-bench-export-"))
        try:
            out = run(["bench/export.py", "--sizes", str(n), "--keep", str(keep)])
            r = json_lines(out)[0]
            t.add(f"export (noark writer), {n:,} registreringer: elements/s", f"{r['writer_elements_per_s']:,}",
                  "ratio ≥ 0.33", f"{r['ratio_including_models']:.2f} incl. models, {r['ratio_writer_only']:.2f} writer "
                  f"only (floor xmlfile {r['baseline_elements_per_s']:,}/s)")
            t.add(f"export, {n:,} registreringer: full package", f"{r['package_registreringer_per_s']:,} registreringer/s")
            t.add(f"export, {n:,}: peak RSS", f"{r['peak_rss_mb_export']:.0f} MB", "< 300 MB, flat")
            xml = keep / f"n{n}" / "pakke" / "arkivstruktur.xml"
            floor = json.loads(run(["-c", VALIDATE_FLOOR, str(xml)]).strip())
            t.add(f"validate (XSD + Arkade), {n:,}: elements/s", f"{r['validate_elements_per_s']:,} "
                  f"({r['validate_mb_per_s']} MB/s, ok={r['ok']})", "valid",
                  f"{r['validate_elements_per_s'] / floor['elements_per_s']:.2f} (floor iterparse "
                  f"{floor['elements_per_s']:,.0f}/s)")
            t.add(f"validate, {n:,}: peak RSS", f"{r['peak_rss_mb_validate']:.0f} MB", "flat")
        finally:
            shutil.rmtree(keep, ignore_errors=True)


def bench_render(t: Table, n: int) -> None:
    r = json_lines(run(["bench/render.py", str(n)]))[-1]
    floor = f"{r['ratio_to_floor']:.2f} (floor bare Typst compile {r['floor_docs_per_cpu_s']:,.0f}/CPU-s)"
    t.add(f"render PDF/A-2b (Typst), {r['documents']:,} threads, 1 process: documents/s (clock; per CPU-s)",
          f"{r['docs_per_s_1']:,.1f}; {r['docs_per_cpu_s_1']:,.1f}", "≥ 30", floor)
    t.add(f"render PDF/A-2b (Typst), {r['documents']:,} threads, 2 processes: documents/s (clock; per 2 CPU-s)",
          f"{r['docs_per_s_2']:,.1f}; {r['docs_per_cpu_s_2']:,.1f}", "≥ 50")
    t.add("render, second pass from cache", f"{r['cached']}/{r['documents']} in {r['cached_seconds']} s", "all")


def bench_audit(t: Table, events: int) -> None:
    r = json_lines(run(["bench/audit_verify.py", "--events", str(events)]))[-1]
    t.add(f"audit verify, {r['events']:,} events: events/s", f"{r['verify_events_per_s']:,} ({r['verify_seconds']} s; "
          f"{r['verify_cpu_seconds']} s CPU)", "≤ 5 s per 1,000,000",
          f"{r['ratio_to_floor']:.2f} (floor: chain over the stored bytes, {r['floor_verify_events_per_s']:,}/s, "
          f"{r['floor_seconds']} s; {r['floor_cpu_seconds']} s CPU)")
    t.add("audit verify: re-encoding recipe loop, same rows", f"{r['recipe_events_per_s']:,} ({r['recipe_seconds']} s)")
    t.add(f"audit append, {r['events']:,} events (batches of 5,000): events/s", f"{r['append_events_per_s']:,}")
    t.add("audit verify: peak RSS (growth while verifying)", f"{r['peak_rss_mb']:.0f} MB (+{r['rss_growth_mb']:.0f} MB)",
          "flat")


def bench_search(t: Table, messages: int) -> None:
    rows = json_lines(run(["bench/search.py", "--messages", str(messages), "--rounds", "20"]))
    build, every = rows[0]["build"], rows[-1]
    slowest = max(rows[1:-1], key=lambda r: r["p95_ms"])
    t.add(f"search, {messages:,} messages (SQLite), {every['calls']} calls of {len(rows) - 2} kinds: p95 latency",
          f"{every['p95_ms']:.0f} ms (CPU {every['cpu_p95_ms']:.0f} ms; load {every['load_average']})", "≤ 200 ms")
    t.add(f"search: slowest kind ({slowest['query']}): p95", f"{slowest['p95_ms']:.0f} ms (CPU {slowest['cpu_p95_ms']:.0f} ms)")
    t.add(f"search: first search indexes {build['indexed_rows']:,} imported rows", f"{build['index_seconds']} s")


STEPS = {"import": bench_import, "judge": bench_judge, "judge_store": bench_judge_store,
         "judge_outputs": bench_judge_outputs, "export": bench_export,
         "render": bench_render, "audit": bench_audit, "search": bench_search}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["web"]:
        # the web workspace's speed: its own script, with its own options (python -m bench web --help)
        return subprocess.run([sys.executable, str(HERE / "web.py"), *argv[1:]], cwd=ROOT).returncode
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--only", help="comma-separated: " + ",".join(STEPS))
    ap.add_argument("--import-sizes", help="comment counts for the import, e.g. 100000,1000000")
    ap.add_argument("--judge-messages", type=int)
    ap.add_argument("--export-sizes", help="registreringer, e.g. 10000,100000")
    ap.add_argument("--render-documents", type=int)
    ap.add_argument("--audit-events", type=int)
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = ap.parse_args(argv)
    size = dict(QUICK if a.quick else FULL)
    if a.import_sizes:
        size["import"] = a.import_sizes
    if a.judge_messages:
        size["judge"] = a.judge_messages
    if a.export_sizes:
        size["export"] = [int(x) for x in a.export_sizes.split(",")]
    if a.render_documents:
        size["render"] = a.render_documents
    if a.audit_events:
        size["audit"] = a.audit_events
    steps = [s.strip() for s in a.only.split(",")] if a.only else list(STEPS)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    print(machine(), flush=True)
    t = Table()
    failed = []
    for s in steps:
        t0 = time.perf_counter()
        try:
            STEPS[s](t, size[s])
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(s)
            t.add(f"{s}: FAILED", str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__)
        print(f"  {s} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(t.markdown() if a.markdown else t.text())
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
