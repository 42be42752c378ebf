"""Content-addressed storage of attachment bytes under the data folder.

A file's SHA-256 names it: ``<data_dir>/attachments/ab/abcdef…``. Writing goes through a
temporary file in the same folder and an atomic rename, so a crash never leaves a partial
file under a hash name, and storing the same bytes twice is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from .sources import MAX_ATTACHMENT_BYTES


class TooLarge(Exception):
    pass


def blob_relpath(sha: str) -> str:
    return f"attachments/{sha[:2]}/{sha}"


def blob_path(data_dir: Path, sha: str) -> Path:
    return Path(data_dir) / "attachments" / sha[:2] / sha


def store_blob(data_dir: Path, source: bytes | BinaryIO, *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> tuple[str, int]:
    """Store bytes (or a stream) and return (sha256, size). Raises TooLarge above max_bytes."""
    base = Path(data_dir) / "attachments"
    base.mkdir(parents=True, exist_ok=True)
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise TooLarge(f"{len(source):,} bytes (limit {max_bytes:,})")
        sha = hashlib.sha256(source).hexdigest()
        final = blob_path(data_dir, sha)
        if final.exists():
            return sha, len(source)
        final.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(final, [bytes(source)])
        return sha, len(source)
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=base, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                block = source.read(1024 * 1024)
                if not block:
                    break
                size += len(block)
                if size > max_bytes:
                    raise TooLarge(f"more than {max_bytes:,} bytes")
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        sha = h.hexdigest()
        final = blob_path(data_dir, sha)
        if final.exists():
            os.unlink(tmp)
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        return sha, size
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _atomic_write(final: Path, blocks: list[bytes]) -> None:
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            for b in blocks:
                out.write(b)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
