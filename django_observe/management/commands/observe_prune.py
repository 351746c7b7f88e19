"""``manage.py observe_prune``: retention for the local error store (errors/retention.py) and the health history."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...conf import get_settings
from ...errors import retention
from ...health import history


class Command(BaseCommand):
    help = (
        "Delete stored error events older than --days, the oldest events beyond --max-events, hourly counts older "
        "than --days, and groups not seen for --inactive-days that have no stored event left. Deletes in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        conf = get_settings()
        parser.add_argument(
            "--days",
            type=int,
            default=conf.ERRORS_RETENTION_DAYS,
            help=f"Keep events this many days (default ERRORS_RETENTION_DAYS = {conf.ERRORS_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--max-events",
            type=int,
            default=conf.ERRORS_MAX_EVENTS,
            help=f"Keep at most this many events (default ERRORS_MAX_EVENTS = {conf.ERRORS_MAX_EVENTS}).",
        )
        parser.add_argument(
            "--inactive-days",
            type=int,
            default=None,
            help="Delete groups not seen for this many days once they have no events (default: --days).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per statement (default {retention.DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        days, max_events, dry = options["days"], options["max_events"], options["dry_run"]
        limits = {
            "--days": (days, 1, 36_500),
            "--inactive-days": (options["inactive_days"], 1, 36_500),
            "--max-events": (max_events, 0, 10**12),
            "--batch-size": (options["batch_size"], 1, 1_000_000),
        }
        for flag, (value, low, high) in limits.items():
            if value is not None and not low <= value <= high:
                raise CommandError(f"{flag} must be between {low} and {high}; got {value}.", returncode=2)
        try:
            pruned = retention.prune(
                days=days,
                max_events=max_events,
                inactive_days=options["inactive_days"],
                batch_size=options["batch_size"],
                dry_run=dry,
                now=now,
            )
        except ValueError:
            self.stderr.write("--days and --inactive-days must be at least 1, --max-events at least 0.")
            raise SystemExit(2) from None
        verb = "Would delete" if dry else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.old_events} event(s) older than {days} days, {pruned.excess_events} event(s) beyond {max_events}, "
            f"{pruned.hourly_counts} hourly count(s), {pruned.inactive_groups} inactive group(s)."
        )
        if not dry:
            # Health history has its own retention (HEALTH_HISTORY_DAYS); one command prunes both.
            removed = history.prune(now)
            self.stdout.write("Health history: deleted " + ", ".join(f"{count} {kind}" for kind, count in removed.items()) + ".")
