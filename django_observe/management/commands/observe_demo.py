"""observe_demo: demo data for a first look at the admin (history, errors, an admin user, traffic).

Safe by default in a production install: it refuses to run with ``DEBUG`` off unless
``--force`` is given, and it never changes an existing user (no new password, no promotion).
Running it again replaces its own rows and nothing else (see ``django_observe.demo``).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import demo
from ...demo import errors as demo_errors
from ...demo import health as demo_health
from ...demo import traffic


class Command(BaseCommand):
    help = (
        "Fill the Observability admin with demo data: 30 days of health history (an incident, a flapping check), "
        "error groups over days (a regression, a muted and a resolved one), an admin user, and with --url demo "
        "traffic to a running server. Refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run although DEBUG is off (this writes demo rows into this database).")
        parser.add_argument("--username", default="admin", help="Admin user to create when missing (default: admin).")
        parser.add_argument(
            "--password", default=None, help="Password for a NEW user (default: a random one, printed). Never applied to an existing user."
        )
        parser.add_argument("--no-user", action="store_true", help="Create no user.")
        parser.add_argument("--no-history", action="store_true", help="Write no health history and no error groups.")
        parser.add_argument("--remove", action="store_true", help="Delete the demo's health history and error groups, and stop.")
        parser.add_argument("--url", default=None, help="Base URL of a running server to send demo traffic to, e.g. http://127.0.0.1:8000.")
        parser.add_argument(
            "--traffic",
            nargs="*",
            default=None,
            metavar="PATH",
            help="Paths requested with --url (default: this app's own URLs: health probes, /metrics, the admin login, a 404).",
        )
        parser.add_argument("--repeat", type=int, default=3, help="How many times the traffic list is sent with --url (default 3).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "observe_demo writes demo data (an admin user, error groups, health history) into this project's database, "
                "and DEBUG is off, which usually means production. Run it with DEBUG on, or add --force if this really is a demo."
            )
        if options["repeat"] < 0:
            raise CommandError("--repeat must be 0 or more.")
        if not options["no_user"] and not options["username"].strip():
            raise CommandError("--username must not be empty (or pass --no-user).")
        if options["url"]:
            try:
                target = urlsplit(options["url"])
                target.port  # noqa: B018  (raises on a malformed port)
                valid = target.scheme in ("http", "https") and bool(target.hostname)
            except ValueError:  # e.g. an unclosed IPv6 bracket
                valid = False
            if not valid:
                raise CommandError(f"--url must be the base URL of a running server, e.g. http://127.0.0.1:8000; got {options['url']!r}.")
        if options["traffic"] is not None and not options["url"]:
            raise CommandError("--traffic needs --url: traffic is sent over HTTP to the running server, whose metrics it fills.")
        if options["remove"]:
            removed = {"error groups": demo_errors.remove(), **{f"health {k}": v for k, v in demo_health.remove().items()}}
            self.stdout.write("Demo data removed: " + ", ".join(f"{count} {what}" for what, count in removed.items()) + ".")
            return
        if not options["no_user"]:
            self._user(options["username"], options["password"])
        if not options["no_history"]:
            anchor = demo.anchor()
            health = demo_health.fill(anchor)
            errors = demo_errors.fill(anchor)
            self.stdout.write(
                f"Health history: {health['runs']} runs of the configured checks over 30 days ({health['results']} results, "
                f"{health['incidents']} incidents)."
            )
            self.stdout.write(f"Errors: {errors['groups']} demo error groups, {errors['events']} stored events, over 30 days.")
        if options["url"]:
            paths = options["traffic"] if options["traffic"] else traffic.default_paths()
            statuses = traffic.send(options["url"], paths, options["repeat"])
            summary = ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(statuses.items()))
            self.stdout.write(f"Demo traffic to {options['url']}: {sum(statuses.values())} requests ({summary}).")
            if statuses.get(0):
                raise CommandError(f"{statuses[0]} requests got no answer: is the server running at {options['url']}?")

    def _user(self, username: str, password: str | None) -> None:
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            password = password or secrets.token_urlsafe(12)
            User._default_manager.create_superuser(username, f"{username}@example.com", password)
            self.stdout.write(self.style.SUCCESS("Admin user created:"))
            self.stdout.write(f"  username: {username}\n  password: {password}")
            return
        # Never touch an existing account: no new password, no promotion.
        if password and user.check_password(password):
            self.stdout.write(f"Admin user {username!r} exists (unchanged); the given password is its password.")
        else:
            self.stdout.write(f"User {username!r} exists: left unchanged (its password was not changed).")
        if not (user.is_active and user.is_staff):
            self.stdout.write(
                self.style.WARNING(
                    f"User {username!r} is not active staff, so it cannot open the admin; observe_demo does not promote users."
                )
            )
