"""Celery alerts and dashboard panels: the extension point for the Celery metrics.

Fill the three hooks below when the Celery metrics exist in ``metrics/definitions.py``:

- ``THRESHOLDS``: one ``Threshold`` per alert threshold; each becomes an ``observe_export``
  option (``task_failure_ratio`` -> ``--task-failure-ratio``) and a row of docs/runbooks/index.md.
- ``alerts(ctx)``: ``Alert`` objects, built with ``ctx.m`` (namespaced names; an unknown name
  raises), ``ctx.sel`` (the escaped job matcher), ``ctx.window`` and ``ctx.t[key]``. They go to
  their own rule group. Each needs docs/runbooks/<slug>.md (a test checks).
- ``panels(ctx)``: ``Panel`` objects with ``requires="celery"``; the end-to-end dashboard test
  skips those until it runs a worker.

This module only builds text from metric names: it must not import celery or our Celery code.
"""

from __future__ import annotations

from .alerts import Alert
from .dashboard import Panel
from .options import Context, Threshold

THRESHOLDS: tuple[Threshold, ...] = ()


def alerts(ctx: Context) -> list[Alert]:
    return []


def panels(ctx: Context) -> list[Panel]:
    return []
