"""The loop, end to end: testproject under gunicorn -> Prometheus -> Alertmanager -> a webhook, all from the kit.

One module-scoped stack: the testproject under gunicorn (2 workers, multiprocess metrics), a real
Prometheus started from the generated prometheus.yml and rules.yml (1 s intervals, ``--for 0s``), a
real Alertmanager started from the generated alertmanager.yml (``--receivers webhook``, group_wait
1 s), and a local HTTP server as the webhook. A 5xx burst and a failing health check must each reach
the webhook with their labels and runbook_url; every dashboard query must return data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from django_observe import monitoring
from django_observe.monitoring import RuleOptions
from tests.metrics.helpers import TOKEN, fetch, hammer
from tests.servers import Server, free_port, running_server

from .helpers import export, panel_targets
from .promql import grafana_to_promql
from .stack import Process, Webhook, alertmanager, get_json, prometheus, query, wait_for, webhook_server

pytestmark = [pytest.mark.integration, pytest.mark.once, pytest.mark.django_db]

#: Seconds an alert may take from its cause to the webhook (scrape 1 s + evaluation 1 s + group_wait 1 s + slack).
DELIVERY_BOUND = 30.0
RUNBOOKS = "https://github.com/django-observe/django-observe/blob/main/docs/runbooks/"


@dataclass
class Stack:
    app: Server
    prometheus: Process
    alertmanager: Process
    webhook: Webhook
    outage_file: Path
    kit: Path

    def diagnostics(self) -> str:
        firing = get_json(f"{self.prometheus.url}/api/v1/alerts")["data"]["alerts"]
        held = get_json(f"{self.alertmanager.url}/api/v2/alerts")
        return (
            f"prometheus alerts: {json.dumps(firing)[:3000]}\nalertmanager: {json.dumps(held)[:3000]}\n"
            f"webhook got {len(self.webhook.received)} notifications\nalertmanager log: {self.alertmanager.log()[-1500:]}"
        )


def _traffic(url: str) -> None:
    """Requests of every kind a panel shows: ok, 404, slow, cached, a database error, an exception, health probes."""
    urls = [f"{url}/fast/"] * 20 + [f"{url}/db/"] * 5 + [f"{url}/items/987654/"] * 3 + [f"{url}/slow/"] * 2
    urls += [f"{url}/cached/"] * 6 + [f"{url}/db-error/", f"{url}/boom/", f"{url}/health/ready", f"{url}/health/ready"]
    statuses = hammer(urls, threads=4)
    assert statuses.count(200) >= 34 and 500 in statuses, statuses


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("loop")
    (tmp / "prom-multiproc").mkdir()
    outage = tmp / "search-is-down"
    (tmp / "gunicorn.conf.py").write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
    observe = {
        "HEALTH_CHECKS": {"search": {"check": "tests.health.probes.Toggle", "path": str(outage)}},
        "HEALTH_DISABLED_CHECKS": ["disk", "memory", "storage"],
        "HEALTH_CACHE_SECONDS": 0,
    }
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom-multiproc"), "METRICS_TOKEN": TOKEN, "OBSERVE_JSON": json.dumps(observe)}
    with running_server("gunicorn", workers=2, env=env, extra_args=("-c", str(tmp / "gunicorn.conf.py"))) as app, webhook_server() as hook:
        _traffic(app.url)
        kit, am_port = tmp / "kit", free_port()
        # The kit as a user would generate it, with test-speed intervals and only the webhook receiver.
        export(
            "kit",
            "--output-dir",
            str(kit),
            "--target",
            app.url.removeprefix("http://"),
            "--alertmanager",
            f"127.0.0.1:{am_port}",
            "--scrape-interval",
            "1s",
            "--evaluation-interval",
            "1s",
            "--for",
            "0s",
            "--receivers",
            "webhook",
            "--webhook-url",
            hook.url,
            "--group-wait",
            "1s",
            "--group-interval",
            "1s",
            "--repeat-interval",
            "1h",
        )
        (kit / "prometheus" / "metrics-token").write_text(TOKEN)
        with alertmanager(kit / "alertmanager" / "alertmanager.yml", tmp, am_port) as am:
            with prometheus(kit / "prometheus" / "prometheus.yml", tmp) as prom:
                yield Stack(app, prom, am, hook, outage, kit)


def test_every_dashboard_query_returns_data_after_traffic(stack: Stack) -> None:
    board = json.loads(export("dashboard"))
    needs_workers = {panel.title for panel in monitoring.panels(RuleOptions()) if panel.requires}
    queries = [(title, grafana_to_promql(expr)) for title, expr in panel_targets(board) if title not in needs_workers]
    assert len(queries) >= 25

    def empty() -> list[tuple[str, str]]:
        return [(title, expr) for title, expr in queries if not query(stack.prometheus.url, expr)]

    wait_for(lambda: not empty(), 20, lambda: "\n".join(f"{title}: {expr}" for title, expr in empty()), interval=0.5)


def test_a_5xx_burst_reaches_the_webhook_with_labels_and_runbook(stack: Stack) -> None:
    # The 500 series exists (one /boom/ in the traffic); wait until Prometheus has it, so the burst is an increase.
    wait_for(lambda: query(stack.prometheus.url, 'http_requests_total{status_code="500"}'), 15, stack.diagnostics)
    assert not stack.webhook.alerts("DjangoHighErrorRate")
    statuses = hammer([f"{stack.app.url}/boom/"] * 60, threads=4)
    assert statuses == [500] * 60
    burst_end = time.monotonic()
    arrived, alert = wait_for(lambda: stack.webhook.alerts("DjangoHighErrorRate"), DELIVERY_BOUND, stack.diagnostics)[0]
    print(f"DjangoHighErrorRate reached the webhook {arrived - burst_end:.1f} s after the 5xx burst")
    assert alert["labels"] == {"alertname": "DjangoHighErrorRate", "severity": "critical", "job": "django"}
    assert alert["annotations"]["runbook_url"] == RUNBOOKS + "django-high-error-rate.md"
    assert "of requests fail with 5xx" in alert["annotations"]["summary"]
    assert "5xx status (threshold 5%)" in alert["annotations"]["description"]


def test_a_failing_health_check_reaches_the_webhook(stack: Stack) -> None:
    assert fetch(f"{stack.app.url}/health/ready", token=None)[0] == 200
    stack.outage_file.write_text("down")
    started = time.monotonic()
    # Probes run the check (a load balancer would); each gunicorn worker answers some of them.
    assert {status for status, *_ in (fetch(f"{stack.app.url}/health/ready", token=None) for _ in range(6))} == {503}
    found = wait_for(lambda: stack.webhook.alerts("DjangoHealthCheckFailing"), DELIVERY_BOUND, stack.diagnostics)
    arrived, alert = found[0]
    print(f"DjangoHealthCheckFailing reached the webhook {arrived - started:.1f} s after the check started failing")
    host = stack.app.url.removeprefix("http://")
    assert alert["labels"] == {
        "alertname": "DjangoHealthCheckFailing",
        "severity": "critical",
        "job": "django",
        "instance": host,
        "check": "search",
    }
    assert alert["annotations"]["runbook_url"] == RUNBOOKS + "django-health-check-failing.md"
    assert alert["annotations"]["summary"] == "django: health check search fails"
