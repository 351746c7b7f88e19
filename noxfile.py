"""The test matrix: Python 3.11 + Django 5.2 and Python 3.12 + Django 6.x, each on SQLite and PostgreSQL.

Run through scripts/test.sh (it installs system tools and starts the services first).
"""

from __future__ import annotations

import os

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

MATRIX = [("3.11", "Django>=5.2,<5.3"), ("3.12", "Django>=6.0,<7")]


@nox.session
@nox.parametrize("python,django", MATRIX, ids=["py311-dj52", "py312-dj6"])
@nox.parametrize("database", ["sqlite", "postgres"])
def tests(session: nox.Session, django: str, database: str) -> None:
    """The whole suite, integration tests included, on one Python/Django/database combination."""
    session.install("-e", ".[dev]", django)
    # Tests marked `once` (slow, independent of backend and version) run in the first combination only.
    env = {"OBSERVE_REQUIRE_SERVICES": "1", "OBSERVE_RUN_ONCE": "1" if (django, database) == (MATRIX[0][1], "sqlite") else "0"}
    if database == "postgres":
        env.update(DATABASE_URL=os.environ["PG_URL"], OBSERVE_TEST_BACKEND="postgresql")
    else:
        env.update(DATABASE_URL="", OBSERVE_TEST_BACKEND="sqlite")
    session.run("python", "-m", "pytest", *session.posargs, env=env)
