"""Named kill points, so crash tests can kill a real process at an exact, counted step.

``RINGEBU_JOURNAL_KILL_AT=step:N[,step:N…]`` makes the process send itself SIGKILL the N-th
time it reaches :func:`reached` with that step name (N counts from 1). Nothing is flushed,
closed or rolled back first: the effect is that of ``kill -9`` or a power cut at that line.

``RINGEBU_JOURNAL_PAUSE_AT=step:N:FILE`` makes the process, at the N-th arrival at ``step``,
create FILE and wait until FILE is gone (the outage tests cut the database while it waits, then
delete FILE: the process meets the outage exactly there, never at a measured time).

Invariants: without the variables, :func:`reached` does nothing but one dictionary lookup;
the variable is read once, when the first step is reached; an unparsable variable is
ignored rather than killing the process at a step nobody named. The steps and what they
mean are listed in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal

ENV = "RINGEBU_JOURNAL_KILL_AT"
PAUSE_ENV = "RINGEBU_JOURNAL_PAUSE_AT"

_targets: dict[str, int] | None = None
_pauses: dict[str, tuple[int, str]] | None = None
_counts: dict[str, int] = {}


def _parse(value: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in value.split(","):
        name, _, n = part.strip().rpartition(":")
        if name and n.isdigit() and int(n) > 0:
            out[name] = int(n)
    return out


def _parse_pauses(value: str) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for part in value.split(","):
        bits = part.strip().split(":", 2)
        if len(bits) == 3 and bits[0] and bits[1].isdigit() and int(bits[1]) > 0 and bits[2]:
            out[bits[0]] = (int(bits[1]), bits[2])
    return out


def reached(step: str) -> None:
    """Count one arrival at ``step``; SIGKILL this process (or pause it) if it is the configured arrival."""
    global _targets, _pauses
    if _targets is None:
        _targets = _parse(os.environ.get(ENV, ""))
        _pauses = _parse_pauses(os.environ.get(PAUSE_ENV, ""))
    if step not in _targets and not (_pauses and step in _pauses):
        return
    n = _counts[step] = _counts.get(step, 0) + 1
    if step in _targets and n == _targets[step]:
        os.kill(os.getpid(), signal.SIGKILL)
    if _pauses and step in _pauses and n == _pauses[step][0]:
        _pause(_pauses[step][1])


def _pause(marker: str) -> None:
    import time

    with open(marker, "w", encoding="utf-8") as fh:
        fh.write(str(os.getpid()))
    while os.path.exists(marker):
        time.sleep(0.01)
