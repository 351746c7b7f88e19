"""Per-request (and per-task) context: request id, user id, task id.

Plain ``contextvars``, so every thread and every asyncio task sees only its own
values. The logging processor ``add_context`` reads them into each log line;
``metrics``, ``errors`` and ``celery`` read them with the getters below.
Host code that binds more keys with ``structlog.contextvars.bind_contextvars``
(as django-structlog's signal receivers do) is cleared by ``bind_request`` too.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from typing import Any

import structlog

from ._compat import evaluated_user, structlog_context_used

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("django_observe_request_id", default=None)
user_id_var: ContextVar[Any] = ContextVar("django_observe_user_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("django_observe_task_id", default=None)
task_name_var: ContextVar[str | None] = ContextVar("django_observe_task_name", default=None)
# The request being served, so log lines written after authentication ran can carry
# its user id without anyone binding it (and without forcing a session lookup).
request_var: ContextVar[Any] = ContextVar("django_observe_request", default=None)


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A fresh request id: a random uuid4 as 32 lowercase hex characters.

    A request id must be unique, not secret: ``random`` (reseeded in each forked worker by
    CPython) gives 128 bits without the ``os.urandom`` syscall of ``uuid.uuid4()``, and the
    version and variant bits are set as uuid4 sets them.
    """
    value = (random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET
    return f"{value:032x}"


def valid_request_id(value: str | None) -> bool:
    """True when an incoming id is safe to keep: 1-128 of ``A-Za-z0-9._:-`` and nothing else."""
    return bool(value) and REQUEST_ID_PATTERN.fullmatch(value) is not None  # type: ignore[arg-type]


def get_request_id() -> str | None:
    """The request id of the current request or task, or None outside one."""
    return request_id_var.get()


def get_user_id() -> Any:
    """The user id bound for this request, or the id of its user once authentication has run."""
    user_id = user_id_var.get()
    if user_id is None:
        request = request_var.get()
        if request is not None:
            user_id = user_id_from_request(request)
    return user_id


def user_id_from_request(request: Any) -> Any:
    """The authenticated user's pk, without triggering a session or database lookup.

    ``request.user`` is a lazy object until something evaluates it; evaluating it here
    would add a query to every request and raise in async views, so an unevaluated
    user counts as unknown. Async views authenticate with ``await request.auser()``,
    which caches the user in ``_acached_user`` instead.
    """
    user = evaluated_user(request)
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "pk", None)
    return None


def _clear_structlog_context() -> None:
    """Forget keys bound with structlog.contextvars (e.g. by django-structlog receivers).

    structlog's clear_contextvars() walks the whole context; when nothing was ever bound in
    this process (the common case) there is nothing to clear.
    """
    if structlog_context_used():
        structlog.contextvars.clear_contextvars()


def _unset(var: ContextVar[Any]) -> None:
    # A set() is a new context mapping; most of these are None already (a request binds no task).
    if var.get() is not None:
        var.set(None)


def bind_request(request_id: str, request: Any = None) -> None:
    """Start a request's context: its id, no user yet, nothing left from the previous one."""
    _clear_structlog_context()
    request_id_var.set(request_id)
    _unset(user_id_var)
    request_var.set(request)
    _unset(task_id_var)
    _unset(task_name_var)


def bind_user_id(user_id: Any) -> None:
    """Bind the current user id explicitly (e.g. after token authentication in an API view)."""
    user_id_var.set(user_id)


def bind_task(task_id: str | None, task_name: str | None, request_id: str | None) -> None:
    """Start a Celery task's context: the request id it was published under, its id and name."""
    _clear_structlog_context()
    request_id_var.set(request_id)
    _unset(user_id_var)
    _unset(request_var)
    task_id_var.set(task_id)
    task_name_var.set(task_name)


def clear() -> None:
    """Forget the current request or task (after its response was sent or the task ended)."""
    _clear_structlog_context()
    for var in (request_id_var, user_id_var, request_var, task_id_var, task_name_var):
        _unset(var)
