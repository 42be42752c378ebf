"""Rendering throughput of the archive copies (PDF/A-2b, Typst) in documents/s, with its floor.

    .venv/bin/python bench/render.py [N]

Builds N (default 400) distinct typical thread documents (a post and five comments, 120–360
characters each, a capture, Norwegian text) and renders them into a fresh cache on 2 worker
processes and on 1 (in-process), counting the building of each document's JSON too; then the
cache-hit rate of a second pass. The floor, measured in the same run on the same text: one bare
Typst compile per document of the same characters as one paragraph, with the same fonts and
PDF/A-2b, in-process on one core, nothing written. Prints one JSON line.

Rates are given by the clock and by CPU time (documents per CPU-second of each process, i.e. what
one idle core does; the two-process figure is documents / (CPU seconds of parent and workers / 2)).
On a machine shared with other work only the CPU-time figures are comparable between runs; the
ratio to the floor is taken on CPU time.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringebu_journal.export import render  # noqa: E402
from ringebu_journal.export.render import RenderJob, Shown, render_all, render_key, thread_document  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TEXT = ("Hei! Jeg lurer på hvorfor søknaden om skoleskyss ble avslått, veien er farlig om vinteren "
        "og det er ikke fortau. Kan noen i kommunen se på saken igjen? ")
CAPTURE = {"source": "graph-api v25.0", "locator": "https://graph.facebook.com/x?access_token=T",
           "retrieved_at": T0, "sha256": "cd" * 32}


def threads(n: int, tag: str) -> list[list[dict]]:
    out = []
    for i in range(n):
        ctx = []
        for j in range(6):
            ctx.append({"id": j, "platform": "facebook", "kind": "post" if j == 0 else "comment",
                        "platform_message_id": f"{tag}_{i}_{j}", "parent_platform_id": f"{tag}_{i}_0" if j else None,
                        "author_name": f"Innbygger {j}", "author_is_municipality": j == 0,
                        "created_at": T0 + timedelta(minutes=i * 10 + j), "text": TEXT * (1 + j % 3),
                        "status": "active", "version": 1, "raw_sha256": "ab" * 32, "imported_at": T0})
        out.append(ctx)
    return out


def jobs(batch: list[list[dict]]) -> list[RenderJob]:
    out = []
    for ctx in batch:
        data = thread_document(ctx[2], [Shown(c, c["text"], c["author_name"]) for c in ctx], capture=CAPTURE,
                               attachments=[])
        out.append(RenderJob(render_key(data), data, int(ctx[2]["created_at"].timestamp())))
    return out


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ours(n: int, workers: int) -> tuple[float, float, int, float]:
    """(documents/s by the clock, documents per CPU-second per process, cached on a second pass, its seconds)."""
    batch = threads(n, f"w{workers}")
    with tempfile.TemporaryDirectory() as d:
        t, c = time.perf_counter(), _cpu()
        _, stats = render_all(jobs(batch), Path(d), workers=workers)
        secs, cpu = time.perf_counter() - t, _cpu() - c
        t = time.perf_counter()
        _, again = render_all(jobs(batch), Path(d), workers=workers)
        return stats.rendered / secs, stats.rendered / cpu * workers, again.cached, time.perf_counter() - t


def floor(n: int) -> float:
    import typst

    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(render.FONT_DIR)])
    with tempfile.TemporaryDirectory() as d:
        main = Path(d) / "floor.typ"
        main.write_text('#set text(font: "Noto Sans")\n#sys.inputs.text\n', encoding="utf-8")
        compiler = typst.Compiler(str(main), root=d, font_paths=fonts, ignore_system_fonts=True)
        texts = ["\n".join(c["text"] for c in ctx) for ctx in threads(n, "floor")]
        t, c = time.perf_counter(), _cpu()
        for i, text in enumerate(texts):
            compiler.compile(format="pdf", sys_inputs={"text": f"{i} {text}"}, pdf_standards=render.PDF_STANDARD,
                             timestamp=1772438400)
        return n / (time.perf_counter() - t), n / (_cpu() - c)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    # two processes first: a process that has run Typst itself renders in-process afterwards
    rate2, cpu2, _, _ = ours(n, 2)
    rate1, cpu1, cached, cached_secs = ours(n, 1)
    floor_rate, floor_cpu = floor(n)
    print(json.dumps({"documents": n, "docs_per_s_1": round(rate1, 1), "docs_per_s_2": round(rate2, 1),
                      "docs_per_cpu_s_1": round(cpu1, 1), "docs_per_cpu_s_2": round(cpu2, 1),
                      "floor_docs_per_s": round(floor_rate, 1), "floor_docs_per_cpu_s": round(floor_cpu, 1),
                      "ratio_to_floor": round(cpu1 / floor_cpu, 2),
                      "cached": cached, "cached_seconds": round(cached_secs, 3), "cpus": os.cpu_count(),
                      "load_average": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
