"""One guard for django-observe's own failures, in the spirit of sentry-sdk's ``capture_internal_exceptions``.

Telemetry must never break the host's request, command or task. Every place where our
own code may fail and the host's work must go on uses this module instead of a bare
``except Exception``: the failure is counted in ``observe_internal_errors_total{component}``
and logged once per component and process (a broken part would otherwise write one
traceback per request).

    with guard("middleware"):
        ...  # an exception here is counted, logged once, and swallowed

    except Exception:
        report("errors_dropped", count=len(batch), message="...")  # when the caller goes on itself

A ``Guard`` is a reusable object, cheap enough for the per-request path (no generator,
no allocation when nothing fails).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger("django_observe")

#: Set by ``metrics.core`` at import: ``count(component, n)``. The guard sits at the bottom of
#: the layers (everything may use it), so it is handed the counter instead of importing metrics.
counter: Callable[[str, int], None] | None = None

_logged: set[str] = set()
_logged_lock = threading.Lock()


ExcInfo = bool | tuple[type[BaseException], BaseException, TracebackType | None]


def report(
    component: str, *, count: int = 1, message: str | None = None, exc_info: ExcInfo = True, level: int = logging.WARNING, once: bool = True
) -> None:
    """Count ``count`` failures of ``component``; log the first one of this process (every one when not ``once``). Never raises."""
    try:
        if counter is not None:
            counter(component, count)
    except Exception:  # counting must not be the thing that breaks the caller
        pass
    with _logged_lock:
        if once and component in _logged:
            return
        _logged.add(component)
    try:
        logger.log(
            level,
            "%s (component %s; logged once per process, counted in observe_internal_errors_total).",
            message or "django-observe failed internally; the host's work went on without it",
            component,
            exc_info=exc_info,
        )
    except Exception:  # a broken log handler: nothing more we can do
        pass


def logged_components() -> frozenset[str]:
    """The components whose first failure was logged in this process (for tests and diagnostics)."""
    return frozenset(_logged)


def forget_logged() -> None:
    """Log the next failure of every component again (tests)."""
    with _logged_lock:
        _logged.clear()


class Guard:
    """``with Guard("health"):`` swallows, counts and logs once any ``Exception`` raised in the block."""

    __slots__ = ("component", "message", "count")

    def __init__(self, component: str, message: str | None = None, count: int = 1) -> None:
        self.component = component
        self.message = message
        self.count = count

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> bool:
        if kind is None or not issubclass(kind, Exception):
            return False  # nothing failed, or KeyboardInterrupt/SystemExit: let it through
        # __exit__ runs outside the `except` block: hand the exception over explicitly.
        report(self.component, count=self.count, message=self.message, exc_info=(kind, error, traceback) if error is not None else True)
        return True


def guard(component: str, message: str | None = None) -> Guard:
    """A new ``Guard`` for ``component`` (keep one per call site on hot paths)."""
    return Guard(component, message)
