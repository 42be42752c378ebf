"""The official Noark 5 v5.0 schemas: copying them into a package and loading them offline."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from lxml import etree

from noark.namespaces import PACKAGE_SCHEMAS
from schemas import NOARK5_DIR

_lock = threading.Lock()
_compiled: dict[str, etree.XMLSchema] = {}


def official_schema_path(name: str) -> Path:
    return NOARK5_DIR / name


def copy_schemas(target_dir: Path | str, names: tuple[str, ...] = PACKAGE_SCHEMAS) -> list[Path]:
    """Copy the official XSDs byte for byte into ``target_dir``; return the written paths."""
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        dest = target / name
        shutil.copyfile(official_schema_path(name), dest)
        written.append(dest)
    return written


class _OfflineResolver(etree.Resolver):
    """Resolve schema imports only from the shipped schema folder; refuse everything else."""

    def resolve(self, system_url, public_id, context):
        name = (system_url or "").rsplit("/", 1)[-1]
        if name == "xlink.xsd" or (system_url or "").endswith("xlink.xsd") or public_id == "http://www.w3.org/1999/xlink":
            return self.resolve_filename(str(NOARK5_DIR / "xlink.xsd"), context)
        local = NOARK5_DIR / name
        if name and local.is_file():
            return self.resolve_filename(str(local), context)
        return self.resolve_string("", context)


def secure_parser(**extra) -> etree.XMLParser:
    """A parser that never touches the network, loads no DTD and expands no external entity."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=True, **extra
    )
    parser.resolvers.add(_OfflineResolver())
    return parser


def load_schema(name: str) -> etree.XMLSchema:
    """The compiled official schema ``name`` (e.g. ``arkivstruktur.xsd``), cached per process."""
    with _lock:
        schema = _compiled.get(name)
        if schema is None:
            path = official_schema_path(name)
            with open(path, "rb") as fh:
                doc = etree.parse(fh, secure_parser(), base_url=str(path))
            schema = etree.XMLSchema(doc)
            _compiled[name] = schema
        return schema
