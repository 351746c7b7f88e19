"""What this process served recently, read from its own Prometheus metrics: request rate, 5xx ratio, p95, per endpoint.

For the admin overview, which has no Prometheus to ask. Counters only ever grow, so "the last
hour" is the difference between now and a snapshot taken about an hour ago. Snapshots are taken
when someone asks (at most one a minute, the last ~90 minutes kept): no thread, no cost per
request. A process younger than an hour needs none (its counters started at zero); an older one
whose first snapshot is recent reports the shorter window it can vouch for, and says so.

In Prometheus multiprocess mode each worker only knows its own requests, so there is no answer
here: ``summary()`` says so, and the numbers are in Prometheus / Grafana instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import psutil

from .core import get_metrics, multiprocess_dir

WINDOW_SECONDS = 3600.0
SNAPSHOT_EVERY = 60.0
TOP_ENDPOINTS = 8

Series = tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """Counter values at one moment: requests by (method, endpoint, status), latency buckets and slow requests by endpoint."""

    at: float
    requests: dict[Series, float] = field(default_factory=dict)
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)


@dataclass
class EndpointTraffic:
    endpoint: str
    requests: int
    errors: int
    p95_seconds: float | None
    slow: int


@dataclass
class Traffic:
    """The answer for the overview. ``unavailable`` is set (and nothing else is) when there is no answer."""

    unavailable: str = ""
    seconds: float = 0.0
    since_start: bool = False
    requests: int = 0
    errors: int = 0
    slow: int = 0
    p95_seconds: float | None = None
    endpoints: list[EndpointTraffic] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        return self.requests / (self.seconds / 60) if self.seconds > 0 else 0.0

    @property
    def error_ratio(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def minutes(self) -> int:
        return max(1, round(self.seconds / 60))


_history: deque[Snapshot] = deque(maxlen=int(1.5 * WINDOW_SECONDS / SNAPSHOT_EVERY))
_lock = threading.Lock()
_STARTED = psutil.Process().create_time()


def take() -> Snapshot:
    """The current values of this process's request metrics."""
    metrics = get_metrics()
    snapshot = Snapshot(at=time.time())
    for family in metrics.requests.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                snapshot.requests[(labels["method"], labels["endpoint"], labels["status_code"])] = sample.value
    for family in metrics.duration.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets = snapshot.buckets.setdefault(sample.labels["endpoint"], {})
                buckets[bound] = buckets.get(bound, 0.0) + sample.value  # summed over methods
    for family in metrics.slow.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                endpoint = sample.labels["endpoint"]
                snapshot.slow[endpoint] = snapshot.slow.get(endpoint, 0.0) + sample.value
    return snapshot


def summary(now: float | None = None) -> Traffic:
    """Requests of about the last hour in this process (see the module docstring for what "about" means)."""
    if multiprocess_dir():
        return Traffic(unavailable="multiprocess")
    current = take()
    now = now if now is not None else current.at
    with _lock:
        if not _history or current.at - _history[-1].at >= SNAPSHOT_EVERY:
            _history.append(current)
        baseline = _baseline(now)
    if baseline is None:
        return _difference(Snapshot(at=_STARTED), current, since_start=True)
    return _difference(baseline, current, since_start=False)


def _baseline(now: float) -> Snapshot | None:
    """The newest snapshot at least an hour old, else the oldest one; None while the process is younger than an hour."""
    if now - _STARTED <= WINDOW_SECONDS:
        return None
    old_enough = [snapshot for snapshot in _history if now - snapshot.at >= WINDOW_SECONDS]
    if old_enough:
        return old_enough[-1]
    oldest = _history[0]
    return oldest if now - oldest.at >= SNAPSHOT_EVERY else None  # None: a lifetime average, labelled as such


def _grown(before: float, after: float) -> float:
    """Counter increase; a counter that went down was re-created, and counts from zero (like Prometheus' rate())."""
    return after - before if after >= before else after


def _difference(before: Snapshot, after: Snapshot, since_start: bool) -> Traffic:
    traffic = Traffic(seconds=max(after.at - before.at, 1.0), since_start=since_start)
    per_endpoint: dict[str, EndpointTraffic] = {}
    for series, value in after.requests.items():
        count = int(round(_grown(before.requests.get(series, 0.0), value)))
        if not count:
            continue
        _, endpoint, status = series
        row = per_endpoint.setdefault(endpoint, EndpointTraffic(endpoint, 0, 0, None, 0))
        row.requests += count
        if status.startswith("5"):
            row.errors += count
    everything: dict[float, float] = {}
    for endpoint, buckets in after.buckets.items():
        grown = {bound: _grown(before.buckets.get(endpoint, {}).get(bound, 0.0), value) for bound, value in buckets.items()}
        for bound, value in grown.items():
            everything[bound] = everything.get(bound, 0.0) + value
        if endpoint in per_endpoint:
            per_endpoint[endpoint].p95_seconds = quantile(0.95, grown)
    for endpoint, value in after.slow.items():
        count = int(round(_grown(before.slow.get(endpoint, 0.0), value)))
        traffic.slow += count
        if endpoint in per_endpoint:
            per_endpoint[endpoint].slow = count
    traffic.requests = sum(row.requests for row in per_endpoint.values())
    traffic.errors = sum(row.errors for row in per_endpoint.values())
    traffic.p95_seconds = quantile(0.95, everything)
    traffic.endpoints = sorted(per_endpoint.values(), key=lambda row: (-row.requests, row.endpoint))[:TOP_ENDPOINTS]
    return traffic


def quantile(q: float, cumulative: dict[float, float]) -> float | None:
    """Prometheus' ``histogram_quantile`` on cumulative bucket counts {upper bound: count}: linear within the bucket."""
    bounds = sorted(cumulative)
    if not bounds:
        return None
    total = cumulative[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):  # in the +Inf bucket: the highest finite bound is all we know
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound
