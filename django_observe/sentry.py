"""sentry-sdk, configured from OBSERVE: ``sentry_sdk.init``, its integrations, and adopting a client someone else made.

``ObserveConfig.ready()`` calls ``init_sentry()``; it chooses the SDK client our events go
through and hands it to ``errors.capture``, which owns the ``before_send`` hook feeding the
local store and the lean capture path (``capture_exception``, ``capture_message``, the
root-logger handler, the ``got_request_exception`` receiver; re-exported here).

Cost: sentry-sdk's DjangoIntegration forks a scope, wraps WSGI, resolves the URL again
and records a log breadcrumb on EVERY request, about 0.7 ms even with no DSN. We pay it
only where it buys something (tracing/profiling: ``SENTRY_INTEGRATIONS="auto"``).
Otherwise ("lean") the SDK runs without those integrations and ``errors.capture`` feeds it.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, cast

import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from sentry_sdk.integrations.logging import ignore_logger

from .conf import get_settings
from .errors import capture
from .errors.capture import SKIPPED_LOGGERS, ErrorLogHandler, capture_exception, capture_message, installed
from .guard import report

__all__ = ["SKIPPED_LOGGERS", "ErrorLogHandler", "capture_exception", "capture_message", "init_sentry", "installed"]


class _Init:
    created: Any = None  # the last global client init_sentry() created


_init = _Init()


# --- init --------------------------------------------------------------------------


def _wants_full(mode: str, traces: float, profiles: float) -> bool:
    if mode == "full":
        return True
    if mode == "lean":
        return False
    return traces > 0 or profiles > 0


def _full_integrations() -> list[Any]:
    """sentry-sdk's own integrations with the costly spans off (getsentry/sentry-python#2122)."""
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    integrations: list[Any] = [
        DjangoIntegration(transaction_style="url", middleware_spans=False, signals_spans=False, cache_spans=False),
        LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
    ]
    try:
        from sentry_sdk.integrations.celery import CeleryIntegration

        integrations.append(CeleryIntegration(monitor_beat_tasks=False))
    except Exception:  # celery not installed: DidNotEnable / ImportError
        pass
    return integrations


def _lean_integrations(with_transport: bool) -> list[Any]:
    """No per-request or per-log-record work: only what runs at exit or on a crash."""
    from sentry_sdk.integrations.atexit import AtexitIntegration
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.excepthook import ExcepthookIntegration

    # Not ArgvIntegration: command lines carry passwords often enough.
    integrations: list[Any] = [DedupeIntegration(), ExcepthookIntegration()]
    if with_transport:
        integrations.append(AtexitIntegration())  # send what is queued before the process exits
    return integrations


def _check_options(options: dict[str, Any]) -> None:
    if "data_collection" in options:
        raise ImproperlyConfigured(
            "init_sentry(data_collection=...) is not allowed: sentry-sdk then turns its EventScrubber off, and "
            "passwords in request bodies and local variables reach Sentry unfiltered. "
            "Use OBSERVE['SENTRY_SEND_DEFAULT_PII'] for user data instead."
        )
    if "event_scrubber" in options and not options["event_scrubber"]:
        raise ImproperlyConfigured(
            "init_sentry(event_scrubber=None) is not allowed: it turns the SDK's scrubbing of passwords, "
            "cookies and tokens off. Pass an EventScrubber(denylist=...) to extend it instead."
        )


