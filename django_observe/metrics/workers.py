"""Detect several worker processes serving the app without PROMETHEUS_MULTIPROC_DIR.

Without the directory every worker keeps its own counters and each scrape reads one
random worker: totals jump and undercount (research: 10, 10, 11, 9 of 40 requests).
The system check (W021) reads the configuration the server will use; at runtime we look
at our sibling processes, because gunicorn and uvicorn never run system checks.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from pathlib import Path

import psutil

from .core import multiprocess_dir

logger = logging.getLogger(__name__)

_SERVERS = ("gunicorn", "uvicorn", "hypercorn", "granian")
_WORKERS_LINE = re.compile(r"^\s*workers\s*=\s*(\d+)", re.MULTILINE)


def configured_workers(search_dirs: tuple[Path, ...] = ()) -> tuple[int, str] | None:
    """(worker count, where it was found) from WEB_CONCURRENCY, GUNICORN_CMD_ARGS or a gunicorn.conf.py."""
    if (value := os.environ.get("WEB_CONCURRENCY", "").strip()).isdigit():
        return int(value), "WEB_CONCURRENCY"
    args = os.environ.get("GUNICORN_CMD_ARGS", "")
    if args:
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
        for index, word in enumerate(words):
            if word in ("-w", "--workers") and index + 1 < len(words) and words[index + 1].isdigit():
                return int(words[index + 1]), "GUNICORN_CMD_ARGS"
            if word.startswith("--workers=") and word.split("=", 1)[1].isdigit():
                return int(word.split("=", 1)[1]), "GUNICORN_CMD_ARGS"
    for directory in (Path.cwd(), *search_dirs):
        config = directory / "gunicorn.conf.py"
        try:
            match = _WORKERS_LINE.search(config.read_text(errors="replace"))
        except OSError:
            continue
        if match:
            return int(match.group(1)), str(config)
    return None


def sibling_workers() -> int:
    """How many processes like this one the same gunicorn/uvicorn master runs (1 when not under one)."""
    try:
        me = psutil.Process()
        parent = me.parent()
        if parent is None or not any(server in " ".join(parent.cmdline()) for server in _SERVERS):
            return 1
        exe = me.exe()
        return sum(1 for child in parent.children() if _same_exe(child, exe)) or 1
    except (psutil.Error, OSError):
        return 1


def _same_exe(process: psutil.Process, exe: str) -> bool:
    try:
        return process.exe() == exe
    except (psutil.Error, OSError):
        return False


_warned = [False]
_looks = [0]


def warn_if_unshared() -> None:
    """Log one WARNING per process when sibling workers exist and PROMETHEUS_MULTIPROC_DIR is unset.

    Called at startup and by the first scrapes (a worker may start before its siblings are forked).
    """
    if _warned[0] or _looks[0] >= 3 or multiprocess_dir():
        return
    _looks[0] += 1
    count = sibling_workers()
    if count > 1:
        _warned[0] = True
        logger.warning(
            "%d worker processes serve this app without PROMETHEUS_MULTIPROC_DIR: each scrape of /metrics "
            "shows one worker's counts. Set PROMETHEUS_MULTIPROC_DIR to an empty directory (docs/deployment.md).",
            count,
        )
