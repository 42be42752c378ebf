"""Input files for the importers: plain files, folders and zip archives, read safely.

Nothing is ever extracted to disk: zip members are read through ``zipfile`` directly, so a
member named ``../../etc/passwd`` cannot be written anywhere. Such members, and members that
look like a zip bomb, are refused with a reason naming the archive and the entry; the rest
of the archive is read. Reading is bounded: a line or a document above the limits below is
rejected without being loaded whole.

Streams — ``-`` (standard input), a pipe, a FIFO, ``<(…)`` — are read exactly once: copied to
a temporary file (in ``TMPDIR``) and hashed as they are read, so the batch's SHA-256, the
sniffing of the format and the import all see the same bytes, and a rerun of the same bytes
resumes or is recognised as imported. A stream above ``MAX_STREAM_BYTES`` is refused.
Devices (``/dev/zero``, a terminal) are refused before anything is read, and a symbolic link
loop or an unreadable path is named as such.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from ..errors import Hint, UsageError

# Limits (module constants so tests and operators can lower or raise them).
MAX_LINE_BYTES = 16 * 1024 * 1024          # one JSON Lines record / one dump line
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024     # one whole-file JSON document (export files)
READ_BUFFER = 1024 * 1024                  # input files are read through a 1 MiB buffer: a dump line
                                           # of tens of KB is then found in one pass, not in 8 KB pieces
MAX_ZIP_TOTAL_BYTES = 20 * 1024 ** 3       # declared uncompressed size of all members
MAX_ZIP_RATIO = 200                        # uncompressed / compressed, for members over 1 MiB
MAX_ATTACHMENT_BYTES = 2 * 1024 ** 3       # one photo or video
MAX_STREAM_BYTES = 20 * 1024 ** 3          # standard input or a pipe (copied once to a temporary file)

STDIN = "-"
STDIN_DISPLAY = "standard input"


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
    folder: Path | None = None     # where paths relative to the file resolve (None: in an archive or a stream)

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
    _streams: dict[str, str] = field(default_factory=dict)     # path as given → SHA-256 of what was read
    _temps: list[Path] = field(default_factory=list)

    def by_name(self) -> dict[str, InputFile]:
        return {f.name: f for f in self.files}

    def sha256(self) -> str:
        """SHA-256 of the input: the bytes for one file, zip or stream, else a manifest hash."""
        if len(self.paths) == 1 and self.paths[0] in self._streams:
            return self._streams[self.paths[0]]
        if len(self.paths) == 1 and Path(self.paths[0]).is_file():
            return file_sha256(Path(self.paths[0]))
        h = hashlib.sha256()
        for f in self.files:
            with f.open() as fh:
                d = _stream_sha(fh)
            h.update(f"{f.name}\0{d}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def describe(self) -> list[str]:
        return [(STDIN_DISPLAY if p == STDIN else p) if p in self._streams else str(Path(p).resolve())
                for p in self.paths]

    def close(self) -> None:
        for z in self._zips:
            z.close()
        self._zips.clear()
        for t in self._temps:
            t.unlink(missing_ok=True)
        self._temps.clear()

    def __enter__(self) -> "InputSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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


def _kind(p: str) -> str:
    """'stream', 'dir' or 'file' for a path as given; UsageError naming what is wrong otherwise."""
    if p == STDIN:
        st = os.fstat(sys.stdin.fileno())
        if stat.S_ISCHR(st.st_mode) and os.isatty(sys.stdin.fileno()):
            raise UsageError("standard input is a terminal",
                             Hint("pipe or redirect a file into it (e.g. zcat dump.gz | {step})",
                                  "import.run:facebook-dump-stdin"))
        if stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
            return "stream"
        raise UsageError("standard input is a device, not a file or a pipe — redirect a file into it")
    try:
        st = os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{p}: a loop of symbolic links — point at the real file or folder") from None
        if exc.errno == errno.ENOENT and os.path.islink(p):
            raise UsageError(f"{p}: a symbolic link to {os.readlink(p)!r}, which does not exist — "
                             "check the link") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise UsageError(f"{p}: no such file or folder — check the path") from None
        raise UsageError(f"{p}: cannot be read ({exc.strerror}) — check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return "stream"
    raise UsageError(f"{p}: not a file, folder or pipe (a device such as /dev/zero cannot be imported) — "
                     "give a file, a folder, or - for standard input")


def spool(src: BinaryIO, display: str, limit: int | None = None) -> tuple[Path, str, int]:
    """Copy a stream once to a temporary file, hashing it as it is read: (path, SHA-256, size).

    The caller deletes the file. Raises UsageError if the stream is larger than ``limit`` or
    the temporary folder cannot hold it (nothing is left behind).
    """
    limit = MAX_STREAM_BYTES if limit is None else limit
    fd, name = tempfile.mkstemp(prefix="ringebu-journal-input-")
    h = hashlib.sha256()
    n = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while block := src.read(1024 * 1024):
                n += len(block)
                if n > limit:
                    raise UsageError(f"{display}: more than {limit:,} bytes — save it to a file and import the file")
                h.update(block)
                out.write(block)
    except OSError as exc:
        os.unlink(name)
        raise UsageError(f"{display}: cannot keep the copy of the stream in {tempfile.gettempdir()} "
                         f"({exc.strerror}) — set TMPDIR to a folder with space") from None
    except BaseException:
        os.unlink(name)
        raise
    return Path(name), h.hexdigest(), n


def open_inputs(paths: list[str], *, zip_allowed: bool = True,
                accept: Callable[[str], bool] | None = None) -> InputSet:
    """Collect the files under ``paths`` (files, folders, zips, streams), sorted, safely."""
    if not paths:
        raise UsageError("no input given — name a file or folder, or - for standard input")
    if sum(1 for p in paths if p == STDIN) > 1:
        raise UsageError("- (standard input) can be given once only")
    inputs = InputSet(paths=list(paths))
    try:
        for p in paths:
            _add_path(inputs, p, zip_allowed, accept)
    except BaseException:
        inputs.close()
        raise
    return inputs


def _add_path(inputs: InputSet, p: str, zip_allowed: bool, accept: Callable[[str], bool] | None) -> None:
    kind = _kind(p)
    path = Path(p)
    if kind == "stream":
        display = STDIN_DISPLAY if p == STDIN else p
        if p == STDIN:
            tmp, sha, size = spool(sys.stdin.buffer, display)
        else:
            with open(p, "rb") as src:
                tmp, sha, size = spool(src, display)
        inputs._temps.append(tmp)
        inputs._streams[p] = sha
        if zip_allowed and zipfile.is_zipfile(tmp):
            _add_zip(inputs, tmp, accept, display=display)
        else:
            inputs.files.append(InputFile(name=display, display=display, size=size, mtime=_mtime(tmp),
                                          opener=lambda tmp=tmp: open(tmp, "rb", buffering=READ_BUFFER)))
    elif kind == "dir":
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


def _plain_file(fp: Path, rel: str) -> InputFile:
    st = fp.stat()
    return InputFile(name=rel, display=str(fp), size=st.st_size, mtime=_mtime(fp),
                     opener=lambda fp=fp: open(fp, "rb", buffering=READ_BUFFER), folder=fp.resolve().parent)


def unsafe_member_reason(name: str) -> str | None:
    if "\x00" in name:
        return "entry name contains NUL"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive (refused: it would write outside the import)"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "path with '..' in archive (zip slip; refused)"
    return None


def _add_zip(inputs: InputSet, path: Path, accept: Callable[[str], bool] | None, display: str | None = None) -> None:
    shown = display or str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{shown}: not a readable zip archive ({exc})") from None
    inputs._zips.append(zf)
    total = 0
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        if info.is_dir():
            continue
        display = f"{shown}!{info.filename}"
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
            inputs.problems.append(InputProblem(shown, info.filename, reason))
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
