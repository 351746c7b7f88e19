"""django_observe.gunicorn: the hooks a gunicorn.conf.py imports (the real server: tests/integration)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from django_observe import gunicorn as hooks
from django_observe import multiproc


def _server() -> SimpleNamespace:
    return SimpleNamespace(log=logging.getLogger("test.gunicorn"))


def test_on_starting_empties_only_metric_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_999999999.db").write_bytes(b"old")
    (directory / "histogram_999999999.db").write_bytes(b"old")
    (directory / "notes.txt").write_text("keep me")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    hooks.on_starting(_server())
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_on_starting_creates_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "new"))
    hooks.on_starting(_server())
    assert (tmp_path / "new").is_dir()


def test_on_starting_without_the_dir_warns(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)
    hooks.on_starting(_server())
    assert "PROMETHEUS_MULTIPROC_DIR is not set" in caplog.text


def _dead_pid() -> int:
    """The pid of a process that has exited (and was reaped): no live process writes its files."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


Labels = tuple[tuple[str, str], ...]


def _write(path: Path, values: dict[tuple[str, str, Labels], tuple[float, float]]) -> None:
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    mmaped = MmapedDict(str(path))
    for (metric, sample, labels), (number, timestamp) in values.items():
        mmaped.write_value(mmap_key(metric, sample, [k for k, _ in labels], [v for _, v in labels], "doc"), number, timestamp)
    mmaped.close()


def _scrape(directory: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    from prometheus_client import CollectorRegistry

    from django_observe.metrics.collectors import FilesCollector

    registry = CollectorRegistry()
    FilesCollector(registry, str(directory))
    return {(s.name, frozenset(s.labels.items())): s.value for family in registry.collect() for s in family.samples}


def test_child_exit_drops_live_gauges_and_folds_counters_into_the_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    first, second, alive = _dead_pid(), _dead_pid(), os.getpid()
    get, post = (("method", "GET"),), (("method", "POST"),)
    for pid, n in ((first, 3.0), (second, 4.0), (alive, 5.0)):
        _write(
            tmp_path / f"counter_{pid}.db",
            {("requests", "requests_total", get): (n, 0.0), ("requests", "requests_total", post): (1.0, 0.0)},
        )
        _write(
            tmp_path / f"histogram_{pid}.db",
            {("latency", "latency_bucket", (("le", "0.1"),)): (n, 0.0), ("latency", "latency_sum", ()): (n / 8, 0.0)},
        )
        # the dead workers hold the max, the min and the most recent value: the archive must keep them
        peak, low, stamp = {first: (30.0, 1.0, 200.0), second: (2.0, 7.0, 100.0), alive: (5.0, 5.0, 50.0)}[pid]
        _write(tmp_path / f"gauge_max_{pid}.db", {("peak", "peak", ()): (peak, 0.0)})
        _write(tmp_path / f"gauge_min_{pid}.db", {("low", "low", ()): (low, 0.0)})
        _write(tmp_path / f"gauge_mostrecent_{pid}.db", {("last", "last", ()): (n, stamp)})
        _write(tmp_path / f"gauge_all_{pid}.db", {("info", "info", ()): (n, 0.0)})
        _write(tmp_path / f"gauge_livesum_{pid}.db", {("busy", "busy", ()): (1.0, 0.0)})
    before = _scrape(tmp_path)
    assert before[("requests_total", frozenset(get))] == 12
    assert (before[("peak", frozenset())], before[("low", frozenset())], before[("last", frozenset())]) == (30, 1, 3)

    hooks.child_exit(_server(), SimpleNamespace(pid=first))
    hooks.child_exit(_server(), SimpleNamespace(pid=second))
    assert multiproc.compact(alive, str(tmp_path)) == 0  # a running process (a reused pid): nothing is folded

    after = _scrape(tmp_path)
    busy = ("busy", frozenset())
    assert before.pop(busy) == 3 and after.pop(busy) == 1  # dead workers' live gauges stop counting
    # every total, bucket, max, min, most recent value and per-pid "all" gauge unchanged (sums exact in binary: any order adds the same)
    assert after == before
    assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(
        [
            "counter_archive.db", "histogram_archive.db", "gauge_max_archive.db", "gauge_min_archive.db", "gauge_mostrecent_archive.db",
            f"gauge_all_{first}.db", f"gauge_all_{second}.db",
            *(f"{kind}_{alive}.db"
              for kind in ("counter", "histogram", "gauge_max", "gauge_min", "gauge_mostrecent", "gauge_all", "gauge_livesum")),
        ]
    )  # fmt: skip
    # on_starting's wipe removes the archive with the other files of the run
    hooks.wipe_multiproc_dir(str(tmp_path))
    assert not list(tmp_path.glob("*_archive.db"))


def test_child_exit_survives_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    pid = _dead_pid()
    (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    hooks.child_exit(_server(), SimpleNamespace(pid=pid))
    assert sorted(p.name for p in tmp_path.glob("*.db")) == [f"counter_{pid}.db"]  # kept, so still counted
    assert "could not fold the metric files" in caplog.text


def test_star_import_gives_gunicorn_the_hooks() -> None:
    namespace: dict[str, object] = {}
    exec("from django_observe.gunicorn import *", namespace)
    assert namespace["on_starting"] is hooks.on_starting and namespace["child_exit"] is hooks.child_exit
    assert namespace["worker_exit"] is hooks.worker_exit
