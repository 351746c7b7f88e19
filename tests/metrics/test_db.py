"""Database metrics through execute_wrapper: counts, duration, errors and connection gauges."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, connections

from django_observe.metrics import db
from testproject.demo.models import Item

from .conftest import observe
from .helpers import samples, scrape_text, value

pytestmark = pytest.mark.django_db


def _labels() -> dict[str, str]:
    return {"alias": "default", "vendor": connection.vendor}


def test_queries_and_their_duration_are_counted() -> None:
    before = samples(scrape_text())
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute("SELECT 1")
        cursor.executemany("SELECT %s", [(1,)]) if connection.vendor == "postgresql" else cursor.execute("SELECT 2")
    list(Item.objects.all())
    after = samples(scrape_text())
    labels = _labels()
    assert value(after, "database_queries_total", **labels) - value(before, "database_queries_total", **labels) == 7
    count = "database_query_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 7


def test_a_failing_query_counts_as_an_error_and_still_raises() -> None:
    before = samples(scrape_text())
    with pytest.raises(DatabaseError):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_observe")
    after = samples(scrape_text())
    labels = _labels()
    assert value(after, "database_errors_total", **labels) - value(before, "database_errors_total", **labels) == 1
    assert value(after, "database_queries_total", **labels) - value(before, "database_queries_total", **labels) == 1


def test_metrics_database_off_counts_nothing() -> None:
    with observe(METRICS_DATABASE=False):
        before = samples(scrape_text())
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        after = samples(scrape_text())
    labels = _labels()
    assert value(after, "database_queries_total", **labels) == value(before, "database_queries_total", **labels)


def test_wrapper_survives_a_connection_opened_inside_a_users_execute_wrapper_block() -> None:
    seen: list[str] = []

    def users_wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    fresh = connections.create_connection("default")
    try:
        with fresh.execute_wrapper(users_wrapper):
            with fresh.cursor() as cursor:  # connects here: connection_created installs ours
                cursor.execute("SELECT 1")
        assert seen == ["SELECT 1"]
        assert fresh.execute_wrappers == [db.execute_wrapper]
    finally:
        fresh.close()


def test_connection_gauges_tell_idle_from_active() -> None:
    import gc

    gc.collect()  # connections of threads earlier tests ended must not vanish between the two counts
    fresh = connections.create_connection("default")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SELECT 1")
        active, idle = db.connection_counts()["default"]
        fresh.set_autocommit(False)
        fresh.in_atomic_block = True  # what atomic() does on that connection's own thread
        active_in_tx, idle_in_tx = db.connection_counts()["default"]
        fresh.in_atomic_block = False
        fresh.rollback()
        fresh.set_autocommit(True)
        assert active_in_tx == active + 1 and idle_in_tx == idle - 1
        found = samples(scrape_text())
        assert value(found, "db_connections_idle", alias="default") >= 1
    finally:
        fresh.close()
    # A closed connection is no longer counted (SQLite ignores close() of an in-memory test database).
    assert db.connection_counts()["default"][1] == (idle - 1 if fresh.connection is None else idle)


def test_connection_gauges_follow_the_counts_up_and_back_down() -> None:
    """Unchanged gauge values are not written again; a value that changes, and changes back, is."""
    import gc

    gc.collect()

    def scraped() -> tuple[float, float]:
        found = samples(scrape_text())
        return value(found, "db_connections_active", alias="default"), value(found, "db_connections_idle", alias="default")

    def counted() -> tuple[int, int]:
        return db.connection_counts()["default"]

    start = scraped()
    assert start == counted()
    fresh = connections.create_connection("default")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SELECT 1")
        opened = scraped()
        assert opened == counted() and opened[1] == start[1] + 1
        fresh.in_atomic_block = True  # busy: idle -> active
        busy = scraped()
        assert busy == counted() and busy == (opened[0] + 1, opened[1] - 1)
        fresh.in_atomic_block = False
        assert scraped() == opened  # back to the earlier value: written again
    finally:
        fresh.close()


def test_pool_gauges_come_from_the_psycopg_pool(postgres_url: str) -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    from testproject.settings import database_from_url

    alias = "observe_pool_test"
    config = {**database_from_url(postgres_url), "OPTIONS": {"pool": {"min_size": 2, "max_size": 4, "timeout": 5}}}
    completed = connections.configure_settings({"default": dict(config), alias: config})[alias]
    wrapper = DatabaseWrapper(completed, alias=alias)
    try:
        wrapper.pool.open(wait=True, timeout=10)  # min_size connections ready (while opening they count as active)
        with wrapper.cursor() as cursor:  # checks one connection out of the pool
            cursor.execute("SELECT 1")
        stats = wrapper.pool.get_stats()
        active, idle = db.connection_counts()[alias]
        assert active == 1
        assert active + idle == stats["pool_size"] >= 2
        wrapper.close()  # back to the pool
        active, idle = db.connection_counts()[alias]
        assert active == 0 and idle == wrapper.pool.get_stats()["pool_size"]
        found = samples(scrape_text())
        assert value(found, "db_connections_idle", alias=alias) == idle
        assert value(found, "db_connections_active", alias=alias) == 0
    finally:
        wrapper.close()
        wrapper.close_pool()
