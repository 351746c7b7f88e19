"""PROMETHEUS_MULTIPROC_DIR housekeeping: fold a dead process's metric files into one archive per kind.

Every worker writes its own files (``counter_<pid>.db``, ``histogram_<pid>.db`` ...). A server
that replaces workers (gunicorn ``--max-requests``, a crash, a reload) leaves their files behind,
and each scrape reads every file: the directory and the scrape cost grow without bound.
``compact(pid)`` adds the values of a dead process's counter, histogram, summary and non-live gauge
files into ``<kind>_archive.db`` and deletes its files, so a scrape reads one file per kind for all
the dead workers together. Totals do not change: counters and histograms are added, ``sum``
gauges added, ``max``/``min`` kept as such, ``mostrecent`` by timestamp. ``all`` gauges keep one
series per process, dead ones included (their meaning): those files are left alone.

Readers and the compaction take a lock file in the directory (shared for a scrape, exclusive for a
compaction), so a scrape sees a dead process's values exactly once: before or after. The files are
prometheus_client's own format (``MmapedDict``); the archive's "pid" part, ``archive``, is no
process id, so no live process ever writes it and ``wipe_multiproc_dir`` removes it with the rest.

No Django here: gunicorn's master calls this from ``child_exit`` before the app is loaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
from collections.abc import Iterator

from prometheus_client.mmap_dict import MmapedDict

__all__ = ["ARCHIVE", "LOCK_FILE", "compact", "locked"]

#: The "pid" part of the archive files' names.
ARCHIVE = "archive"
#: Taken shared by a scrape, exclusive by a compaction. Not ``*.db``: no collector reads it.
LOCK_FILE = ".observe-multiproc.lock"

# counter_123.db, histogram_123.db, summary_123.db, gauge_sum_123.db ... (live* gauges are removed by
# mark_process_dead; "all" gauges keep a series per pid by definition).
_FOLDED = re.compile(r"^(counter|histogram|summary|gauge_sum|gauge_max|gauge_min|gauge_mostrecent)_(\d+)\.db$")


@contextlib.contextmanager
def locked(path: str, exclusive: bool = False) -> Iterator[None]:
    """Hold the directory's lock: shared while reading every file of a scrape, exclusive to change files."""
    try:
        fd = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only directory: nobody can compact it either
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _combine(kind: str, old: tuple[float, float], new: tuple[float, float]) -> tuple[float, float]:
    """The archived (value, timestamp) of one series after adding a dead process's (value, timestamp)."""
    if kind == "gauge_max":
        return new if new[0] > old[0] else old
    if kind == "gauge_min":
        return new if new[0] < old[0] else old
    if kind == "gauge_mostrecent":
        return new if new[1] >= old[1] else old
    return old[0] + new[0], 0.0  # counters, histogram buckets and sums, summaries, sum gauges


def compact(pid: int, path: str) -> int:
    """Fold the metric files of the dead process ``pid`` into the archive files; how many files were folded.

    Does nothing while ``pid`` runs (a pid the kernel already gave to a new process that writes here).
    """
    if _alive(pid):
        return 0
    folded = 0
    with locked(path, exclusive=True):
        for file_path in sorted(glob.glob(os.path.join(path, f"*_{pid}.db"))):
            match = _FOLDED.match(os.path.basename(file_path))
            if match is None or int(match.group(2)) != pid:
                continue
            kind = match.group(1)
            values = list(MmapedDict.read_all_values_from_file(file_path))
            if values:
                archive_path = os.path.join(path, f"{kind}_{ARCHIVE}.db")
                archived: dict[str, tuple[float, float]] = {}
                if os.path.exists(archive_path):
                    archived = {key: (value, timestamp) for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(archive_path)}
                archive = MmapedDict(archive_path)
                try:
                    for key, value, timestamp, _ in values:
                        old = archived.get(key)
                        archive.write_value(key, *((value, timestamp) if old is None else _combine(kind, old, (value, timestamp))))
                finally:
                    archive.close()
            os.remove(file_path)
            folded += 1
    return folded
