"""Floor for the judge benchmark: one compiled regex search per message over the same mix.

    python bench/judge_floor.py [--messages 100000] [--seed 7]

Uses bench/judge.py's generated mix (same seed, same messages) and a single compiled
alternation of a few case words, searched once per message: what the cheapest possible
"judge" costs in this Python on this core. Prints one JSON object (CPU-time rate).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _make_mix():
    spec = importlib.util.spec_from_file_location("bench_judge", HERE / "judge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.make_mix


CASE_WORDS = re.compile(r"\b(?:klag\w*|søk\w*|krev\w*|innsyn|erstatning|saksnr|bekymr\w*|\d{11})\b", re.IGNORECASE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    mix = _make_mix()(args.messages, args.seed)
    hits = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for text, _muni, _ctx in mix:
        if CASE_WORDS.search(text):
            hits += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"messages": len(mix), "hits": hits, "floor_messages_per_cpu_s": round(len(mix) / max(cpu, 1e-9)),
                      "floor_messages_per_s": round(len(mix) / max(wall, 1e-9))}))


if __name__ == "__main__":
    main()
