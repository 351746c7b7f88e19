"""Each monitoring guide's team switches to django-observe: their env vars, paths, probes, log queries and PromQL.

One site per guide (gunicorn; guide 001 with two workers and multiprocess metrics and
OpenTelemetry), one real Prometheus scraping all of them under the guides' job names with
the recording rules of docs/seeds.md, and the queries of docs/seeds.md (the guides' own,
thresholds removed) each returning series. The mapping is docs/seeds.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_binary

from .docs_blocks import block, promql
from .echo import Echo, echo_server
from .guides import (
    HEALTH_TOKEN,
    METRICS_TOKEN,
    Job,
    Site,
    admin_login,
    fetch,
    migrated_template,
    prometheus,
    series,
    start_site,
    stop_all,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.once]

PASSWORD = "Guide-Passw0rd-Unique-7431"
WRONG = "Wrong-Passw0rd-Unique-1934"
TOKEN_HEADER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every guide's site, a fake Sentry ingest and a fake Gemini API, and one Prometheus."""
    require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("guides")
    template = migrated_template(tmp)
    with echo_server() as ingest, echo_server() as gemini:
        dsn = f"http://guidekey@127.0.0.1:{ingest.port}"
        sites = {
            "cosmiv": start_site(
                "cosmiv",
                tmp,
                template,
                {
                    "ENVIRONMENT": "production",
                    "LOG_LEVEL": "INFO",
                    "SENTRY_ENABLED": "false",
                    "SENTRY_DSN": f"{dsn}/0",
                    "SENTRY_ENVIRONMENT": "production",
                    "SENTRY_TRACES_SAMPLE_RATE": "0.1",
                    "RELEASE_VERSION": "v1.0.0",
                },
                {"HEALTH_DEPENDENCY_WORDS": True, "LOG_CALLSITE": True},
            ),
            "shadower": start_site(
                "shadower",
                tmp,
                template,
                {
                    "APP_ENV": "production",
                    "APP_VERSION": "1.0.0",
                    "SEED_OTEL_SPANS_FILE": str(tmp / "spans.jsonl"),
                    "PROMETHEUS_MULTIPROC_DIR": str(tmp / "shadower-prom"),
                },
                {"HEALTH_ROOT_ALIASES": True, "METRICS_PATH_ALIASES": ["api/v1/metrics"]},
                workers=2,
            ),
            "terra": start_site(
                "terra",
                tmp,
                template,
                {"ENVIRONMENT": "production", "RELEASE_VERSION": "1.0.0", "LOG_FILE": str(tmp / "terra" / "terra_constellata.log")},
                {"ACCESS_LOG_PATH_AND_STATUS": True},
            ),
            "promptforge": start_site(
                "promptforge",
                tmp,
                template,
                {
                    "ENVIRONMENT": "production",
                    "LOG_LEVEL": "INFO",
                    "LOG_FORMAT": "json",
                    "SENTRY_DSN": f"{dsn}/3",
                    "SENTRY_ENVIRONMENT": "production",
                    "SLOW_REQUEST_THRESHOLD": "0.2",
                    "GEMINI_URL": gemini.url,
                },
                {
                    "ACCESS_LOG_PATH_AND_STATUS": True,
                    "LOG_CLIENT_IP": True,
                    "ACTIVE_USERS_METRIC": True,
                    "OUTBOUND_HOOKS": ["requests"],
                    "OUTBOUND_SERVICES": {f"127.0.0.1:{gemini.port}": "gemini"},
                },
            ),
            "ecvi": start_site(
                "ecvi", tmp, template, {"ENVIRONMENT": "production", "SENTRY_DSN": f"{dsn}/4"}, {"METRICS_PATH_ALIASES": ["api/v1/metrics"]}
            ),
        }
        try:
            jobs = [
                Job("analytics-backend", sites["shadower"]),
                Job("terra_constellata", sites["terra"]),
                Job("promptforge", sites["promptforge"]),
                Job("ecvi", sites["ecvi"], "/api/v1/metrics"),
            ]
            rules = [block("rules: shadower"), block("rules: terra"), block("rules: promptforge")]
            # Prometheus boots while the sites do; it returns once it has scraped every job.
            with prometheus(jobs, rules, tmp) as prom:
                wait_for(list(sites.values()))
                yield {"sites": sites, "prom": prom, "ingest": ingest, "gemini": gemini, "tmp": tmp}
        finally:
            stop_all(list(sites.values()))


def _queries_return_series(prom: Any, heading: str) -> None:
    for expr in promql(heading):
        assert series(prom, expr), expr


