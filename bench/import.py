"""Benchmark of `import facebook-dump` (a script, not a test).

    .venv/bin/python bench/import.py                 # 100,000 and 1,000,000 comments
    .venv/bin/python bench/import.py --sizes 100000  # quicker

For each size: generate a synthetic Graph API dump (one feed page per line, 100 comments
each, see ringebu_journal/importers/synthetic.py), create a fresh SQLite database, run the
real command in a subprocess and report messages/s (wall clock of the import process,
start-up included), messages per CPU-second (user + system time of that process, the figure
that compares between runs on a shared machine) and that process's peak RSS (``os.wait4``).
Then a floor: a bare ``json.loads`` + ``sqlite3.executemany`` loop over the same file in a
subprocess (a commit every TRANSACTION_ITEMS rows, as the import's transactions), and the ratios between the two,
by the clock and by CPU time. Targets: ≥ 0.33 of the floor by CPU time (the comparable figure on
a shared machine; the clock ratio is printed beside it), ≥ 30,000 messages/s at 1,000,000
comments on an idle machine, peak RSS < 300 MB and flat from 100,000 to 1,000,000.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ringebu_journal.importers.store import TRANSACTION_ITEMS  # noqa: E402
from ringebu_journal.importers.synthetic import generate_dump  # noqa: E402

FLOOR = r'''
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, pid TEXT, text TEXT, created TEXT, author TEXT, raw TEXT)")
db.execute("CREATE UNIQUE INDEX u ON m (pid)")
rows = []
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        body = json.loads(line)["body"]
        for p in body["data"]:
            rows.append((p["id"], p.get("message", ""), p["created_time"], p["from"]["id"], json.dumps(p["comments"]["data"][0])))
            for c in p["comments"]["data"]:
                rows.append((c["id"], c["message"], c["created_time"], c["from"]["id"], json.dumps(c, ensure_ascii=False)))
        if len(rows) >= int(sys.argv[3]):
            db.executemany("INSERT INTO m (pid, text, created, author, raw) VALUES (?,?,?,?,?)", rows); db.commit(); rows = []
db.executemany("INSERT INTO m (pid, text, created, author, raw) VALUES (?,?,?,?,?)", rows); db.commit()
'''


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS in MB, exit code, CPU seconds) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.read().decode("utf-8", "replace") if p.stderr else "")
    return wall, usage.ru_maxrss / 1024.0, p.returncode, usage.ru_utime + usage.ru_stime


def bench(size: int, tmp: Path) -> dict[str, float]:
    dump = tmp / f"dump-{size}.jsonl"
    t = time.perf_counter()
    generate_dump(dump, size)
    gen = time.perf_counter() - t
    messages = size + (size + 99) // 100            # comments + one post per line
    db = tmp / f"bench-{size}.db"
    env = dict(os.environ, RINGEBU_JOURNAL_ACTOR="bench")
    base = [sys.executable, "-m", "ringebu_journal.cli.main", "--db", str(db), "--data-dir", str(tmp / f"data-{size}"), "--quiet"]
    subprocess.run(base + ["init"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(base + ["users", "add", "bench-arkiv", "--role", "archivist"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    env["RINGEBU_JOURNAL_ACTOR"] = "bench-arkiv"
    wall, rss, code, cpu = run_measured(base + ["import", "facebook-dump", str(dump)], env)
    if code != 0:
        raise SystemExit(f"import of {size} failed with exit code {code}")
    fwall, frss, fcode, fcpu = run_measured([sys.executable, "-c", FLOOR, str(dump), str(tmp / f"floor-{size}.db"),
                                               str(TRANSACTION_ITEMS)], env)
    if fcode != 0:
        raise SystemExit("floor loop failed")
    return {"size": size, "messages": messages, "dump_mb": dump.stat().st_size / 1e6, "gen_s": gen, "wall_s": wall,
            "rate": messages / wall, "cpu_rate": messages / cpu, "rss_mb": rss, "floor_cpu_rate": messages / fcpu, "floor_s": fwall, "floor_rate": messages / fwall,
            "floor_rss_mb": frss, "ratio": (messages / wall) / (messages / fwall), "cpu_ratio": fcpu / cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated comment counts")
    ap.add_argument("--dir", help="work folder (default: a temporary folder, removed afterwards)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f} at start")
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        results = [bench(s, Path(d)) for s in sizes]
    print(f"{'comments':>10} {'dump MB':>8} {'import s':>9} {'msgs/s':>8} {'msgs/cpu-s':>10} {'peak RSS MB':>11} "
          f"{'floor s':>8} {'floor msgs/s':>12} {'floor/cpu-s':>11} {'floor RSS':>9} {'ours/floor':>10} {'cpu ratio':>9}")
    for r in results:
        print(f"{r['size']:>10,} {r['dump_mb']:>8.0f} {r['wall_s']:>9.1f} {r['rate']:>8,.0f} {r['cpu_rate']:>10,.0f} "
              f"{r['rss_mb']:>11.0f} {r['floor_s']:>8.1f} {r['floor_rate']:>12,.0f} {r['floor_cpu_rate']:>11,.0f} "
              f"{r['floor_rss_mb']:>9.0f} {r['ratio']:>10.2f} {r['cpu_ratio']:>9.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at end (other processes on the machine skew the figures)")
    ok_ratio = all(r["cpu_ratio"] >= 0.33 for r in results)
    big = [r for r in results if r["size"] >= 1_000_000]
    ok_rate = "not measured" if not big else "met" if all(r["rate"] >= 30000 for r in big) else "NOT met"
    ok_rss = all(r["rss_mb"] < 300 for r in results)
    flat = max(r["rss_mb"] for r in results) - min(r["rss_mb"] for r in results)
    cpu_ratios = ", ".join(f"{r['cpu_ratio']:.2f}" for r in results)
    print(f"targets: ratio to the floor by CPU time ≥ 0.33 {'met' if ok_ratio else 'NOT met'} ({cpu_ratios}); "
          f"≥ 30,000 msgs/s at 1,000,000 {ok_rate}; peak RSS < 300 MB {'met' if ok_rss else 'NOT met'} "
          f"(spread {flat:.0f} MB across sizes)")


if __name__ == "__main__":
    main()
