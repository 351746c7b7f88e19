"""gunicorn server hooks for Prometheus multiprocess mode.

In ``gunicorn.conf.py``::

    from django_observe.gunicorn import *  # on_starting, child_exit, worker_exit

    workers = 4

and start gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set to a directory only it uses.
``on_starting`` empties that directory when the master starts (files of an earlier run
would add their counts to ours and slow every scrape); ``child_exit`` marks a dead
worker so its ``live*`` gauges (``http_requests_in_progress``) stop counting, and folds
its counters and histograms into one archive file per kind (``multiproc.compact``):
totals never go down, and replaced workers (``max_requests``) leave no files behind.

``worker_exit`` writes the log lines a worker still holds (``LOG_BUFFER_SECONDS``) as it
exits; ``atexit`` does it too, the hook also covers exits that skip ``atexit``.

This module imports no Django: gunicorn loads its config before the app.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from typing import Any

__all__ = ["child_exit", "on_starting", "wipe_multiproc_dir", "worker_exit"]

logger = logging.getLogger(__name__)


def _directory() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def wipe_multiproc_dir(path: str | None = None) -> int:
    """Create the directory if needed and delete the metric files (``*.db``) in it; return how many.

    Only ``*.db`` files are removed, so a directory pointed at by mistake (``/tmp``) loses
    nothing else. Files of processes still running are kept: a Celery worker on the same host
    sharing the directory keeps its counts when the web server restarts. Run it before
    starting any multi-worker server (uvicorn has no hooks).
    """
    path = path or _directory()
    if not path:
        return 0
    os.makedirs(path, exist_ok=True)
    removed = 0
    for file_path in glob.glob(os.path.join(path, "*.db")):
        if _writer_alive(file_path):
            continue
        try:
            os.remove(file_path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _writer_alive(file_path: str) -> bool:
    """True when the pid in ``counter_1234.db`` (prometheus_client's naming) is a running process other than us."""
    pid = os.path.basename(file_path)[:-3].rsplit("_", 1)[-1]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def on_starting(server: Any) -> None:
    """gunicorn hook, in the master before any worker starts: empty PROMETHEUS_MULTIPROC_DIR."""
    path = _directory()
    if not path:
        server.log.warning("PROMETHEUS_MULTIPROC_DIR is not set: with several workers each scrape of /metrics shows one worker only.")
        return
    removed = wipe_multiproc_dir(path)
    server.log.info("django-observe: emptied PROMETHEUS_MULTIPROC_DIR %s (%d metric files removed)", path, removed)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the master after a worker exited: drop its ``live*`` gauge files and fold
    its counters and histograms into the archive files (``django_observe.multiproc``)."""
    path = _directory()
    if not path:
        return
    from prometheus_client import multiprocess

    from .multiproc import compact

    multiprocess.mark_process_dead(worker.pid, path)
    try:
        compact(worker.pid, path)
    except Exception:  # the master must outlive any file problem; the files stay and are still counted
        server.log.exception("django-observe: could not fold the metric files of worker %s into the archive", worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the worker as it exits: write the log lines still waiting for their batch."""
    sink = sys.modules.get("django_observe.logging.sink")  # not imported: no line was ever batched here
    if sink is not None:
        sink.flush_all()
