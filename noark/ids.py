"""Stable systemIDs: the same platform ids always give the same UUID, so a re-export is identical."""

from __future__ import annotations

import uuid

# Fixed root for every namespace this project derives; never change it, or all ids change.
_ROOT = uuid.UUID("8b0f3c52-6c1e-5d0e-9a39-6e6f61726b35")


def stable_uuid(namespace: str, *parts: object) -> str:
    """UUID5 (as the lower-case string Noark's systemID pattern accepts) of ``namespace`` and ``parts``.

    ``stable_uuid("journalpost", "facebook", "123_456")`` is the same on every run and machine.
    Parts are joined with a separator that cannot occur in ``str(part)`` ambiguously (their
    lengths are included), so ``("a", "bc")`` and ``("ab", "c")`` differ.
    """
    if not namespace:
        raise ValueError("stable_uuid needs a non-empty namespace")
    ns = uuid.uuid5(_ROOT, namespace)
    key = "\x1f".join(f"{len(s)}:{s}" for s in (str(p) for p in parts))
    return str(uuid.uuid5(ns, key))
