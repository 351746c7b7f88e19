"""The private APIs of other libraries we rely on (django_observe/_compat.py), pinned to the supported versions.

If an upgrade of Django, structlog or django-health-check renames one of them, these tests fail
here, with the name of the function to fix, instead of somewhere deep in a request.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import structlog
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from django_observe import _compat


@pytest.mark.django_db  # closing a response sends request_finished, which closes old DB connections
def test_response_closers_run_when_the_server_closes_the_response() -> None:
    calls: list[str] = []
    response = HttpResponse(b"ok")
    _compat.add_response_closer(response, lambda: calls.append("closed"))
    assert calls == []
    response.close()
    assert calls == ["closed"]


def test_evaluated_user_never_evaluates_a_lazy_user() -> None:
    request = RequestFactory().get("/")
    evaluated: list[bool] = []

    def load() -> AnonymousUser:
        evaluated.append(True)
        return AnonymousUser()

    request.user = SimpleLazyObject(load)
    assert _compat.evaluated_user(request) is None and evaluated == []
    assert request.user.is_authenticated is False  # the view evaluates it
    assert isinstance(_compat.evaluated_user(request), AnonymousUser)


@pytest.mark.asyncio
async def test_evaluated_user_sees_the_user_cached_by_auser() -> None:
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    assert _compat.evaluated_user(request) is None
    user = await request.auser()
    assert _compat.evaluated_user(request) is user


def test_existing_cache_never_creates_one() -> None:
    caches["default"].get("observe-compat")  # this thread has the default cache now
    assert _compat.existing_cache(caches, "default") is caches["default"]
    assert _compat.existing_cache(caches, "no-such-alias") is None


def test_file_values_write_what_prometheus_client_reads(tmp_path: Path) -> None:
    """FileValue adds to prometheus_client's multiprocess values exactly as inc()/observe() would."""
    import subprocess
    import sys

    script = """
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from django_observe import _compat
counter = Counter("jobs", "d", ["kind"]).labels("a")
gauge = Gauge("busy", "d", multiprocess_mode="livesum")
histogram = Histogram("took", "d", buckets=(0.1, 1.0))
assert _compat.file_value(counter) is not None and _compat.file_value(gauge) is not None
total, buckets, bounds = _compat.histogram_file_values(histogram)
assert bounds[:2] == [0.1, 1.0] and len(buckets) == 3
counter.inc(2)
_compat.file_value(counter).add(3.0)
_compat.file_value(gauge).add(1.0)
total.add(0.5); buckets[1].add(1.0)
histogram.observe(0.05)
_compat.reset_after_fork(counter)
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=sys.argv[1])
print({s.name + str(sorted(s.labels.items())): s.value for f in registry.collect() for s in f.samples})
"""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    found = ast.literal_eval(result.stdout)
    assert found["jobs_total[('kind', 'a')]"] == 5
    assert found["busy[]"] == 1
    assert found["took_sum[]"] == 0.55
    assert (found["took_bucket[('le', '0.1')]"], found["took_bucket[('le', '1.0')]"], found["took_count[]"]) == (1, 2, 2)


def test_no_file_values_in_single_process_mode() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    assert _compat.file_value(Counter("single_c", "d", registry=registry)) is None
    assert _compat.histogram_file_values(Histogram("single_h", "d", registry=registry)) is None


def test_structlog_context_flag_follows_binding() -> None:
    structlog.contextvars.bind_contextvars(observe_compat="1")
    try:
        assert _compat.structlog_context_used() is True
    finally:
        structlog.contextvars.unbind_contextvars("observe_compat")


@pytest.mark.django_db
def test_select_one_compiles_on_this_backend() -> None:
    compiler = connection.ops.compiler("SQLCompiler")(_compat.select_one(), connection, None)
    with connection.cursor() as cursor:
        cursor.execute(*compiler.compile(_compat.select_one()))
        assert cursor.fetchone()[0] == 1


def test_metric_children_take_prometheus_clients_value_class_when_created(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import Counter, values

    created: list[str] = []

    class Recording(values.MutexValue):
        def __init__(self, *args: object, **kwargs: object) -> None:
            created.append(str(args[2]))
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(values, "ValueClass", Recording)
    Counter("compat_probe", "A probe of ValueClass.", registry=None).inc()
    assert created == ["compat_probe_total"]
    _compat.keep_metric_values_in_memory()
    assert values.ValueClass is values.MutexValue
