"""Where rendered lines go: ``LOG_FILE`` through one ``O_APPEND`` descriptor, or stderr; written in batches.

Lines wait in a per-process list and are written together, one ``write()`` per batch, when
``BATCH_LINES`` are waiting, when the oldest has waited ``LOG_BUFFER_SECONDS``, before any
WARNING-or-worse line (it is written at once, after the lines logged before it), before a
``fork()``, when the handler is flushed or closed, and at exit (``atexit``; gunicorn's
``worker_exit`` hook in ``django_observe.gunicorn``; a Celery prefork child on its way out).
A background thread, started with the first waiting line, writes lines that would otherwise
wait for the next one, so no line waits much longer than ``LOG_BUFFER_SECONDS``. With
``LOG_BUFFER_SECONDS = 0`` every line is written when it is logged.

What it saves: a write system call, the TextIOWrapper and the flush per line, 8–11 µs of a
gunicorn worker's CPU per request (bench/README.md). What it costs: a process killed with
SIGKILL (the OOM killer, a gunicorn worker past its timeout) loses the lines of its last
``LOG_BUFFER_SECONDS`` at most, 31 lines at most; ``tail -f`` sees them that much later.

Lines of several processes appending to one file never mix: each batch is one ``write()`` on an
``O_APPEND`` descriptor. On a pipe (stderr read by a container runtime), batches are cut at
whole lines into writes of at most ``PIPE_BUF`` bytes, which a pipe keeps whole as it keeps a
single line today.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import stat
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import IO, Any

from ..conf import get_settings, on_change

#: A batch is written when this many lines wait.
BATCH_LINES = 32
#: Writes to a pipe of at most this size are never interleaved with other writers' (POSIX PIPE_BUF).
PIPE_CHUNK = 4096
#: A line at this level or above is written at once (with the lines before it).
FLUSH_LEVEL = logging.WARNING

Lost = Callable[[int], None]


class _Buffering:
    seconds: float | None = None
    stopping = False  # a shutdown signal arrived: every later line is written at once


_buffering = _Buffering()


def buffer_seconds() -> float:
    """``LOG_BUFFER_SECONDS``, read once per settings change (0 once the process is shutting down)."""
    seconds = _buffering.seconds
    if seconds is None:
        seconds = _buffering.seconds = 0.0 if _buffering.stopping else float(getattr(get_settings(), "LOG_BUFFER_SECONDS", 0.5))
    return seconds


@on_change()
def _settings_changed() -> None:
    _buffering.seconds = None
    flush_all()  # lines logged under the old setting go out now


class LineSink:
    """Batched lines to a file (reopened when rotated or closed) or to a stream (stderr)."""

    reopen_check_seconds = 1.0

    def __init__(self, path: str | None, stream: IO[str] | None = None) -> None:
        self.path = path or None
        self.stream = stream if stream is not None else sys.stderr
        self.fd: int | None = None
        self.identity: tuple[int, int] | None = None
        self.regular = True
        self.checked_at = 0.0
        self.pending: list[str] = []
        self.oldest = 0.0
        self.lock = threading.Lock()
        #: Told how many lines a failed write lost (outside the lock: it may log).
        self.on_lost: Lost | None = None
        if self.path:
            self._open()  # raises OSError now, when the caller can still fall back to stderr
        _sinks.add(self)

    # --- writing -------------------------------------------------------------------------------

    def write(self, line: str, level: int, created: float) -> None:
        """Queue one line (without its newline); write the batch when it is due."""
        lost = 0
        with self.lock:
            pending = self.pending
            pending.append(line + "\n")
            if level >= FLUSH_LEVEL or len(pending) >= BATCH_LINES:
                lost = self._flush_locked()
            elif len(pending) == 1:
                seconds = buffer_seconds()
                if seconds <= 0:
                    lost = self._flush_locked()
                else:
                    self.oldest = created
                    _flusher.wake(seconds)
                    if not _signals.wrapped:
                        flush_on_shutdown_signals()
            elif created - self.oldest >= buffer_seconds() or created < self.oldest:
                lost = self._flush_locked()
        if lost and self.on_lost is not None:
            self.on_lost(lost)

    def flush(self, older_than: float | None = None, wait: bool = True) -> None:
        """Write the waiting lines (only when the oldest is at least ``older_than`` seconds old, if given).

        ``wait=False`` gives up when another write holds the lock (a signal handler must not wait for
        the code it interrupted).
        """
        if not self.lock.acquire(wait):
            return
        try:
            lost = self._flush_locked() if self.pending and (older_than is None or time.time() - self.oldest >= older_than) else 0
        finally:
            self.lock.release()
        if lost and self.on_lost is not None:
            self.on_lost(lost)

    def _flush_locked(self) -> int:
        """Write the waiting lines; how many were lost (the write failed)."""
        lines, self.pending = self.pending, []
        try:
            if self.path:
                self._write_file(lines)
            else:
                self._write_stream(lines)
        except OSError:
            return len(lines)
        return 0

    def _write_file(self, lines: list[str]) -> None:
        now = time.time()
        if self.fd is None:
            # A second dictConfig (Celery, a second django.setup()) closes every handler it finds,
            # ours included: reopen instead of losing every later line.
            self._open()
        elif now - self.checked_at >= self.reopen_check_seconds:
            # logrotate moved the file away: write to a new one, as WatchedFileHandler does (but
            # with one stat() per second, not one per line).
            self.checked_at = now
            self._reopen_if_moved()
        assert self.fd is not None
        for piece in [lines] if self.regular else _pieces(lines):
            _write_all(self.fd, "".join(piece).encode("utf-8", "backslashreplace"))

    def _write_stream(self, lines: list[str]) -> None:
        stream = self.stream
        for piece in _pieces(lines):
            stream.write("".join(piece))
            stream.flush()

    # --- the file --------------------------------------------------------------------------------

    def _open(self) -> None:
        assert self.path is not None
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        info = os.fstat(fd)
        self.fd, self.identity, self.regular = fd, (info.st_dev, info.st_ino), stat.S_ISREG(info.st_mode)
        self.checked_at = time.time()

    def _reopen_if_moved(self) -> None:
        assert self.path is not None
        try:
            info = os.stat(self.path)
            moved = (info.st_dev, info.st_ino) != self.identity
        except FileNotFoundError:
            moved = True
        if moved:
            self._close_fd()
            self._open()

    def _close_fd(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    def close(self) -> None:
        """Write what waits and close the file (a later line opens it again)."""
        self.flush()
        with self.lock:
            self._close_fd()

    def after_fork(self) -> None:
        # The parent wrote what waited before forking (flush_all); a line another thread queued in
        # between is the parent's to write. The lock may have been held by a thread that is not here.
        self.lock = threading.Lock()
        self.pending = []


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _pieces(lines: list[str]) -> list[list[str]]:
    """The lines in groups of at most PIPE_CHUNK bytes (UTF-8), cut at whole lines only; a longer line goes alone."""
    if len(lines) == 1:
        return [lines]
    pieces: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line) if line.isascii() else len(line.encode("utf-8", "backslashreplace"))
        if current and size + length > PIPE_CHUNK:
            pieces.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        pieces.append(current)
    return pieces


# --- every sink of the process: exit, fork, and the background writer -----------------------------

_sinks: weakref.WeakSet[LineSink] = weakref.WeakSet()


def flush_all() -> None:
    """Write every waiting line of this process now (exit hooks, before a fork, tests)."""
    for sink in list(_sinks):
        try:
            sink.flush()
        except Exception:  # at exit or in a fork hook: nothing may raise from here
            pass


class _Flusher:
    """One daemon thread per process: writes lines that waited ``LOG_BUFFER_SECONDS`` with no line after them."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.seconds = 0.5
        self.changed = threading.Event()

    def wake(self, seconds: float) -> None:
        if seconds != self.seconds:
            self.seconds = seconds
            self.changed.set()  # a shorter period takes effect now, not after the current sleep
        if self.thread is None:
            self.thread = threading.Thread(target=self.run, name="django-observe-log-flusher", daemon=True)
            self.thread.start()

    def run(self) -> None:
        while True:
            # Woken twice per period, it writes lines at least half a period old: none waits a whole period.
            half = self.seconds / 2
            if self.changed.wait(half):
                self.changed.clear()
                continue
            for sink in list(_sinks):
                if sink.pending:
                    sink.flush(older_than=half)

    def after_fork(self) -> None:
        self.thread = None  # threads do not survive fork(): the next waiting line starts one
        self.changed = threading.Event()