def test_000_cosmiv(world: dict[str, Any]) -> None:
    site: Site = world["sites"]["cosmiv"]
    status, body = site.get_json("/health")
    assert status in (200, 503) and body["status"] in ("healthy", "degraded", "unhealthy")
    assert body["database"] == "connected"
    words = {key: value for key, value in body.items() if key not in ("status", "version", "environment")}
    assert set(words.values()) <= {"connected", "disconnected", "accessible", "inaccessible"}, body
    status, headers, _ = site.get("/work/", {"X-Request-ID": "cosmiv-job-1"})
    assert status == 200 and headers["X-Request-ID"] == "cosmiv-job-1"
    assert admin_login(site, "nobody", WRONG) == 200
    assert site.get("/fail/")[0] == 500
    lines = site.wait_lines(lambda lines: {"Processing job", "login_failed", "request_failed"} <= {line.get("event") for line in lines})
    [job] = [line for line in lines if line.get("event") == "Processing job"]
    assert (job["module"], job["function"], job["job_id"], job["request_id"], job["level"], job["logger"]) == (
        "views",
        "work",
        "job456",
        "cosmiv-job-1",
        "info",
        "seedsite.views",
    )
    assert isinstance(job["line"], int) and job["line"] > 0
    assert (job["environment"], job["version"]) == ("production", "v1.0.0")
    [failed] = [line for line in lines if line.get("event") == "login_failed"]
    assert failed["level"] == "warning" and failed["username"] == "[Filtered]"
    assert WRONG not in site.log() and "nobody" not in site.log()
    # SENTRY_ENABLED=false: the failure is stored locally (test_sentry_enabled_false... checks nothing was sent).
    deadline = time.monotonic() + 15
    while not site.sql("SELECT count(*) FROM django_observe_errorevent")[0][0]:  # the writer thread stores in batches
        assert time.monotonic() < deadline, "the failure was not stored locally"
        time.sleep(0.2)


def test_001_shadower(world: dict[str, Any]) -> None:
    site: Site = world["sites"]["shadower"]
    status, body = site.get_json("/live")
    assert status == 200 and body["alive"] is True
    status, body = site.get_json("/ready")
    assert status == 200 and body["ready"] is True and "database" in body["checks"]
    assert site.get("/api/v1/metrics", TOKEN_HEADER)[0] == 200
    assert site.get("/api/v1/metrics")[0] == 401
    assert site.get_json("/health/detailed", {"X-Health-Token": HEALTH_TOKEN})[0] in (200, 503)
    for path in ["/work/", "/db/", "/cached/", "/fail/", "/slow/?seconds=0.05"] * 3:
        site.get(path)
    for _ in range(6):  # over both workers
        site.get("/workspace/acme/")
    site.get("/work/", {"X-Request-ID": "shadower-traced-1"})
    traced = site.wait_lines(lambda lines: any(line.get("request_id") == "shadower-traced-1" for line in lines))
    [line] = [line for line in traced if line.get("request_id") == "shadower-traced-1" and line.get("event") == "Processing job"]
    assert (line["environment"], line["version"]) == ("production", "1.0.0"), "APP_ENV / APP_VERSION"
    spans = [json.loads(raw) for raw in (world["tmp"] / "spans.jsonl").read_text().splitlines() if raw.strip()]
    [span] = [span for span in spans if span["attributes"].get("request_id") == "shadower-traced-1"]
    assert span["context"]["trace_id"] == "0x" + line["trace_id"]
    assert span["context"]["span_id"] == "0x" + line["span_id"]
    prom = world["prom"]
    _queries_return_series(prom, "001")
    [workspace] = series(prom, 'sum by (workspace) (analytics_active_users{workspace="acme"})')
    assert workspace["value"][1] == "6", "the gauge is summed over both workers"
    assert {sample["metric"]["state"] for sample in series(prom, "database_connections")} == {"active", "idle"}


def test_002_terra(world: dict[str, Any]) -> None:
    site: Site = world["sites"]["terra"]
    for path in ["/work/", "/missing/", "/fail/"] * 2:
        site.get(path)
    log_file = world["tmp"] / "terra" / "terra_constellata.log"
    lines = site.wait_lines(lambda lines: any(line.get("path") == "/missing/" for line in lines), log_file)
    assert lines and all((line["environment"], line["version"]) == ("production", "1.0.0") for line in lines)
    # LogQL `|= "request_finished" | json | status_code >= 400` (the guide's, with our event name).
    raw = [text for text in log_file.read_text().splitlines() if "request_finished" in text]
    matched = [line for line in map(json.loads, raw) if line.get("status_code", 0) >= 400]
    assert {(line["path"], line["status_code"]) for line in matched} == {("/missing/", 404)}
    # `| json | level="error"`: the 500 and Django's own "Internal Server Error" line.
    assert {line["logger"] for line in lines if line["level"] == "error"} >= {"django.request", "django_observe.request"}
    _queries_return_series(world["prom"], "002")
    ratios = series(
        world["prom"],
        'rate(terra_constellata_errors_total{endpoint="fail/"}[1m]) / rate(terra_constellata_requests_total{endpoint="fail/"}[1m])',
    )
    # Every call of fail/ is a 5xx (NaN before the second scrape); one series per label set the
    # site reported (method, and the scrape target), each of them 1.
    assert ratios and all(ratio["value"][1] in ("1", "NaN") for ratio in ratios), ratios


