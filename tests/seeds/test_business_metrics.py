"""Host business metrics through the app's metric API: the docs/seeds.md example, run as written."""

from __future__ import annotations

import pytest
from django.test import Client

from django_observe import observe
from tests.metrics.helpers import samples, scrape_text, total

from .conftest import observe as observe_settings
from .conftest import scraped
from .docs_blocks import business_metrics_module

pytestmark = pytest.mark.django_db


def test_the_documented_example_exports_through_the_protected_endpoint() -> None:
    example = business_metrics_module()
    analyzed = scraped("prompts_analyzed_total", model="gemini-pro")
    scored = scraped("prompt_quality_score_count")
    gemini = scraped("external_requests_total", service="gemini", operation="analyze", status="success")
    assert example.analyze("rate this prompt please, it is a fine prompt") == 4.5
    example.analyze("short")
    example.workspace_opened("acme")
    example.workspace_opened("acme")
    example.workspace_closed("acme")
    assert scraped("prompts_analyzed_total", model="gemini-pro") == analyzed + 2
    assert scraped("prompt_quality_score_count") == scored + 2
    assert scraped("prompt_quality_score_bucket", le="6.0") >= 1
    assert scraped("analytics_active_users", workspace="acme") == 1
    assert scraped("external_requests_total", service="gemini", operation="analyze", status="success") == gemini + 2
    assert Client().get("/metrics").status_code == 401, "business metrics sit behind the same protection"


def test_declaring_again_returns_the_same_metrics() -> None:
    first, second = business_metrics_module(), business_metrics_module()  # autoreload, tests, two imports
    assert first.PROMPTS_ANALYZED is second.PROMPTS_ANALYZED and first.ACTIVE_USERS is second.ACTIVE_USERS
    with pytest.raises(ValueError, match="already registered as a counter"):
        observe.gauge("prompts_analyzed_total", "A clash.")


def test_namespaced_metrics_take_the_metrics_namespace() -> None:
    with observe_settings(METRICS_NAMESPACE="promptforge"):
        templates = observe.counter("templates_used_total", "Templates used.", namespaced=True)
        templates.inc()
        found = samples(scrape_text(Client()))
    assert total(found, "promptforge_templates_used_total") == 1
    assert total(found, "promptforge_http_requests_total") >= 0
