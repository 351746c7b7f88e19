"""``manage.py observe_test_error``: prove the error pipeline end to end (Sentry and the local store)."""

from __future__ import annotations

import math
from typing import Any

import sentry_sdk
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import sentry
from ...conf import get_settings
from ...errors import intake
from ...errors.capture import send_test_error
from ...models import ErrorEvent

#: Longest --timeout accepted: waiting more than an hour for one test event is a typo.
MAX_TIMEOUT = 3600.0


class Command(BaseCommand):
    help = "Send a test error through sentry-sdk (when a DSN is set) and the local error store, and report what happened."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds to wait for delivery (default 10, at most 3600).")

    def handle(self, *args: Any, **options: Any) -> None:
        timeout = options["timeout"]
        if not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
            raise CommandError(f"--timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}; got {timeout}.", returncode=2)
        if not sentry.installed():
            sentry.init_sentry()
        event_id = send_test_error(actor="observe_test_error")
        if event_id is None:
            self.stderr.write("The test error was not captured (see the log for the reason).")
            raise SystemExit(1)
        self.stdout.write(f"Test error captured, event id {event_id}.")
        conf = get_settings()
        if conf.SENTRY_DSN and sentry_sdk.get_client().is_active():
            sentry_sdk.flush(timeout=options["timeout"])
            self.stdout.write("Sent to Sentry (look for the tag observe_test=yes).")
        else:
            self.stdout.write("No SENTRY_DSN: nothing sent to Sentry.")
        if not conf.ERRORS_ENABLED:
            self.stdout.write("ERRORS_ENABLED is off: not stored locally.")
            return
        intake.flush(options["timeout"])
        stored = ErrorEvent.objects.using(conf.ERRORS_DATABASE).filter(event_id=event_id).select_related("group").first()
        if stored is None:
            self.stderr.write("Not stored locally: check the log for 'Captured errors are being dropped'.")
            raise SystemExit(1)
        self.stdout.write(f"Stored locally: error group {stored.group.pk} ({stored.group.title}).")
