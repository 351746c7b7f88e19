"""observe_demo: an admin user (credentials printed) and some demo traffic, for a first look at the admin."""

from __future__ import annotations

import io
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client


class Command(BaseCommand):
    help = "Create (or reset) a demo superuser and send some demo requests through the site, so the admin has data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: a new random password, printed.")
        parser.add_argument(
            "--traffic",
            nargs="*",
            default=["/health/live", "/health/ready", "/health"],
            help="Paths requested once each through the full middleware stack (errors and slow requests included).",
        )
        parser.add_argument("--repeat", type=int, default=3, help="How many times the traffic list is sent.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        password = options["password"] or secrets.token_urlsafe(12)
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

        client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
        statuses: dict[int, int] = {}
        for _ in range(max(0, options["repeat"])):
            for path in options["traffic"]:
                status = client.get(path).status_code
                statuses[status] = statuses.get(status, 0) + 1
        self._record_health()

        self.stdout.write(self.style.SUCCESS(f"Admin user {'created' if created else 'reset'}:"))
        self.stdout.write(f"  username: {username}\n  password: {password}")
        self.stdout.write(f"Demo traffic sent: {sum(statuses.values())} requests, by status {dict(sorted(statuses.items()))}.")
        self.stdout.write("Open http://127.0.0.1:8000/admin/ once the server runs.")

    def _record_health(self) -> None:
        """Store one health run so the admin's Health page is not empty."""
        try:
            call_command("observe_check", "--record", stdout=io.StringIO(), stderr=io.StringIO())
        except SystemExit:  # observe_check exits 1 when something is unhealthy: still recorded
            pass
