"""Domain modules imported when a command first uses them, not when the command line starts.

Every command of ``ringebu-journal`` is registered at start-up (``main.ROOMS``: `--help` and the
tests walk the whole tree), so a room's module is always imported; what it imports at its top is
paid by every command. The heavy parts of the domain (export and Noark, the judge, reports,
moderation, anchors) are therefore reached through :class:`LazyModule`: ``import facebook-dump``
does not import the export code, and ``export noark5`` imports it on its first attribute. Only
what a decorator needs while the tree is built (option choices, defaults) is imported eagerly.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it on the first attribute read."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}{' (imported)' if self._module is not None else ''}>"


def lazy(name: str) -> LazyModule:
    """The module ``name``, imported when first used."""
    return LazyModule(name)
