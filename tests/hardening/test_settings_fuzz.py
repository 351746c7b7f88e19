"""A bad setting is a check error with an id, never a traceback; at run time it never stops the site.

Every OBSERVE key x {wrong type, empty, negative, huge, unicode}: in process (the checks, a fresh import
of the README's URLconf, and requests served with it), then through `manage.py check` in subprocesses
with the testproject's URLconf (which is the README's `include("django_observe.urls")`).

Fails on the old main: urls.py read the settings at import, so Django's URL check died with a
traceback; a bad SENTRY_DSN broke every command (`migrate` included); LOG_FILE in a missing directory
raised FileNotFoundError, then AttributeError at exit; HEALTH_CHECK_TIMEOUT=1e308 overflowed.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

import pytest
from django.core.checks import ERROR, run_checks
from django.test import Client, override_settings
from django.urls import clear_url_caches

from django_observe import urls as observe_urls
from django_observe.conf import DEFAULTS, get_settings, problems
from tests.servers import ROOT

UNICODE = "ünïcødé \u2028\x00\u202e"


def _variants(default: Any, scale: int = 100) -> dict[str, Any]:
    """The five hostile values for a key whose default is ``default`` (``scale`` sizes the huge ones)."""
    if isinstance(default, bool):
        return {"wrong type": "no", "empty": "", "negative": -1, "huge": 10**30, "unicode": UNICODE}
    if isinstance(default, (int, float)):
        return {"wrong type": "fast", "empty": "", "negative": -1, "huge": 1e308, "unicode": UNICODE}
    if isinstance(default, str):
        return {"wrong type": 123, "empty": "", "negative": -1, "huge": "x" * (1000 * scale), "unicode": UNICODE}
    if isinstance(default, list):
        return {"wrong type": "abc", "empty": [], "negative": [-1], "huge": ["x" * (10 * scale)] * (10 * scale), "unicode": [UNICODE]}
    return {
        "wrong type": ["x"],
        "empty": {},
        "negative": {"x": -1},
        "huge": {f"k{i}": "no.such.Check" for i in range(2 * scale)},
        "unicode": {UNICODE: UNICODE},
    }


CASES = [(key, kind, value) for key, option in DEFAULTS.items() for kind, value in _variants(option.default).items()]


def _our_messages() -> list[Any]:
    return [message for message in run_checks(tags=["django_observe"]) if message.id and message.id.startswith("django_observe.")]


@pytest.mark.django_db
def test_every_key_and_hostile_value_gives_ids_and_keeps_serving() -> None:
    failures = []
    for key, kind, value in CASES:
        try:
            with override_settings(OBSERVE={key: value}):
                messages = _our_messages()
                importlib.reload(observe_urls)  # the README's include(): read at import
                clear_url_caches()
                get_settings()
                response = Client().get("/health/live")
                page = Client().get("/fast/")
            wrong = [p for p in problems({key: value}) if p.key == key]
            if kind == "wrong type" and not wrong:
                failures.append(f"{key}={kind}: not reported as wrong")
            if wrong and not any(m.level >= ERROR and m.id == wrong[0].check_id for m in messages):
                failures.append(f"{key}={kind}: no {wrong[0].check_id} in {[m.id for m in messages]}")
            if response.status_code != 200 or page.status_code != 200:
                failures.append(f"{key}={kind}: served {response.status_code}/{page.status_code}")
        except Exception as error:  # the point of the test: name every case that raises
            failures.append(f"{key}={kind}: raised {type(error).__name__}: {str(error)[:120]}")
    importlib.reload(observe_urls)
    clear_url_caches()
    assert failures == []


def _django(*args: str, observe: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`python -m django <args>` in a fresh README-configured site (tests/hardening/readme_site.py)."""
    state = tempfile.mkdtemp(prefix="observe-fuzz-")
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "OBSERVE_", "DJANGO_"))}
    full_env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="tests.hardening.readme_site",
        SQLITE_PATH=os.path.join(state, "db.sqlite3"),
        OBSERVE_JSON=json.dumps(observe or {}),
        **(env or {}),
    )
    result = subprocess.run([sys.executable, "-m", "django", *args], env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def _check(observe: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    return _django("check", observe=observe, env=env)


@pytest.mark.once
@pytest.mark.parametrize("kind", ["wrong type", "empty", "negative", "huge", "unicode"])
def test_manage_py_check_with_every_key_hostile_at_once(kind: str) -> None:
    # Smaller "huge" values here: the whole OBSERVE travels in one environment variable.
    observe = {key: _variants(option.default, scale=2)[kind] for key, option in DEFAULTS.items()}
    code, output = _check(observe)
    assert "Traceback" not in output, output[-3000:]
    assert code in (0, 1)
    if kind == "wrong type":
        assert code == 1 and "django_observe.E001" in output
        reported = {key for key in DEFAULTS if f"OBSERVE['{key}']" in output}
        assert reported == set(DEFAULTS), f"not reported: {sorted(set(DEFAULTS) - reported)}"


ENV_CASES = {
    "LOG_LEVEL": ("VERBOSE", "django_observe.E001"),
    "LOG_FORMAT": ("xml", "django_observe.E001"),
    "SLOW_REQUEST_THRESHOLD": ("fast", "django_observe.E001"),
    "SENTRY_DSN": ("not-a-dsn", "django_observe.E040"),
    "LOG_FILE": ("/nonexistent-dir/observe/app.log", "django_observe.E002"),
}


@pytest.mark.once
def test_bad_environment_variables_are_ids_and_every_command_still_runs() -> None:
    env = {name: value for name, (value, _) in ENV_CASES.items()}
    code, output = _check(env=env)
    assert "Traceback" not in output, output[-3000:]
    assert code == 1
    for name, (_, check_id) in ENV_CASES.items():
        assert check_id in output, f"{name}: {check_id} missing"
    # migrate runs the checks: it refuses with the same ids (Django's rule for check errors), no traceback;
    # --skip-checks deploys anyway, and the wrong keys run on their defaults (one ERROR line each).
    code, output = _django("migrate", "--no-input", env=env)
    assert code == 1 and "Traceback" not in output and "django_observe.E040" in output, output[-2000:]
    code, output = _django("migrate", "--no-input", "--skip-checks", env=env)
    assert code == 0 and "Traceback" not in output, output[-2000:]
    assert "Applying django_observe.0001_initial... OK" in output
    assert "Invalid setting SENTRY_DSN" in output and "Invalid setting LOG_LEVEL" in output


def test_mistakes_that_type_check_but_cannot_work_warn() -> None:
    for observe, check_id in (
        ({"METRICS_PATH": "health/ready"}, "django_observe.W023"),
        ({"HEALTH_PATH": "admin"}, "django_observe.W034"),
        ({"HEALTH_DISABLED_CHECKS": ["celery_beet"]}, "django_observe.W035"),
    ):
        with override_settings(OBSERVE=observe):
            ids = [message.id for message in _our_messages()]
        assert ids.count(check_id) == 1, f"{check_id} once for {observe}: {ids}"
