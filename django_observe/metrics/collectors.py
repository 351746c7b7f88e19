"""Scrape-time metrics: uptime, and in multiprocess mode the process metrics of every live worker."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import threading
import time
from collections.abc import Iterable

import psutil
from prometheus_client import REGISTRY, CollectorRegistry, ProcessCollector, multiprocess
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import multiproc
from .definitions import SPECS_BY_NAME

logger = logging.getLogger(__name__)

_PID_FILE = re.compile(r"_(\d+)\.db$")
_LIVE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def _started(pid: int | None = None) -> float:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return time.time()


_PROCESS_STARTED = _started()


class UptimeCollector(Collector):
    """``uptime_seconds`` of this process (single-process mode); one per metric name (namespace)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, core_doc("uptime_seconds"))]

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(self.name, core_doc("uptime_seconds"), value=max(time.time() - _PROCESS_STARTED, 0.0))


def core_doc(name: str) -> str:
    return SPECS_BY_NAME[name].doc


def prefixed(namespace: str, name: str) -> str:
    return f"{namespace}_{name}" if namespace else name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_pids(path: str) -> list[int]:
    """Pids of the workers that wrote metrics into ``path`` and are still running.

    A worker that died without gunicorn's ``child_exit`` hook (uvicorn, a SIGKILL) still
    has its ``gauge_live*`` files: mark it dead here, so ``livesum`` gauges such as
    ``http_requests_in_progress`` do not keep counting its last value forever.
    """
    pids: set[int] = set()
    dead_with_live_files: set[int] = set()
    for file_path in glob.glob(os.path.join(path, "*.db")):
        base = os.path.basename(file_path)
        match = _PID_FILE.search(base)
        if match is None:
            continue
        pid = int(match.group(1))
        if _alive(pid):
            pids.add(pid)
        elif _LIVE_FILE.match(base):
            dead_with_live_files.add(pid)
    for pid in dead_with_live_files:
        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid, path)
    return sorted(pids)


class WorkersCollector(Collector):
    """Multiprocess mode: process metrics of every live worker (label ``pid``) and ``uptime_seconds``."""

    def __init__(self, path: str, namespace: str) -> None:
        self.path = path
        self.uptime_name = prefixed(namespace, "uptime_seconds")

    def describe(self) -> Iterable[Metric]:
        # The family names, so `?name[]=` filtering finds them (prometheus_client keys on these).
        return list(self.collect())

    def collect(self) -> Iterable[Metric]:
        pids = live_pids(self.path)
        if os.getpid() not in pids:
            pids.append(os.getpid())
        families: dict[str, Metric] = {}
        for pid in pids:
            for family in ProcessCollector(pid=lambda pid=pid: pid, registry=None).collect():  # type: ignore[misc]
                merged = families.get(family.name)
                if merged is None:
                    merged = families[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                for sample in family.samples:
                    merged.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from families.values()
        oldest = min((_started(pid) for pid in pids), default=_PROCESS_STARTED)
        yield GaugeMetricFamily(self.uptime_name, core_doc("uptime_seconds"), value=max(time.time() - oldest, 0.0))


class FilesCollector(multiprocess.MultiProcessCollector):
    """prometheus_client's multiprocess collector, reading every file under the directory's shared lock:
    a dead worker's files being folded into the archive (``multiproc.compact``) are counted once."""

    def __init__(self, registry: CollectorRegistry, path: str) -> None:
        super().__init__(registry, path=path)
        self.directory = path

    def collect(self) -> Iterable[Metric]:
        with multiproc.locked(self.directory):
            return list(super().collect())


_registry_lock = threading.Lock()
_multiprocess_registries: dict[tuple[str, str], CollectorRegistry] = {}
#: Collectors computed at scrape time from shared state (e.g. ``auth.ActiveUsersCollector``, from the
#: database): exported in both modes, by whichever worker answers the scrape.
_scrape_time: list[Collector] = []


def add_scrape_time_collector(collector: Collector) -> None:
    """Export ``collector`` on every scrape, single-process and multiprocess alike. Idempotent."""
    with _registry_lock:
        if collector in _scrape_time:
            return
        _scrape_time.append(collector)
        REGISTRY.register(collector)
        for registry in _multiprocess_registries.values():
            registry.register(collector)


def scrape_registry(path: str | None, namespace: str) -> Collector:
    """What /metrics exports: every worker's files under ``path`` (PROMETHEUS_MULTIPROC_DIR) in multiprocess
    mode, with the workers' process metrics named under ``namespace``; else the default registry."""
    if not path:
        return REGISTRY  # our metrics, the uptime collector and prometheus_client's process/gc/platform ones
    with _registry_lock:
        registry = _multiprocess_registries.get((path, namespace))
        if registry is None:
            registry = CollectorRegistry()
            FilesCollector(registry, path=path)
            registry.register(WorkersCollector(path, namespace))
            for collector in _scrape_time:
                registry.register(collector)
            _multiprocess_registries[(path, namespace)] = registry
    return registry
