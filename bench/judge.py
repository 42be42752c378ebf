"""Benchmark the content judge: messages per second on one core over a generated realistic mix.

    python bench/judge.py [--messages 100000] [--seed 7]

The mix follows what a municipality's page receives: many short comments (praise, chatter,
questions), a share of cases (applications, complaints, follow-ups), some long rambling
messages, links (own site, news, phishing), identity numbers, municipality posts and replies
with thread context.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringebu_journal.judge import ContextItem, Judge, load_policy  # noqa: E402

SHORT = [
    "😂😂", "Haha typisk", "Nydelig bilde! 😍", "Takk for flott arrangement i går!", "Ok", "@Kari se her",
    "Når er biblioteket åpent i påsken?", "Hvordan søker man om plass i kulturskolen?",
    "Kommer søppelbilen i morgen?", "Skandale at vegen ikke er brøytet", "Noen som skal til Lillehammer?",
    "Hva mener Sp om eiendomsskatten?", "Ordføreren må svare for dette.", "Selger brukt sykkel, 500 kr",
]
CASES = [
    "Jeg klager på vedtaket om skoleskyss for sønnen min.", "Eg søkjer om plass i barnehagen frå august.",
    "Vi krever innsyn i avtalen med brøyteentreprenøren.", "Jeg sier opp SFO-plassen fra 1. mars.",
    "Saksnr 2025/1422: har ikke fått svar på søknaden.", "Brøytebilen knuste postkassa, vi vil ha erstatning.",
    "Jeg er bekymret for barna til naboen, de er mye alene.", "Naboen bygger ulovlig garasje i strandsona.",
    "Mitt fødselsnummer er 24089010035, jeg venter på svar om bostøtte.",
]
LINKS = [
    "Se mer på https://www.ringebu.kommune.no/aktuelt", "Gratis gavekort! https://gavekort-norge.click/claim",
    "Sjekk denne https://bit.ly/3xYz", "Les saken https://www.gd.no/nyheter/ringebu",
    "Logg inn her https://bankid-sikker.top/login",
]
FILLER = ("Vi har bodd her i mange år og sett mye forandre seg, både på godt og vondt, og vi har alltid "
          "syntes at kommunen har gjort en grei jobb, men i det siste har det vært mye rart. ")


def make_mix(n: int, seed: int) -> list[tuple[str, bool, tuple[ContextItem, ...]]]:
    rnd = random.Random(seed)
    out = []
    parent = (ContextItem("Vil du at vi registrerer dette som en klage?", True),)
    for _ in range(n):
        r = rnd.random()
        if r < 0.45:
            out.append((rnd.choice(SHORT), False, ()))
        elif r < 0.70:
            out.append((rnd.choice(CASES), False, ()))
        elif r < 0.80:
            out.append((rnd.choice(SHORT + CASES) + " " + rnd.choice(LINKS), False, ()))
        elif r < 0.90:
            out.append((FILLER * rnd.randint(2, 6) + rnd.choice(CASES + SHORT), False, ()))
        elif r < 0.95:
            out.append(("Ja takk, gjør det.", False, parent))
        else:
            out.append(("Vannet er stengt i dag. Mer info: https://www.ringebu.kommune.no/vann", True, ()))
    return out


def reference_us() -> float:
    """CPU time of a fixed pure-Python loop (sum(range(1000))) in microseconds: on a shared or
    busy machine it shows how fast one core really was while the benchmark ran."""
    timer = timeit.Timer("sum(range(1000))", timer=time.process_time)
    return min(timer.repeat(repeat=5, number=2000)) / 2000 * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    judge = Judge(load_policy())
    mix = make_mix(args.messages, args.seed)
    for text, muni, ctx in mix[:2000]:   # warm up: the per-combination expression cache fills
        judge.judge(text, author_is_municipality=muni, context=ctx)
    ref_before = reference_us()
    chars = sum(len(t) for t, _, _ in mix)
    start, cpu_start = time.perf_counter(), time.process_time()
    for text, muni, ctx in mix:
        judge.judge(text, author_is_municipality=muni, context=ctx)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU time is what one core spent; wall time also counts waiting for a busy machine.
    print(f"{len(mix)} messages ({chars / len(mix):.0f} characters on average): "
          f"{len(mix) / cpu:,.0f} messages/s on one core (CPU time {cpu:.2f} s; "
          f"wall clock {elapsed:.2f} s = {len(mix) / elapsed:,.0f} messages/s)")
    ref = (ref_before + reference_us()) / 2
    print(f"reference loop sum(range(1000)): {ref:.1f} µs CPU on this core during the run "
          f"(about 8–10 µs on an idle current x86 core)")


if __name__ == "__main__":
    main()
