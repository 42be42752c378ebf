"""The load test, short: 8 moderator processes and 2 importers on PostgreSQL, bounded by counts.

The full run (60 s, own cluster over TCP 127.0.0.1) is on demand: `python bench/load_pg.py`,
figures in docs/benchmarks.md. Here the same script runs against the test server and must prove
that nothing was lost (each moderator makes 25 attempts and each importer imports 2 files, however
busy the machine is: the run is bounded by counts, never by the clock): stored + conflicts == attempts for each moderator, the decisions table and
the decision.* audit events hold exactly the stored decisions, every imported message is stored,
and the audit chain verifies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_8_moderators_and_2_importers_lose_nothing():
    from pipeline import pg_base

    base = pg_base()
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "load_pg.py"), "--seconds", "0", "--url", base,
                        "--messages", "100", "--min-attempts", "25", "--min-files", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(p.stdout.strip().splitlines()[0])
    assert r["nothing_lost"] and r["attempts_add_up"] and r["decisions_match"] and r["imports_match"] and r["chain_ok"]
    assert r["attempts"] >= 8 * 25 and r["import_files"] >= 2 * 2
    assert r["stored"] > 0 and r["stored"] + r["conflicts"] == r["attempts"]
    assert r["imported_messages"] > 0 and r["flags_timed"] > 0
