"""Streaming writer of endringslogg.xml (the XSD requires at least one endring)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from lxml import etree

from noark.errors import NoarkWriteError
from noark.models import Endring
from noark.namespaces import ENDRINGSLOGG, XSI
from noark.text import format_value

_N = "{%s}" % ENDRINGSLOGG
_FIELDS = ("referanseArkivenhet", "referanseMetadata", "endretDato", "endretAv", "tidligereVerdi", "nyVerdi")


class EndringsloggWriter:
    """``with EndringsloggWriter(path) as log: log.add(endring)``; closing with no endring raises."""

    def __init__(self, path: Path | str):
        self._path = Path(path)
        self._exit = contextlib.ExitStack()
        self.antall = 0

    def __enter__(self) -> "EndringsloggWriter":
        out = self._exit.enter_context(open(self._path, "wb"))
        self._xf = self._exit.enter_context(etree.xmlfile(out, encoding="utf-8"))
        self._xf.write_declaration()
        self._exit.enter_context(self._xf.element(_N + "endringslogg", nsmap={None: ENDRINGSLOGG, "xsi": XSI}))
        return self

    def add(self, endring: Endring) -> None:
        xf = self._xf
        xf.write("\n")
        with xf.element(_N + "endring"):
            for name in _FIELDS:
                text = format_value(getattr(endring, name))
                if not text.strip():
                    raise NoarkWriteError(f"endring for {endring.referanseArkivenhet}: {name} has no content")
                with xf.element(_N + name):
                    xf.write(text)
        self.antall += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.antall == 0:
                    raise NoarkWriteError("endringslogg.xml needs at least one endring (the XSD requires it)")
                self._xf.write("\n")
        finally:
            self._exit.__exit__(exc_type, exc, tb)


def write_endringslogg(path: Path | str, endringer) -> int:
    """Write all ``endringer`` (any iterable) to ``path``; return how many were written."""
    with EndringsloggWriter(path) as log:
        for endring in endringer:
            log.add(endring)
    return log.antall
