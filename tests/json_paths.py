"""Walking a JSON tree, for the tests that mutate real responses one place at a time."""

from __future__ import annotations

from typing import Any, Iterator


def json_paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (container path, key or index) in a JSON tree, parents before their children."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix, k
            yield from json_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix, i
            yield from json_paths(v, prefix + (i,))
