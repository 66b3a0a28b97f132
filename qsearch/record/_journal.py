"""A journal file that survives torn and corrupt records: repaired before appending, tolerated when read.

Optuna's :class:`~optuna.storages.journal.JournalFileBackend` writes one JSON record a line. A write cut short
(a full disk, a killed process) leaves a last line without its newline; the next append then lands on that line,
and from then on every read raises ``JSONDecodeError``: the finished trials are unreadable without hand repair.
This backend

- **repairs the tail before it appends**, under the journal's own lock: bytes after the last newline are a
  record no writer finished (every writer appends whole lines under that lock), so they are moved to
  ``FILE.torn`` (nothing is deleted) and the file is cut back to its last whole record;
- **reads past a bad line** and says so once, with its line number: a line holding a torn record followed by
  a whole one (what an older qsearch's append left) yields the whole one; a line that holds no record is
  skipped.

Record numbers count the records read, not the lines, as :class:`~optuna.storages.JournalStorage` expects.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Generator
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

#: how every record Optuna writes begins; where a torn record was appended onto, the whole one starts here
RECORD_START = b'{"op_code"'
TORN_SUFFIX = ".torn"



class _OneLineToStderr(logging.Handler):
    """Each warning as its one line on the current ``sys.stderr`` (the CLI's own channel for user notes)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


_log = logging.getLogger("qsearch.journal")
_log.addHandler(_OneLineToStderr())
_log.propagate = False
#: (file, line) already reported in this process: a command may open the same journal more than once
_REPORTED: set[tuple[str, int]] = set()


def _record(text: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def whole_record(line: bytes) -> tuple[dict[str, Any] | None, bool]:
    """The record a journal line holds, and whether the line is exactly that record: the line itself, else
    the last whole record in it (a torn record was appended onto), else None."""
    if (record := _record(line)) is not None:
        return record, True
    start = line.rfind(RECORD_START)
    while start > 0:
        if (record := _record(line[start:])) is not None:
            return record, False
        start = line.rfind(RECORD_START, 0, start)
    return None, False


class TolerantJournalFileBackend(JournalFileBackend):
    """:class:`JournalFileBackend` that repairs a torn tail before appending and reads past bad lines."""

    def __init__(self, file_path: str) -> None:
        self._path = file_path
        self._journal_lock = JournalFileSymlinkLock(file_path)
        super().__init__(file_path, lock_obj=self._journal_lock)
        self._offsets: dict[int, tuple[int, int]] = {0: (0, 1)}  # record number -> (byte offset, line number)

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        with open(self._path, "rb") as f:
            size = os.stat(self._path).st_size  # a record appended while we read is read next time
            number, (offset, line_number) = 0, (0, 1)
            if log_number_from in self._offsets:
                number, (offset, line_number) = log_number_from, self._offsets[log_number_from]
                f.seek(offset)
            for line in f:
                if offset + len(line) > size or not line.endswith(b"\n"):
                    break  # being written now, or torn: the next append repairs it
                offset, line_number = offset + len(line), line_number + 1
                record, clean = whole_record(line)
                if not clean:
                    self._report(line_number - 1, line, record)
                if record is None:
                    self._offsets[number] = (offset, line_number)
                    continue
                number += 1
                self._offsets[number] = (offset, line_number)
                if number > log_number_from:
                    yield record

    def _report(self, line_number: int, line: bytes, record: dict[str, Any] | None) -> None:
        if (self._path, line_number) in _REPORTED:
            return
        _REPORTED.add((self._path, line_number))
        what = "a torn record before a whole one; the whole one is read" if record is not None else \
            "no record; skipped"
        _log.warning("qsearch: warning: journal %s line %d holds %s (%d bytes)", self._path, line_number,
                     what, len(line))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode()
        self._journal_lock.acquire()
        try:
            self._repair_tail()
            with open(self._path, "ab") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        finally:
            self._journal_lock.release()

    def _repair_tail(self) -> None:
        """Cut bytes after the last newline off into ``FILE.torn`` (held under the lock: no writer is mid-line)."""
        with open(self._path, "rb+") as f:
            end = f.seek(0, os.SEEK_END)
            if end == 0:
                return
            f.seek(end - 1)
            if f.read(1) == b"\n":
                return
            keep = 0
            for block_end in range(end, 0, -65536):
                f.seek(max(0, block_end - 65536))
                block = f.read(block_end - max(0, block_end - 65536))
                cut = block.rfind(b"\n")
                if cut >= 0:
                    keep = max(0, block_end - 65536) + cut + 1
                    break
            f.seek(keep)
            torn = f.read()
            with open(self._path + TORN_SUFFIX, "ab") as side:
                side.write(torn + b"\n")
                side.flush()
                os.fsync(side.fileno())
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        _log.warning("qsearch: warning: journal %s ended in a torn record (%d bytes, a write cut short); moved "
                     "to %s before appending", self._path, len(torn), self._path + TORN_SUFFIX)
