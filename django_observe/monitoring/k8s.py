"""The Kubernetes part of the kit: probes for the Deployment, a ServiceMonitor, a PrometheusRule."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kit import KitOptions


def k8s_name(job: str) -> str:
    """A DNS-1123 name for Kubernetes objects from the job name (``My Shop`` -> ``my-shop``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", job.lower()).strip("-")[:50].strip("-")
    return name or "django"


def probes(kit: KitOptions, name: str) -> dict[str, Any]:
    health = "/" + kit.health_path.strip("/")

    def probe(path: str, period: int, timeout: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "timeoutSeconds": timeout, "failureThreshold": failures}

    # Readiness runs the critical checks: give it longer than HEALTH_DEADLINE, or Kubernetes gives up first.
    ready_timeout = math.ceil(kit.health_deadline) + 1
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "ports": [{"name": "http", "containerPort": kit.app_port}],
                            "startupProbe": probe(f"{health}/live", 2, 2, 30),
                            "livenessProbe": probe(f"{health}/live", 10, 2, 3),
                            "readinessProbe": probe(f"{health}/ready", 10, ready_timeout, 3),
                        }
                    ]
                }
            }
        },
    }


def service_monitor(kit: KitOptions, name: str) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"port": "http", "path": kit.metrics_path, "scheme": kit.scheme, "interval": kit.scrape_interval}
    if kit.token_file:
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"name": f"{name}-metrics-token", "key": "token"}}
    # The rules select job="<job>"; the operator would name the job after the Service otherwise.
    endpoint["relabelings"] = [{"action": "replace", "targetLabel": "job", "replacement": kit.job}]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": name}},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": name}}, "endpoints": [endpoint]},
    }


def prometheus_rule(rules: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": f"{name}-django-observe", "labels": {"app.kubernetes.io/name": name, "role": "alert-rules"}},
        "spec": {"groups": rules["groups"]},
    }
