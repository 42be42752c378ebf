"""Read access to a package given as a folder or a tar file, without unpacking it.

The package root is the folder holding arkivuttrekk.xml (or, failing that, arkivstruktur.xml); it
may be nested, as in Arkade's ``{uuid}/content/``. Paths are relative to the root with ``/``.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tarfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from noark.errors import PackageReadError
from noark.namespaces import ARKIVSTRUKTUR_XML, ARKIVUTTREKK_XML


class PackageSource(ABC):
    """What the validator reads a package through: a folder or a tar file."""

    name: str

    @abstractmethod
    def exists(self, rel: str) -> bool:
        """Whether the package holds the file ``rel``."""

    @abstractmethod
    def open(self, rel: str) -> BinaryIO:
        """The file ``rel`` opened for reading bytes."""

    @abstractmethod
    def size(self, rel: str) -> int:
        """The size in bytes of the file ``rel``."""

    @abstractmethod
    def files(self) -> Iterator[str]:
        """Every file in the package, as a path relative to its root, in a stable order."""

    def close(self) -> None:
        pass


class FolderSource(PackageSource):
    def __init__(self, path: Path):
        self.root = _find_root_folder(path)
        self.name = str(path)

    def _path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def exists(self, rel: str) -> bool:
        return _safe_rel(rel) and self._path(rel).is_file()

    def open(self, rel: str) -> BinaryIO:
        return open(self._path(rel), "rb")

    def size(self, rel: str) -> int:
        return self._path(rel).stat().st_size

    def files(self) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            base = Path(dirpath).relative_to(self.root)
            for filename in sorted(filenames):
                yield (base / filename).as_posix() if str(base) != "." else filename


def _find_root_folder(path: Path) -> Path:
    for marker in (ARKIVUTTREKK_XML, ARKIVSTRUKTUR_XML):
        if (path / marker).is_file():
            return path
    candidates = []
    for dirpath, dirnames, filenames in os.walk(path):
        depth = len(Path(dirpath).relative_to(path).parts)
        if depth >= 3:
            dirnames[:] = []
        if ARKIVUTTREKK_XML in filenames or ARKIVSTRUKTUR_XML in filenames:
            candidates.append((depth, Path(dirpath)))
    if candidates:
        return min(candidates)[1]
    return path


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return not rel.startswith("/") and ".." not in parts and "" not in parts


class _Slice(io.RawIOBase):
    """A read-only window on an uncompressed tar member."""

    def __init__(self, fh: BinaryIO, offset: int, size: int):
        self._fh = fh
        self._pos = offset
        self._end = offset + size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._end - self._pos)
        if n <= 0:
            return 0
        self._fh.seek(self._pos)
        data = self._fh.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class TarSource(PackageSource):
    """Members are indexed once (name → offset, size); nothing is extracted to disk."""

    def __init__(self, path: Path):
        self.name = str(path)
        try:
            self._tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError) as exc:
            raise PackageReadError(f"{path}: not a readable tar file ({exc})") from exc
        compressed = not isinstance(self._tar.fileobj, io.BufferedReader)
        self._entries: dict[str, tuple] = {}
        while True:
            info = self._tar.next()
            if info is None:
                break
            if info.isfile():
                name = info.name.lstrip("./") if info.name.startswith("./") else info.name
                self._entries[name] = (info if compressed else None, info.offset_data, info.size)
            self._tar.members = []
        self._compressed = compressed
        roots = [n[: -len(m)] for n in self._entries for m in (ARKIVUTTREKK_XML, ARKIVSTRUKTUR_XML)
                 if n == m or n.endswith("/" + m)]
        self._prefix = min(roots, key=len) if roots else ""

    def _key(self, rel: str) -> str:
        return self._prefix + rel

    def exists(self, rel: str) -> bool:
        return self._key(rel) in self._entries

    def open(self, rel: str) -> BinaryIO:
        info, offset, size = self._entries[self._key(rel)]
        if self._compressed:
            return self._tar.extractfile(info)
        return io.BufferedReader(_Slice(self._tar.fileobj, offset, size), 512 * 1024)

    def size(self, rel: str) -> int:
        return self._entries[self._key(rel)][2]

    def files(self) -> Iterator[str]:
        n = len(self._prefix)
        for name in sorted(self._entries):
            if name.startswith(self._prefix):
                yield name[n:]

    def close(self) -> None:
        self._tar.close()


def open_source(path: Path | str) -> PackageSource:
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PackageReadError(f"{path}: a loop of symbolic links") from None
        raise PackageReadError(f"{path}: no such file or folder") from None
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        # a device such as /dev/zero would be read for ever, a pipe cannot be read twice
        raise PackageReadError(f"{path}: not a folder or a file (a device or a pipe)")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise PackageReadError(f"{path}: folder is not readable")
        return FolderSource(path)
    if not os.access(path, os.R_OK):
        raise PackageReadError(f"{path}: file is not readable")
    if not tarfile.is_tarfile(path):
        raise PackageReadError(f"{path}: neither a folder nor a tar file")
    return TarSource(path)
