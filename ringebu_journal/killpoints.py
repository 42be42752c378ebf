"""Named kill points, so crash tests can kill a real process at an exact, counted step.

``RINGEBU_JOURNAL_KILL_AT=step:N[,step:N…]`` makes the process send itself SIGKILL the N-th
time it reaches :func:`reached` with that step name (N counts from 1). Nothing is flushed,
closed or rolled back first: the effect is that of ``kill -9`` or a power cut at that line.

Invariants: without the variable, :func:`reached` does nothing but one dictionary lookup;
the variable is read once, when the first step is reached; an unparsable variable is
ignored rather than killing the process at a step nobody named. The steps and what they
mean are listed in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal

ENV = "RINGEBU_JOURNAL_KILL_AT"

_targets: dict[str, int] | None = None
_counts: dict[str, int] = {}


def _parse(value: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in value.split(","):
        name, _, n = part.strip().rpartition(":")
        if name and n.isdigit() and int(n) > 0:
            out[name] = int(n)
    return out


def reached(step: str) -> None:
    """Count one arrival at ``step``; SIGKILL this process if it is the configured arrival."""
    global _targets
    if _targets is None:
        _targets = _parse(os.environ.get(ENV, ""))
    if not _targets or step not in _targets:
        return
    n = _counts[step] = _counts.get(step, 0) + 1
    if n == _targets[step]:
        os.kill(os.getpid(), signal.SIGKILL)
