"""The real `ringebu-journal` command line, made to stop at a counted step and wait for Ctrl-C.

    RINGEBU_JOURNAL_TEST_PAUSE_AT=N python tests/foundation/interrupt_cli.py --db URL … COMMAND …

Every step a command reports to its progress bar counts (an import's committed chunk, a judge's
committed batch, an export's rendered archive copy). After the Nth, the process prints
``paused at step N`` on standard error and waits there until a signal arrives, so a test can
send SIGINT at a known point instead of after a measured time. Nothing else is changed: the
database, the renderer, the export and the error handling are the production code.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ringebu_journal.cli import exporting, importing, judging  # noqa: E402
from ringebu_journal.cli.main import main  # noqa: E402

PAUSE_AT = int(os.environ["RINGEBU_JOURNAL_TEST_PAUSE_AT"])

# Ctrl-C as a terminal delivers it: a suite started in the background by a non-interactive shell
# (or under nohup) hands its children SIGINT ignored, and Python then keeps it ignored, so the
# harness would sleep through the test's SIGINT. The command itself is left as it is: a user who
# starts it with SIGINT ignored has asked for that.
signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def pausing_progress(description: str, total: int | None = None, *, quiet: bool = False
                     ) -> Iterator[Callable[[int], None]]:
    steps = {"n": 0}

    def advance(n: int = 1) -> None:
        steps["n"] += 1
        if steps["n"] == PAUSE_AT:
            print(f"paused at step {PAUSE_AT} ({description})", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)

    yield advance


for module in (importing, judging, exporting):
    module.progress = pausing_progress

if __name__ == "__main__":
    main(sys.argv[1:])
