"""The shipped migrations match the models: a user's ``makemigrations`` never writes one of ours."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_have_no_missing_migrations() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "django_observe", "--check", "--dry-run", stdout=out)
    except SystemExit as exit_:  # --check exits 1 when a migration would be written
        pytest.fail(f"django_observe's models changed without a migration (exit {exit_.code}):\n{out.getvalue()}")
