"""observe_prune, observe_demo and observe_export answer out-of-range or malformed arguments with a CommandError.

Fails on the old main (QA findings F7, F8): `observe_prune --days 99999999999` raised OverflowError,
`observe_demo --username=` a ValueError, `--url notaurl` / `http://[::1` ValueErrors, and
`observe_export kit --webhook-url 'not a url'` wrote an Alertmanager config amtool rejects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", "99999999999"], "--days must be between 1 and 36500"),
        (["--days", "0"], "--days must be between 1 and 36500"),
        (["--max-events", "-5"], "--max-events must be between 0"),
        (["--inactive-days", "-1"], "--inactive-days must be between 1"),
        (["--batch-size", "0"], "--batch-size must be between 1"),
    ],
)
def test_observe_prune_range_checks(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("observe_prune", *args)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--username", "", "--no-history"], "--username must not be empty"),
        (["--url", "notaurl", "--no-history", "--no-user"], "--url must be the base URL"),
        (["--url", "http://[::1", "--no-history", "--no-user"], "--url must be the base URL"),
        (["--url", "ftp://127.0.0.1/", "--no-history", "--no-user"], "--url must be the base URL"),
    ],
)
def test_observe_demo_checks_its_arguments(settings: object, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("observe_demo", "--force", *args)


@pytest.mark.parametrize("url", ["not a url", "http://[::1", "mailto:ops@example.com", "http:///nohost"])
def test_observe_export_kit_refuses_a_webhook_url_alertmanager_would_reject(tmp_path: Path, url: str) -> None:
    with pytest.raises(CommandError, match="--webhook-url must be an http"):
        call_command("observe_export", "kit", "--output-dir", str(tmp_path / "kit"), "--webhook-url", url)
    assert not (tmp_path / "kit").exists()
