"""/metrics: who may read it, in which format, and that the token never reaches a log."""

from __future__ import annotations

import gzip
import types

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from django_observe import urls as observe_urls

from .conftest import observe
from .helpers import TOKEN, samples

pytestmark = pytest.mark.django_db


def get(client: Client | None = None, path: str = "/metrics", **headers: str):
    return (client or Client()).get(path, **headers)


def test_no_credentials_is_401_with_a_bearer_challenge() -> None:
    response = get()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"http_requests_total" not in response.content


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", f"bearer{TOKEN}"])
def test_wrong_credentials_are_403(header: str) -> None:
    response = get(HTTP_AUTHORIZATION=header)
    assert response.status_code == 403
    assert b"http_requests_total" not in response.content


def test_every_configured_token_works_and_the_scheme_is_case_insensitive() -> None:
    with observe(METRICS_TOKENS=["first-token", "second-token"]):
        assert get(HTTP_AUTHORIZATION="Bearer first-token").status_code == 200
        assert get(HTTP_AUTHORIZATION="bearer second-token").status_code == 200
        assert get(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403


def test_token_from_the_metrics_token_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "env-one, env-two")
    without_key = {key: v for key, v in settings.OBSERVE.items() if key != "METRICS_TOKENS"}
    with override_settings(OBSERVE=without_key):
        assert get(HTTP_AUTHORIZATION="Bearer env-two").status_code == 200
        assert get(HTTP_AUTHORIZATION="Bearer env-three").status_code == 403


def test_staff_session_reads_metrics_and_other_users_get_403() -> None:
    staff = User.objects.create_user("ops", password="pw", is_staff=True)
    user = User.objects.create_user("visitor", password="pw")
    client = Client()
    client.force_login(staff)
    assert get(client).status_code == 200
    with observe(METRICS_ALLOW_STAFF=False):
        assert get(client).status_code == 403
    other = Client()
    other.force_login(user)
    assert get(other).status_code == 403


@pytest.mark.parametrize(
    "allowed,address,status",
    [
        (["10.0.0.0/8"], "10.20.30.40", 200),
        (["10.0.0.0/8"], "192.168.1.1", 401),
        (["192.168.1.5"], "192.168.1.5", 200),
        (["::1"], "::1", 200),
        (["2001:db8::/32"], "2001:db8::7", 200),
        ([], "10.20.30.40", 401),
    ],
)
def test_ip_allow_list_with_networks(allowed: list[str], address: str, status: int) -> None:
    with observe(METRICS_ALLOWED_IPS=allowed):
        assert get(REMOTE_ADDR=address).status_code == status


def test_public_only_when_configured() -> None:
    with observe(METRICS_PUBLIC=True):
        assert get().status_code == 200


def test_the_token_never_appears_in_logs(json_logs, capfd: pytest.CaptureFixture[str]) -> None:
    secret = "tok-never-logged-7c1e5b"
    with observe(METRICS_TOKENS=[secret]):
        assert get(HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
        assert get(HTTP_AUTHORIZATION=f"Bearer {secret}-wrong").status_code == 403
        assert get(path="/metrics?x=1", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    captured = capfd.readouterr()
    finished = json_logs.events("request_finished")
    assert [line["code"] for line in finished] == [200, 403, 200]
    assert secret not in json_logs.text
    assert secret not in captured.out + captured.err


def test_prometheus_text_by_default_openmetrics_by_accept() -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    plain = get(**auth)
    assert plain["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"# TYPE http_requests_total counter" in plain.content
    om = get(HTTP_ACCEPT="application/openmetrics-text; version=1.0.0; charset=utf-8", **auth)
    assert om["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert om.content.endswith(b"# EOF\n")
    assert b"# TYPE http_requests counter" in om.content
    # Prometheus' own Accept header prefers OpenMetrics.
    scraper = get(HTTP_ACCEPT="application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1", **auth)
    assert scraper["Content-Type"].startswith("application/openmetrics-text")
    for response in (plain, om):
        assert b"_created" not in response.content
        assert response["Vary"].startswith("Accept, Accept-Encoding")
        assert "no-cache" in response["Cache-Control"]


def test_gzip_when_asked() -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    plain = get(**auth)
    zipped = get(HTTP_ACCEPT_ENCODING="gzip, deflate, br", **auth)
    assert zipped["Content-Encoding"] == "gzip"
    body = gzip.decompress(zipped.content)
    assert b"# TYPE http_requests_total counter" in body
    assert len(zipped.content) * 3 < len(plain.content)


def test_name_filter_returns_only_the_asked_families() -> None:
    response = get(path="/metrics?name[]=http_requests_total&name[]=uptime_seconds", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    names = {name for name, _ in samples(response.content.decode())}
    assert names == {"http_requests_total", "uptime_seconds"}


def test_only_get_and_head() -> None:
    client = Client()
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert client.head("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_reachable_behind_login_required_middleware() -> None:
    middleware = [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert Client().get("/fast/").status_code == 302  # the host's views do need a login
        assert get(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
        assert get().status_code == 401  # not a redirect to the login page


def test_path_and_aliases_come_from_settings() -> None:
    with observe(METRICS_PATH="internal/prom", METRICS_PATH_ALIASES=["api/v1/metrics"]):
        urlconf = types.ModuleType("metrics_test_urls")
        urlconf.urlpatterns = observe_urls._patterns()  # type: ignore[attr-defined]
        with override_settings(ROOT_URLCONF=urlconf):
            auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
            assert get(path="/internal/prom", **auth).status_code == 200
            assert get(path="/api/v1/metrics", **auth).status_code == 200
            assert get(path="/metrics", **auth).status_code == 404
            assert get(path="/api/v1/metrics").status_code == 401
