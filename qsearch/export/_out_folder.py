"""The output folder of an export or a set of plots: refused before the slow work if it cannot take the files,
and left as it was when writing into it fails."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qsearch.errors import InputError


def check_out_folder(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before anything is read or written: an existing file, a
    path under a file, or a folder (``out`` or the existing folder it would be created in) this process cannot
    create a file in (tried with an unnamed temporary file, which leaves nothing behind)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{option}: {out} is an existing file, not a folder; give a folder (created if missing)")
    folder = out
    while not folder.exists() and folder != folder.parent:  # the nearest existing folder (created in)
        if folder.is_symlink():  # a dangling link: its target's folder is not ours to create
            raise InputError(f"{option}: {folder} is a link to nothing; give a folder (created if missing)")
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{option}: cannot create {out}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        where = "" if folder == out else f"cannot create {out}: "
        raise InputError(f"{option}: {where}{folder} is not writable ({error.strerror or error}); "
                         f"give a folder you can write") from None


def _topmost_missing(out: Path) -> Path | None:
    """The outermost folder of ``out`` that does not exist yet (what writing into ``out`` creates), or None."""
    missing = None
    folder = out
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        missing, folder = folder, folder.parent
    return missing


@contextmanager
def writing_into(out: Path, option: str = "--out") -> Iterator[None]:
    """Write into ``out`` inside the block; nothing half-written stays when it fails. A failure removes what
    the block created (the folders it made, or the new entries of an existing folder; a file it replaced stays
    replaced), and an :class:`OSError` (disk full, permission denied, ...) becomes one line naming ``option``.
    Call :func:`check_out_folder` first, before the slow work."""
    created = _topmost_missing(out)
    before = set() if created is not None or not out.is_dir() else set(os.listdir(out))
    try:
        yield
    except BaseException as error:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        elif out.is_dir():
            for entry in set(os.listdir(out)) - before:
                path = out / entry
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if isinstance(error, OSError) and _about_writing(error, out):
            target = error.filename or out
            raise InputError(f"{option}: cannot write {target}: {error.strerror or error}; nothing was kept "
                             f"there") from None
        raise


#: errors of a write that name no file (``write`` itself failing): a full or read-only disk
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _about_writing(error: OSError, out: Path) -> bool:
    """Whether ``error`` is about writing into ``out`` (a file under it, or a full disk), not, say, a data file
    that could not be read on the way."""
    if error.filename is None:
        return error.errno in _WRITE_ERRNOS
    named = Path(os.path.abspath(os.fsdecode(error.filename)))
    target = Path(os.path.abspath(out))
    return named == target or target in named.parents or named in target.parents  # mkdir of a parent


__all__ = ["check_out_folder", "writing_into"]
