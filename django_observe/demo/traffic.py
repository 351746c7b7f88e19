"""Demo traffic over HTTP to a running server, so its own metrics (``/metrics``, the admin overview) have data.

Metrics live in the server's process, so requests must reach that process: they are sent
over HTTP, never through Django's test client. Without host paths, the app's own URLs
are used (health probes, the metrics endpoint, the admin login page, a missing page), which
every project that installed django-observe serves.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence

from django.urls import NoReverseMatch, reverse

from ..conf import get_settings


def default_paths() -> list[str]:
    """URLs every project with django-observe serves: several endpoints, a 401 and a 404."""
    conf = get_settings()
    health = "/" + conf.HEALTH_PATH.strip("/")
    paths = [
        f"{health}/live",
        f"{health}/ready",
        health,
        "/" + conf.METRICS_PATH.strip("/"),  # 401 without a token: the scrape that is refused
        "/observe-demo-missing-page/",  # 404: counted under the <unresolved> endpoint
    ]
    try:
        paths.append(reverse("admin:login"))
    except NoReverseMatch:  # no admin in this project's URLconf
        pass
    return paths


def send(base_url: str, paths: Sequence[str], repeat: int = 1, timeout: float = 30.0) -> Counter[int]:
    """GET each path ``repeat`` times; returns how many answers each status code got (0: no answer)."""
    statuses: Counter[int] = Counter()
    base = base_url.rstrip("/")
    for _ in range(max(0, repeat)):
        for path in paths:
            request = urllib.request.Request(base + "/" + path.lstrip("/"), headers={"User-Agent": "django-observe demo"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    response.read()
                    statuses[response.status] += 1
            except urllib.error.HTTPError as error:
                error.read()
                statuses[error.code] += 1
            except (urllib.error.URLError, OSError):
                statuses[0] += 1
    return statuses
