"""Multiprocess mode: the per-request writes go straight to the files, exact under threads and across a fork."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys, threading
import django
django.setup()
from django_observe.metrics import core

from django.db import connection

def serve(count, duration):
    for _ in range(count):
        core.request_started()
        core.request_finished("GET", "x/", 200, duration, False, None)

def query(count):
    with connection.cursor() as cursor:
        for _ in range(count):
            cursor.execute("SELECT 1")

assert core.get_metrics().request_files is not None, "the direct writes are in use"
threads = [threading.Thread(target=serve, args=(500, 0.003)) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
core.request_started()  # one request still in flight in this process
query(7)
connection.close()
pid = os.fork()
if pid == 0:  # a worker forked after requests were counted: its own files, nothing counted twice
    query(5)  # before any request of its own: the queries notice the fork themselves
    serve(300, 0.2)
    os._exit(0)
os.waitpid(pid, 0)
serve(100, 0.003)  # the parent goes on after the fork: both processes' counts must add up
query(3)

from prometheus_client import CollectorRegistry, multiprocess
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=sys.argv[1])
print({(s.name, s.labels.get("le")): s.value for f in registry.collect() for s in f.samples
       if s.labels.get("endpoint") == "x/" or s.name in ("http_requests_in_progress", "database_queries_total")})
"""


def test_counts_are_exact_under_threads_and_across_a_fork(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "testproject.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    found = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert found[("http_requests_total", None)] == 2400
    assert found[("http_request_duration_seconds_count", None)] == 2400
    assert found[("http_request_duration_seconds_bucket", "0.005")] == 2100  # 3 ms: the first bucket, as observe() puts it
    assert found[("http_request_duration_seconds_bucket", "0.1")] == 2100
    assert found[("http_request_duration_seconds_bucket", "0.25")] == 2400  # 200 ms
    assert round(found[("http_request_duration_seconds_sum", None)], 6) == round(2100 * 0.003 + 300 * 0.2, 6)
    assert found[("database_queries_total", None)] == 15
    assert found[("http_requests_in_progress", None)] == 1  # the parent's request in flight; the child's all ended
