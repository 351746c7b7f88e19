"""observe_export kit: every file exists, parses, has what its tool needs; the real tools accept them."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.test import override_settings

from tests.conftest import require_binary

from .helpers import export

pytestmark = pytest.mark.django_db

FILES = {
    "README.md",
    "prometheus/prometheus.yml",
    "prometheus/rules.yml",
    "prometheus/metrics-token",
    "alertmanager/alertmanager.yml",
    "grafana/provisioning/datasources/datasources.yml",
    "grafana/provisioning/dashboards/dashboards.yml",
    "grafana/dashboards/django-observe.json",
    "loki/promtail.yml",
    "loki/config.alloy",
    "docker-compose.yml",
    "k8s/probes.yaml",
    "k8s/servicemonitor.yaml",
    "k8s/prometheusrule.yaml",
}


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    with override_settings(OBSERVE={**settings.OBSERVE, "LOG_FILE": "/srv/shop/logs/app.log", "METRICS_PATH": "internal/metrics"}):
        export("kit", "--output-dir", str(tmp_path / "kit"), "--job", "shop")
    return tmp_path / "kit"


def _load(kit: Path, relative: str) -> Any:
    text = (kit / relative).read_text()
    return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)


def test_the_kit_has_every_file(kit: Path) -> None:
    found = {str(path.relative_to(kit)) for path in kit.rglob("*") if path.is_file()}
    assert found == FILES


def test_prometheus_config_scrapes_with_a_token_file_and_sends_alerts(kit: Path) -> None:
    config = _load(kit, "prometheus/prometheus.yml")
    assert config["rule_files"] == ["rules.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "shop" and job["metrics_path"] == "/internal/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "metrics-token"}
    assert job["static_configs"][0]["targets"] == ["host.docker.internal:8000"]
    token = kit / "prometheus" / "metrics-token"
    assert token.read_text() == "" and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert _load(kit, "prometheus/rules.yml") == yaml.safe_load(export("rules", "--job", "shop"))


def test_an_existing_token_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "metrics-token").write_text("s3cret")
    export("kit", "--output-dir", str(tmp_path))
    assert (tmp_path / "prometheus" / "metrics-token").read_text() == "s3cret"
    assert "authorization" not in _load(Path(_kit_without_token(tmp_path)), "prometheus/prometheus.yml")["scrape_configs"][0]


def _kit_without_token(tmp_path: Path) -> str:
    out = tmp_path / "no-token"
    export("kit", "--output-dir", str(out), "--token-file", "")
    assert not (out / "prometheus" / "metrics-token").exists()
    return str(out)


def test_alertmanager_routes_by_severity_and_inhibits_warnings(kit: Path) -> None:
    config = _load(kit, "alertmanager/alertmanager.yml")
    assert {receiver["name"] for receiver in config["receivers"]} == {"pagerduty", "slack", "email", "webhook"}
    routes = {route["receiver"]: route["matchers"] for route in config["route"]["routes"]}
    assert routes["pagerduty"] == ['severity="critical"'] and routes["email"] == ['severity="warning"']
    assert config["inhibit_rules"][0] == {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["job"],
    }
    assert config["inhibit_rules"][1]["target_matchers"] == ['alertname="DjangoHealthCheckFailing"', 'check="celery_workers"']
    slack = config["receivers"][1]["slack_configs"][0]
    assert "runbook_url" in slack["text"] and slack["api_url_file"].startswith("/etc/alertmanager/")


def test_grafana_provisioning_and_dashboard(kit: Path) -> None:
    datasources = _load(kit, "grafana/provisioning/datasources/datasources.yml")["datasources"]
    assert {(d["type"], d["url"]) for d in datasources} == {("prometheus", "http://prometheus:9090"), ("loki", "http://loki:3100")}
    [provider] = _load(kit, "grafana/provisioning/dashboards/dashboards.yml")["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/etc/grafana/dashboards"
    board = _load(kit, "grafana/dashboards/django-observe.json")
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["job"]["current"]["value"] == "shop"
    queried = [panel for panel in board["panels"] if panel["type"] != "row"]
    assert len(queried) >= 20
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in queried)
    assert "__inputs" not in board  # provisioned dashboards cannot answer import questions


def test_promtail_tails_the_log_file_and_never_labels_the_request_id(kit: Path) -> None:
    [scrape] = _load(kit, "loki/promtail.yml")["scrape_configs"]
    assert scrape["static_configs"][0]["labels"]["__path__"] == "/srv/shop/logs/app.log"
    stages = {key: value for stage in scrape["pipeline_stages"] for key, value in stage.items()}
    assert set(stages["json"]["expressions"]) >= {"level", "service", "environment", "request_id", "timestamp"}
    assert set(stages["labels"]) == {"level", "service", "environment"}
    assert stages["timestamp"] == {"source": "timestamp", "format": "RFC3339Nano"}


def test_the_alloy_config_has_the_same_pipeline(kit: Path) -> None:
    text = (kit / "loki" / "config.alloy").read_text()
    assert 'path_targets = [{"__path__" = "/srv/shop/logs/app.log", "job" = "shop"}]' in text
    labels = text[text.index("stage.labels") : text.index("stage.timestamp")]
    assert "level" in labels and "service" in labels and "environment" in labels and "request_id" not in labels
    assert 'request_id  = "request_id"' in text and 'format = "RFC3339Nano"' in text
    assert text.count("{") == text.count("}")


def test_compose_runs_the_stack_on_the_kit_files(kit: Path) -> None:
    compose = _load(kit, "docker-compose.yml")
    assert set(compose["services"]) == {"prometheus", "alertmanager", "grafana", "loki", "promtail"}
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (kit / source).exists(), volume
    assert "/srv/shop/logs:/srv/shop/logs:ro" in compose["services"]["promtail"]["volumes"]
    assert "host.docker.internal:host-gateway" in compose["services"]["prometheus"]["extra_hosts"]
    assert all(port.startswith("127.0.0.1:") for service in compose["services"].values() for port in service.get("ports", []))


def test_kubernetes_probes_monitor_and_rules(kit: Path) -> None:
    probes = _load(kit, "k8s/probes.yaml")
    [container] = probes["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["readinessProbe"]["timeoutSeconds"] > float(settings.OBSERVE.get("HEALTH_DEADLINE", 5.0))
    monitor = _load(kit, "k8s/servicemonitor.yaml")
    assert monitor["kind"] == "ServiceMonitor" and monitor["spec"]["endpoints"][0]["path"] == "/internal/metrics"
    assert monitor["spec"]["endpoints"][0]["relabelings"] == [{"action": "replace", "targetLabel": "job", "replacement": "shop"}]
    rule = _load(kit, "k8s/prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule" and rule["spec"]["groups"] == _load(kit, "prometheus/rules.yml")["groups"]


@pytest.mark.integration
def test_promtool_and_amtool_accept_the_kit(kit: Path, tmp_path: Path) -> None:
    promtool, amtool = require_binary("promtool"), require_binary("amtool")

    def run(*command: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert "SUCCESS" in run(promtool, "check", "config", str(kit / "prometheus" / "prometheus.yml"))
    assert "SUCCESS" in run(amtool, "check-config", str(kit / "alertmanager" / "alertmanager.yml"))
    # The PrometheusRule's groups are a valid rule file on their own.
    (tmp_path / "from-k8s.yml").write_text(json.dumps({"groups": _load(kit, "k8s/prometheusrule.yaml")["spec"]["groups"]}))
    assert "SUCCESS" in run(promtool, "check", "rules", str(tmp_path / "from-k8s.yml"))
    config = str(kit / "alertmanager" / "alertmanager.yml")

    def receivers(*labels: str) -> str:
        return run(amtool, "config", "routes", "test", f"--config.file={config}", *labels).strip()

    assert receivers("severity=critical", "alertname=DjangoHighErrorRate", "job=shop") == "pagerduty,slack,webhook"
    assert receivers("severity=warning", "alertname=DjangoHighMemory", "job=shop") == "slack,email,webhook"
    only_webhook = tmp_path / "webhook-only"
    export("kit", "--output-dir", str(only_webhook), "--receivers", "webhook", "--webhook-url", "http://127.0.0.1:5001/hook")
    assert (
        run(amtool, "config", "routes", "test", f"--config.file={only_webhook}/alertmanager/alertmanager.yml", "severity=critical").strip()
        == "webhook"
    )