_flusher = _Flusher()


class _Signals:
    wrapped = False  # SIGTERM/SIGINT already write the lines, or are gunicorn's: nothing more to do


_signals = _Signals()


def flush_on_shutdown_signals() -> None:
    """Write waiting lines when SIGTERM or SIGINT arrives, and every later line at once.

    For servers that stop by raising the signal again once they are done (uvicorn restores the
    default handler and raises SIGTERM: the process ends without ``atexit``). The server's own
    handler is wrapped, and still called. Tried when a batch starts, from the main thread (where
    an ASGI server's loop writes the access line), until the server's handler is there. Not done
    for gunicorn's workers, which exit through ``sys.exit`` (``atexit`` and the ``worker_exit``
    hook write the lines) and make SIGTERM restart interrupted system calls, which installing a
    Python handler would undo; nor while no Python handler is installed (nothing to wrap: the
    default handler ends the process, as it did before).
    """
    if _signals.wrapped or threading.current_thread() is not threading.main_thread():
        return
    done = True
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            current = signal.getsignal(number)
            if getattr(current, "observe_flushes", False) or str(getattr(current, "__module__", "")).startswith("gunicorn."):
                continue
            if not callable(current) or current is signal.default_int_handler:
                done = False  # the server may install its handler later: look again at the next batch
                continue
            signal.signal(number, _flushing(current))
        except (ValueError, OSError):  # not the main interpreter, or no such signal here
            continue
    _signals.wrapped = done


def _flushing(previous: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
    def handler(number: int, frame: Any) -> Any:
        _buffering.stopping = True
        _buffering.seconds = None
        for sink in list(_sinks):
            sink.flush(wait=False)
        return previous(number, frame)

    handler.observe_flushes = True  # type: ignore[attr-defined]
    return handler


def _after_fork_in_child() -> None:
    _flusher.after_fork()
    _signals.wrapped = False
    for sink in list(_sinks):
        sink.after_fork()


atexit.register(flush_all)
os.register_at_fork(before=flush_all, after_in_child=_after_fork_in_child)
