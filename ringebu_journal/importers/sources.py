"""Input files for the importers: plain files, folders and zip archives, read safely.

Nothing is ever extracted to disk: zip members are read through ``zipfile`` directly, so a
member named ``../../etc/passwd`` cannot be written anywhere. Such members, and members that
look like a zip bomb, are refused with a reason naming the archive and the entry; the rest
of the archive is read. Reading is bounded: a line or a document above the limits below is
rejected without being loaded whole.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from ..errors import UsageError

# Limits (module constants so tests and operators can lower or raise them).
MAX_LINE_BYTES = 16 * 1024 * 1024          # one JSON Lines record / one dump line
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024     # one whole-file JSON document (export files)
MAX_ZIP_TOTAL_BYTES = 20 * 1024 ** 3       # declared uncompressed size of all members
MAX_ZIP_RATIO = 200                        # uncompressed / compressed, for members over 1 MiB
MAX_ATTACHMENT_BYTES = 2 * 1024 ** 3       # one photo or video


# What reading a damaged zip member raises: a bad header, corrupt compressed data, a short member.
ZIP_READ_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, zlib.error, EOFError)


class DamagedInput(Exception):
    """A file inside an archive could not be read to the end; the message says what to do."""


def damaged(exc: BaseException) -> DamagedInput:
    return DamagedInput(f"damaged inside the archive ({type(exc).__name__}: {str(exc)[:120]}) — "
                        "the download may be incomplete; download the archive again")


@dataclass
class InputFile:
    name: str                      # path relative to the input root, posix style
    display: str                   # how messages name it: /path/file or archive.zip!member
    size: int
    mtime: datetime
    opener: Callable[[], BinaryIO]

    def open(self) -> BinaryIO:
        return self.opener()

    def read_bounded(self, limit: int = MAX_DOCUMENT_BYTES) -> bytes | None:
        """The whole file, or None if it is larger than ``limit``."""
        if self.size > limit:
            return None
        try:
            with self.open() as fh:
                data = fh.read(limit + 1)
        except ZIP_READ_ERRORS as exc:
            raise damaged(exc) from None
        return None if len(data) > limit else data


def read_document(f: InputFile, limit: int = MAX_DOCUMENT_BYTES, what: str = "") -> bytes:
    """The whole file, for formats that are one JSON document; raises DamagedInput with the
    reason when it is too large (refused unread) or damaged inside its archive."""
    data = f.read_bounded(limit)
    if data is None:
        raise DamagedInput(f"file larger than {limit:,} bytes{what} — refused unread")
    return data


@dataclass
class InputProblem:
    file: str
    place: str | None
    reason: str


@dataclass
class InputSet:
    """The files one import reads, in a fixed order, with the problems found opening them."""

    paths: list[str]
    files: list[InputFile] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    _zips: list[zipfile.ZipFile] = field(default_factory=list)

    def by_name(self) -> dict[str, InputFile]:
        return {f.name: f for f in self.files}

    def sha256(self) -> str:
        """SHA-256 of the input: the file's bytes for one file or zip, else a manifest hash."""
        if len(self.paths) == 1 and Path(self.paths[0]).is_file():
            return file_sha256(Path(self.paths[0]))
        h = hashlib.sha256()
        for f in self.files:
            with f.open() as fh:
                d = _stream_sha(fh)
            h.update(f"{f.name}\0{d}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def describe(self) -> list[str]:
        return [str(Path(p).resolve()) for p in self.paths]

    def close(self) -> None:
        for z in self._zips:
            z.close()
        self._zips.clear()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return _stream_sha(fh)


def _stream_sha(fh: BinaryIO) -> str:
    h = hashlib.sha256()
    while True:
        block = fh.read(1024 * 1024)
        if not block:
            return h.hexdigest()
        h.update(block)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(int(path.stat().st_mtime), tz=timezone.utc)


def open_inputs(paths: list[str], *, zip_allowed: bool = True,
                accept: Callable[[str], bool] | None = None) -> InputSet:
    """Collect the files under ``paths`` (files, folders, zips), sorted, safely."""
    if not paths:
        raise UsageError("no input given — name a file or folder")
    inputs = InputSet(paths=list(paths))
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise UsageError(f"{p}: no such file or folder — check the path")
        if path.is_dir():
            root = path
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames.sort()
                for fn in sorted(filenames):
                    fp = Path(dirpath) / fn
                    if fp.is_symlink() or not fp.is_file():
                        continue
                    found.append(fp)
            for fp in sorted(found, key=lambda x: x.relative_to(root).as_posix()):
                rel = fp.relative_to(root).as_posix()
                if accept and not accept(rel):
                    continue
                inputs.files.append(_plain_file(fp, rel))
        elif zip_allowed and zipfile.is_zipfile(path):
            _add_zip(inputs, path, accept)
        else:
            inputs.files.append(_plain_file(path, path.name))
    return inputs


def _plain_file(fp: Path, rel: str) -> InputFile:
    st = fp.stat()
    return InputFile(name=rel, display=str(fp), size=st.st_size, mtime=_mtime(fp),
                     opener=lambda fp=fp: open(fp, "rb"))


def unsafe_member_reason(name: str) -> str | None:
    if "\x00" in name:
        return "entry name contains NUL"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive (refused: it would write outside the import)"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "path with '..' in archive (zip slip; refused)"
    return None


def _add_zip(inputs: InputSet, path: Path, accept: Callable[[str], bool] | None) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{path}: not a readable zip archive ({exc})") from None
    inputs._zips.append(zf)
    total = 0
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        if info.is_dir():
            continue
        display = f"{path}!{info.filename}"
        reason = unsafe_member_reason(info.filename)
        mode = (info.external_attr >> 16) & 0o170000
        if reason is None and mode == stat.S_IFLNK:
            reason = "symbolic link in archive (refused)"
        if reason is None and info.file_size > 1024 * 1024 and \
                info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            reason = (f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 "
                      f"(limit {MAX_ZIP_RATIO}:1) — looks like a zip bomb; refused")
        if reason is None and total + info.file_size > MAX_ZIP_TOTAL_BYTES:
            reason = (f"archive would unpack to more than {MAX_ZIP_TOTAL_BYTES:,} bytes — "
                      "looks like a zip bomb; refused")
        if reason is not None:
            inputs.problems.append(InputProblem(str(path), info.filename, reason))
            continue
        total += info.file_size
        name = info.filename.replace("\\", "/")
        if accept and not accept(name):
            continue
        y, mo, d, h, mi, s = info.date_time
        try:
            mtime = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
        except ValueError:
            mtime = datetime(1980, 1, 1, tzinfo=timezone.utc)
        inputs.files.append(InputFile(name=name, display=display, size=info.file_size, mtime=mtime,
                                      opener=lambda info=info, zf=zf: zf.open(info)))


def iter_lines(fh: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; bytes is None for a line longer than ``max_bytes``
    (which is skipped without being held in memory)."""
    n = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        n += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:
                rest = fh.readline(1024 * 1024)
                if not rest or rest.endswith(b"\n"):
                    break
            yield n, None
            continue
        yield n, line