def init_sentry(**options: Any) -> None:
    """Initialise sentry-sdk from OBSERVE (``SENTRY_*``, ``ENVIRONMENT``, ``VERSION``) and hook the local store.

    Called by ``ObserveConfig.ready()``. Keyword arguments are passed to
    ``sentry_sdk.init`` and win over the settings (e.g. ``integrations=[...]``,
    ``before_send=my_hook``); options that would switch the SDK's scrubber off are
    refused with ImproperlyConfigured. With ``SENTRY_ENABLED=False`` the SDK is left
    alone: a client someone else initialised is hooked into (its ``before_send`` chained);
    without one, errors are still built and scrubbed by a private, local-only client.
    Safe to call again (tests, or a host re-initialising with other options).
    """
    _check_options(options)
    conf = get_settings()
    user_hook = options.pop("before_send", None)
    if user_hook is None and conf.SENTRY_BEFORE_SEND:
        try:
            user_hook = import_string(conf.SENTRY_BEFORE_SEND)
        except ImportError:
            # E042 in `manage.py check`. The hook may be the host's own scrubbing: without it,
            # nothing goes to Sentry (events are still stored locally, scrubbed by us).
            report(
                "sentry_setup",
                message=f"OBSERVE['SENTRY_BEFORE_SEND'] = {conf.SENTRY_BEFORE_SEND!r} cannot be imported, so nothing is sent to Sentry",
                exc_info=False,
                level=logging.ERROR,
            )
            options["dsn"] = ""
    current = sentry_sdk.get_client()
    foreign = current.is_active() and current is not _init.created
    if not conf.SENTRY_ENABLED or (foreign and not options):
        if foreign:
            _adopt(current, user_hook)
        else:
            capture.install(_private_client(conf), ours=False, user_before_send=user_hook, requests=True, logs=True)
        return
    traces = float(options.get("traces_sample_rate", conf.SENTRY_TRACES_SAMPLE_RATE))
    profiles = float(options.get("profiles_sample_rate", conf.SENTRY_PROFILES_SAMPLE_RATE))
    full = _wants_full(str(conf.SENTRY_INTEGRATIONS).lower(), traces, profiles)
    dsn = options.pop("dsn", conf.SENTRY_DSN) or None
    kwargs: dict[str, Any] = {
        # "" rather than None: given None, sentry-sdk reads SENTRY_DSN from the environment itself,
        # bypassing our validation (a bad DSN would raise here) and SENTRY_ENABLED.
        "dsn": dsn or "",
        "environment": conf.SENTRY_ENVIRONMENT or None,
        "release": conf.VERSION if conf.VERSION != "unknown" else None,
        # None, not 0.0: any number switches the SDK's tracing machinery on, even at 0.
        "traces_sample_rate": traces or None,
        "profiles_sample_rate": profiles or None,
        "before_send": capture.before_send,
        "auto_enabling_integrations": full,
        "default_integrations": full,
        "integrations": _full_integrations() if full else _lean_integrations(dsn is not None),
        "max_request_body_size": "medium",
    }
    kwargs.update(options)
    with warnings.catch_warnings():
        # send_default_pii is deprecated in favour of data_collection, which switches the
        # scrubber off (see _check_options): the deprecated switch is the safe one.
        warnings.simplefilter("ignore", DeprecationWarning)
        if conf.SENTRY_SEND_DEFAULT_PII:
            kwargs.setdefault("send_default_pii", True)
        sentry_sdk.init(**kwargs)
    client = _init.created = sentry_sdk.get_client()
    _ignore_our_loggers()
    capture.install(
        client,
        ours=True,
        user_before_send=user_hook,
        requests=client.get_integration("django") is None,
        logs=client.get_integration("logging") is None,
    )


def _private_client(conf: Any) -> Any:
    """A client that is never bound to the global scope: it only builds, scrubs and hands events to us."""
    return sentry_sdk.Client(
        dsn="",  # never None: sentry-sdk would read SENTRY_DSN from the environment and send
        environment=conf.SENTRY_ENVIRONMENT or None,
        release=conf.VERSION if conf.VERSION != "unknown" else None,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[],
        before_send=cast(Any, capture.before_send),  # sentry-sdk types events as a TypedDict; ours are plain dicts
        max_request_body_size="medium",
    )


def _adopt(client: Any, user_hook: capture.BeforeSend | None) -> None:
    """Someone else initialised sentry-sdk: chain our hook into theirs and capture what they do not."""
    existing = client.options.get("before_send")
    if existing is not capture.before_send:
        if user_hook is None:
            user_hook = existing
        client.options["before_send"] = capture.before_send
    elif user_hook is None:
        user_hook = capture.user_before_send()  # adopted before: keep the host's hook we chained then
    _ignore_our_loggers()
    capture.install(
        client,
        ours=False,
        user_before_send=user_hook,
        requests=client.get_integration("django") is None,
        logs=client.get_integration("logging") is None,
    )


def _ignore_our_loggers() -> None:
    """sentry-sdk's LoggingIntegration must not capture what ``errors.capture`` never captures either."""
    for name in SKIPPED_LOGGERS:
        ignore_logger(name)
        ignore_logger(name + ".*")
