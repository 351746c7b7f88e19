"""Prometheus rules, runbook links, a Grafana dashboard and a whole monitoring kit, from the metric definitions.

``manage.py observe_export rules|dashboard|kit`` prints or writes them. Every metric name
comes from ``metrics.definitions`` with ``METRICS_NAMESPACE`` applied (``names.Names``), so
an alert cannot outlive a renamed metric; every threshold is a ``Threshold`` and an option of
the command. Celery alerts and panels plug in through ``monitoring/celery.py``.

This package sits at the metrics layer: it imports ``metrics.definitions`` only.
"""

from __future__ import annotations

from typing import Any

from .alerts import Alert
from .dashboard import Panel
from .kit import KitOptions, kit_files
from .names import Names, promql_string, slug
from .options import DEFAULT_RUNBOOK_URL, RuleOptions, Threshold, resolve_thresholds
from .rules import THRESHOLDS, alert_list, extra_panels, panels, render_index, rules
from .yamltext import document, to_yaml

__all__ = [
    "DEFAULT_RUNBOOK_URL",
    "THRESHOLDS",
    "Alert",
    "KitOptions",
    "Names",
    "Panel",
    "RuleOptions",
    "Threshold",
    "alert_list",
    "build_dashboard",
    "document",
    "extra_panels",
    "kit_files",
    "panels",
    "promql_string",
    "render_index",
    "resolve_thresholds",
    "rules",
    "slug",
    "to_yaml",
]


def build_dashboard(options: RuleOptions) -> dict[str, Any]:
    """The Grafana dashboard JSON model for ``options`` (namespace, job), Celery panels included."""
    from .dashboard import dashboard

    return dashboard(options, extra_panels(options))
