"""Read /metrics the way Prometheus does: through the view, parsed with prometheus_client's parser."""

from __future__ import annotations

from collections.abc import Iterable

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-token-3f9a1c7e"
Series = tuple[str, frozenset[tuple[str, str]]]


def scrape_text(client: Client | None = None, **headers: str) -> str:
    client = client or Client()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content[:200]
    return response.content.decode()


def samples(text: str) -> dict[Series, float]:
    """{(sample name, labels): value} of a Prometheus text scrape."""
    found: dict[Series, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[Series, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def series_of(found: dict[Series, float], name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: number for (sample, labels), number in found.items() if sample == name}


def label_values(found: dict[Series, float], names: Iterable[str], label: str) -> set[str]:
    return {dict(labels)[label] for (sample, labels) in found if sample in set(names) and label in dict(labels)}


# --- real servers (tests/integration) ----------------------------------------------------------


def fetch(
    url: str, token: str | None = TOKEN, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` on a new connection: (status, headers, body); HTTP errors are returned, not raised."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def hammer(urls: list[str], threads: int = 8) -> list[int]:
    """GET every url (one connection each) from ``threads`` threads; the statuses, in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda url: fetch(url, token=None)[0], urls))


def scrape_url(base_url: str) -> dict[Series, float]:
    status, _, body = fetch(base_url + "/metrics")
    assert status == 200, body[:300]
    return samples(body.decode())


def pids_of(found: dict[Series, float]) -> set[str]:
    return {dict(labels)["pid"] for (name, labels) in found if name == "process_resident_memory_bytes"}


def total(found: dict[Series, float], name: str, **labels: str) -> float:
    """Sum of ``name`` over the series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(number for (sample, series), number in found.items() if sample == name and wanted <= set(series))
