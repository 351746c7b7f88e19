"""The error writer's own database connection, with deadlines: a database that hangs becomes an error, never a wait.

The writer thread (``intake``) opens its own connection to ``ERRORS_DATABASE`` (Django's
connections are per thread). Before each batch, ``bound()`` gives that connection -- and
no other: the request threads' connections keep the host's settings -- these deadlines:

- connecting: ``CONNECT_TIMEOUT`` seconds (PostgreSQL's ``connect_timeout``; a server that
  accepts the TCP connection and never answers otherwise holds the writer for minutes);
- each statement and each lock wait: ``STATEMENT_TIMEOUT`` seconds (PostgreSQL's
  ``statement_timeout`` and ``lock_timeout``, set with ``SET LOCAL`` in the writer's own
  transactions only, so it works behind PgBouncer in transaction mode too);
- SQLite's busy timeout: ``STATEMENT_TIMEOUT`` seconds at most (another connection holding
  ``BEGIN EXCLUSIVE``).

The host's own values win when they are shorter. Other backends get no deadline here;
the shutdown bound (``intake``) still holds for them.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from ..guard import Guard

#: Seconds the writer waits for a connection (psycopg and libpq treat less than 2 as 2).
CONNECT_TIMEOUT = 3
#: Seconds one statement (or one lock wait) of the writer may take.
STATEMENT_TIMEOUT = 3.0

_CLOSE_GUARD = Guard("errors_writer", "Could not close the error writer's database connection")


def bound(alias: str) -> None:
    """Give this thread's connection to ``alias`` the writer's deadlines (see the module docstring).

    Only the settings of this thread's connection object change (a copy of the alias's
    settings); they take effect at its next connect.
    """
    wrapper = connections[alias]
    current: dict[str, Any] = wrapper.settings_dict
    options = dict(current.get("OPTIONS") or {})
    if wrapper.vendor == "postgresql":
        options["connect_timeout"] = _shorter(options.get("connect_timeout"), CONNECT_TIMEOUT, integer=True)
    elif wrapper.vendor == "sqlite":
        options["timeout"] = _shorter(options.get("timeout"), STATEMENT_TIMEOUT)
    else:
        return
    if options != current.get("OPTIONS"):
        wrapper.settings_dict = {**current, "OPTIONS": options}


def limit_statements(alias: str) -> None:
    """Inside the writer's transaction: PostgreSQL cancels a statement or a lock wait after ``STATEMENT_TIMEOUT``."""
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql":
        return
    milliseconds = str(int(STATEMENT_TIMEOUT * 1000))
    with wrapper.cursor() as cursor:
        # set_config(..., true) is SET LOCAL: it ends with the transaction, on any pooler.
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)", [milliseconds, milliseconds]
        )


def close(alias: str) -> None:
    """Close this thread's connection to ``alias`` (the writer's own; a burst of errors reconnects once)."""
    with _CLOSE_GUARD:
        connections[alias].close()


def worth_retrying(error: Exception) -> bool:
    """SQLite's "database is locked" and PostgreSQL's deadlock: another writer was in the way, not a broken database."""
    text = str(error).lower()
    return "locked" in text or "deadlock" in text


def _shorter(configured: Any, ours: float, integer: bool = False) -> Any:
    try:
        value = float(configured)
    except (TypeError, ValueError):
        value = 0.0
    chosen = value if 0 < value < ours else ours
    return int(chosen) if integer else chosen
