"""The Celery beat task that records health history: ``django_observe.record_health``.

Schedule it (for example every 60 s) in CELERY_BEAT_SCHEDULE; ``ObserveConfig.ready()``
imports this module when Celery is installed, so the worker knows the task; see
docs/health.md. It sits above the runner and the history (it uses both), apart from the
Celery checks in ``health.celery``, which the check registry loads.
"""

from __future__ import annotations

import celery

from .checks import BEAT_TASK_NAME
from .history import record
from .runner import run_all_fresh


@celery.shared_task(name=BEAT_TASK_NAME, ignore_result=True)
def record_health() -> str:
    """Run every check now and record the run (trigger ``beat``); returns the overall status."""
    results, started_at, duration = run_all_fresh()
    run = record(results, trigger="beat", started_at=started_at, duration=duration)
    return run.status
