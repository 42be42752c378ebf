"""Rendering throughput of the archive copies (PDF/A-2b) in documents/s on 2 processes.

    .venv/bin/python bench/render.py [N]

Renders N (default 40) distinct thread documents into a fresh cache with 1 and with 2 worker
processes and prints documents/s for each, then the cache-hit rate of a second pass.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringebu_journal.export.render import RenderJob, render_all, render_key, thread_html  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TEXT = ("Hei! Jeg lurer på hvorfor søknaden om skoleskyss ble avslått, veien er farlig om vinteren "
        "og det er ikke fortau. Kan noen i kommunen se på saken igjen? ")


def jobs(n: int, tag: str) -> list[RenderJob]:
    out = []
    for i in range(n):
        ctx = []
        for j in range(6):
            ctx.append({"id": j, "platform": "facebook", "kind": "post" if j == 0 else "comment",
                        "platform_message_id": f"{tag}_{i}_{j}", "parent_platform_id": f"{tag}_{i}_0" if j else None,
                        "author_name": f"Innbygger {j}", "author_is_municipality": j == 0,
                        "created_at": T0 + timedelta(minutes=i * 10 + j), "text": TEXT * (1 + j % 3),
                        "status": "active", "version": 1, "raw_sha256": "ab" * 32, "imported_at": T0})
        html = thread_html(ctx[2], ctx, capture={"source": "graph-api v25.0", "locator": "https://graph.facebook.com/x?access_token=T",
                                                 "retrieved_at": T0, "sha256": "cd" * 32}, attachments=[], hidden_ids=set())
        out.append(RenderJob(render_key(html), html, int(ctx[2]["created_at"].timestamp())))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            batch = jobs(n, f"w{workers}")
            t = time.perf_counter()
            _, stats = render_all(batch, Path(d), workers=workers)
            secs = time.perf_counter() - t
            print(f"{workers} process(es): {stats.rendered} documents in {secs:.1f} s = {stats.rendered / secs:.2f} documents/s")
            t = time.perf_counter()
            _, again = render_all(batch, Path(d), workers=workers)
            print(f"  second pass: {again.cached}/{again.documents} from cache in {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
