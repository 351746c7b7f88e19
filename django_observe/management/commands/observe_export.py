"""``manage.py observe_export rules|dashboard``: Prometheus rules or a Grafana dashboard for this app's metrics.

The metric names are the ones /metrics exports (``METRICS_NAMESPACE`` applied), so the
output can be regenerated on every deploy. Check the rules with ``promtool check rules``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...conf import get_settings
from ...metrics import monitoring


class Command(BaseCommand):
    help = "Print Prometheus recording + alert rules (YAML) or a Grafana dashboard (JSON) for django-observe's metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["rules", "dashboard"], help="rules: a Prometheus rule file; dashboard: Grafana JSON.")
        parser.add_argument("--job", default="django", help="Prometheus job name of the scrape config (default: django).")
        parser.add_argument("--error-ratio", type=float, default=0.05, help="5xx share that fires DjangoHighErrorRate (default 0.05).")
        parser.add_argument("--slow", type=float, default=None, help="p95 seconds that fire DjangoSlowResponses (default: SLOW_REQUEST_THRESHOLD).")
        parser.add_argument("-o", "--output", default=None, help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        conf = get_settings()
        if options["what"] == "rules":
            slow = options["slow"] if options["slow"] is not None else conf.SLOW_REQUEST_THRESHOLD
            content = monitoring.to_yaml(monitoring.rules(conf.METRICS_NAMESPACE, options["job"], slow, options["error_ratio"])) + "\n"
        else:
            content = json.dumps(monitoring.dashboard(conf.METRICS_NAMESPACE), indent=2) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as output:
                output.write(content)
        else:
            self.stdout.write(content, ending="")
