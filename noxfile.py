"""The test matrix: Python 3.11 + Django 5.2 and Python 3.12 + Django 6.x, each on SQLite and PostgreSQL.

Run through scripts/test.sh (it installs system tools and starts the services first).
"""

from __future__ import annotations

import os

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

MATRIX = [("3.11", "Django>=5.2,<5.3"), ("3.12", "Django>=6.0,<7")]


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy with django-stubs, clean; runs before the matrix."""
    session.install("-e", ".[dev]", MATRIX[0][1])
    session.run("ruff", "check", "django_observe", "tests", "testproject", "noxfile.py")
    session.run("ruff", "format", "--check", "django_observe", "tests", "testproject", "noxfile.py")
    session.run("mypy", "django_observe")


@nox.session
@nox.parametrize("python,django", MATRIX, ids=["py311-dj52", "py312-dj6"])
@nox.parametrize("database", ["sqlite", "postgres"])
def tests(session: nox.Session, django: str, database: str) -> None:
    """The suite on one Python/Django/database combination.

    Python 3.11 + Django 5.2 runs everything, on SQLite and on PostgreSQL (integration tests with real
    servers, workers, Prometheus, Alertmanager and Chromium included); tests marked `once` (slow and
    independent of backend and version) run in its SQLite combination only. Python 3.12 + Django 6.x
    runs every test that is not `integration`, on both databases: the same code paths, in-process.
    """
    session.install("-e", ".[dev]", django)
    first = django == MATRIX[0][1]
    env = {
        "OBSERVE_REQUIRE_SERVICES": "1",
        "OBSERVE_RUN_ONCE": "1" if first and database == "sqlite" else "0",
        "OBSERVE_INTEGRATION": "1" if first else "0",
    }
    if database == "postgres":
        env.update(DATABASE_URL=os.environ["PG_URL"], OBSERVE_TEST_BACKEND="postgresql")
    else:
        env.update(DATABASE_URL="", OBSERVE_TEST_BACKEND="sqlite")
    session.run("python", "-m", "pytest", *session.posargs, env=env)
