"""Fixtures of the reliability tests: the helpers in this folder are importable by name."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "importers"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
