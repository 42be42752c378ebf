"""Helpers that break a good package in exactly one way (and keep arkivuttrekk.xml consistent)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lxml import etree

A = {"a": "http://www.arkivverket.no/standarder/addml"}


def edit(folder: Path, name: str, old: str, new: str, count: int = 1, resum: bool = True) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    if resum:
        refresh_checksums(folder)


def refresh_checksums(folder: Path) -> None:
    """Recompute every checksum in arkivuttrekk.xml, as an honest producer would."""
    path = folder / "arkivuttrekk.xml"
    tree = etree.parse(str(path))
    for file_prop in tree.iterfind(".//a:property[@name='file']", A):
        name = file_prop.find("a:properties/a:property[@name='name']/a:value", A).text
        value = file_prop.find("a:properties/a:property[@name='checksum']/a:properties/a:property[@name='value']/a:value", A)
        if value is not None and (folder / name).exists():
            value.text = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    tree.write(str(path), xml_declaration=True, encoding="utf-8")


def set_addml(folder: Path, prop: str, value: str, *, occurrence: str | None = None) -> None:
    path = folder / "arkivuttrekk.xml"
    tree = etree.parse(str(path))
    if occurrence:
        for occ in tree.iterfind(".//a:property[@name='numberOfOccurrences']", A):
            if occ.find("a:value", A).text == occurrence:
                occ.find("a:properties/a:property[@name='value']/a:value", A).text = value
                break
        else:
            raise AssertionError(occurrence)
    else:
        tree.find(f".//a:property[@name='{prop}']/a:value", A).text = value
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
