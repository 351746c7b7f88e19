"""Issue 12 item 16: under PROMETHEUS_MULTIPROC_DIR, building the metrics and changing the identity
(SERVICE_NAME, VERSION, ENVIRONMENT) never calls prometheus_client's remove()/clear(), which only warn there.

Fails before the fix: the first build "removed" a placeholder build_info series, and a changed
VERSION removed the old one; both printed "Removal of labels has not been implemented in multi-process mode".
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from django_observe.metrics import core
from tests.metrics.conftest import observe


def _build_info(namespace: str, version: str) -> float | None:
    labels = {"service": "observe-demo", "version": version, "environment": "development"}
    return REGISTRY.get_sample_value(f"{namespace}_build_info" if namespace else "build_info", labels)


@pytest.mark.parametrize("multiprocess", [False, True], ids=["single-process", "multiprocess"])
def test_a_new_identity_replaces_the_old_one_without_warnings(multiprocess: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if multiprocess:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with observe(METRICS_NAMESPACE="hardening", VERSION="1.0", ENVIRONMENT="development"):
            core.get_metrics()  # a new set of metric objects: its first build_info
            assert [str(warning.message) for warning in caught] == []
            assert _build_info("hardening", "1.0") == 1
        with observe(METRICS_NAMESPACE="hardening", VERSION="2.0", ENVIRONMENT="development"):
            core.get_metrics()  # same objects, new identity
            assert [str(warning.message) for warning in caught] == []
            assert _build_info("hardening", "2.0") == 1
            # A worker's file cannot forget a series: it reads 0 there; in one process it is gone.
            assert _build_info("hardening", "1.0") == (0 if multiprocess else None)
    core.get_metrics()  # back to the test project's namespace for the next tests