def test_003_promptforge(world: dict[str, Any]) -> None:
    site: Site = world["sites"]["promptforge"]
    status, body = site.get_json("/health")
    assert set(body) >= {"status", "version", "environment"} and body["environment"] == "production"
    status, live = site.get_json("/health/live")
    assert status == 200 and live["alive"] is True and isinstance(live["timestamp"], float) and live["uptime_seconds"] >= 0
    status, ready = site.get_json("/health/ready")
    assert status == 200 and ready["ready"] is True and ready["checks"]["database"] in ("pass", "warn")
    assert isinstance(ready["timestamp"], float)
    status, detailed = site.get_json("/health/detailed", {"X-Health-Token": HEALTH_TOKEN})
    assert "response_time_ms" in detailed["checks"]["database"] and "uptime_seconds" in detailed
    status, _, _ = fetch(
        site.url + "/signup/",
        data=f"username=alice&password={PASSWORD}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 201
    assert [admin_login(site, "alice", PASSWORD), admin_login(site, "alice", WRONG), admin_login(site, "mallory", WRONG)] == [302, 200, 200]
    for path in ["/gemini/", "/gemini/?fail=1", "/analyze/", "/slow/?seconds=0.3", "/fail/", "/work/"] * 2:
        site.get(path, {"X-Forwarded-For": "203.0.113.9"})
    status, _, text = site.get("/metrics", TOKEN_HEADER)
    scrape = text.decode()
    assert 'user_logins_total{result="success"} 1.0' in scrape and 'user_logins_total{result="failure"} 2.0' in scrape
    assert "user_registrations_total 1.0" in scrape
    assert 'external_requests_total{operation="POST",service="gemini",status="500"} 2.0' in scrape
    site.wait_lines(lambda lines: {("/slow/", True), ("/work/", None)} <= {(line.get("path"), line.get("slow")) for line in lines})
    log = site.log()
    assert PASSWORD not in log and WRONG not in log and PASSWORD not in scrape
    stored = " ".join(str(row) for row in site.sql("SELECT data FROM django_observe_errorevent"))
    assert PASSWORD not in stored and WRONG not in stored
    access = [line for line in site.json_lines() if line.get("event") in ("request_finished", "request_failed")]
    slow = [line for line in access if line.get("slow")]
    assert "/slow/" in {line["path"] for line in slow}, "SLOW_REQUEST_THRESHOLD=0.2"
    assert all(line["level"] in ("warning", "error") for line in slow)
    assert {(line["method"], line["path"], line["status_code"]) for line in access} >= {("GET", "/work/", 200), ("GET", "/fail/", 500)}
    assert all(line["ip"] == "127.0.0.1" for line in access)
    _queries_return_series(world["prom"], "003")


def test_004_ecvi(world: dict[str, Any]) -> None:
    site: Site = world["sites"]["ecvi"]
    for path in ["/work/", "/db/", "/fail/", "/missing/"] * 2:
        site.get(path)
    assert site.get("/api/v1/metrics", TOKEN_HEADER)[0] == 200
    assert site.get_json("/health")[0] in (200, 503)
    _queries_return_series(world["prom"], "004")
    assert {sample["metric"]["job"] for sample in series(world["prom"], 'rate(http_requests_total{job="ecvi"}[5m])')} == {"ecvi"}


def test_sentry_enabled_false_keeps_events_local(world: dict[str, Any]) -> None:
    ingest: Echo = world["ingest"]
    world["sites"]["cosmiv"].get("/fail/")
    world["sites"]["promptforge"].get("/fail/")
    deadline = time.monotonic() + 20
    while not any(path.startswith("/api/3/") for path, _ in ingest.received):  # the control: DSN set, Sentry on
        assert time.monotonic() < deadline, ingest.received
        time.sleep(0.2)
    assert not any(path.startswith("/api/0/") for path, _ in ingest.received), "SENTRY_ENABLED=false still sent events"
