"""Writing a file whole or not at all.

Every file the program writes for a user (reports, the audit trail, labels, models, the policy
file, ``--out`` of listings) is written beside its final name as ``NAME.part`` and renamed into
place once complete. Invariants: the final name holds either the old file (or none) or the whole
new one, never half of it; on any error or interruption before the rename — a full disk, a failed
check of the new content, Ctrl-C — the ``.part`` file is removed, so nothing half-written is left
behind. (A ``kill -9`` may leave a ``.part``; the next write of the same file replaces it.)
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield the ``.part`` path to write; on a normal exit rename it to ``path``, on any
    exception (including KeyboardInterrupt) remove it and let the exception go on."""
    final = Path(path)
    tmp = part_path(final)
    try:
        yield tmp
        tmp.replace(final)
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Remove our ``.part`` file; anything else in its place (a folder) is not ours to remove."""
    try:
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
    except OSError:
        pass    # the error being raised says what went wrong; this one would hide it


def write_atomic(path: str | Path, data: str | bytes, *, check: Callable[[Path], None] | None = None) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all. ``check`` is called with the
    complete ``.part`` file before it replaces ``path``; whatever it raises leaves ``path`` as it was."""
    final = Path(path)
    with replacing(final) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        if check is not None:
            check(tmp)
    return final
