"""django_observe.gunicorn: the hooks a gunicorn.conf.py imports (the real server: tests/integration)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from django_observe import gunicorn as hooks


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


def test_child_exit_drops_live_gauges_and_keeps_counters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_4242.db", "gauge_livemax_4242.db", "counter_4242.db", "gauge_livesum_4243.db"):
        (tmp_path / name).write_bytes(b"")
    hooks.child_exit(_server(), SimpleNamespace(pid=4242))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db", "gauge_livesum_4243.db"]


def test_star_import_gives_gunicorn_the_hooks() -> None:
    namespace: dict[str, object] = {}
    exec("from django_observe.gunicorn import *", namespace)  # noqa: S102  (what a gunicorn.conf.py does)
    assert namespace["on_starting"] is hooks.on_starting and namespace["child_exit"] is hooks.child_exit
