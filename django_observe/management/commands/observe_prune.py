"""``manage.py observe_prune``: retention for the local error store, in batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ...conf import get_settings


class Command(BaseCommand):
    help = (
        "Delete stored error events older than --days, the oldest events beyond --max-events, hourly counts older "
        "than --days, and groups not seen for --inactive-days that have no stored event left. Deletes in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        conf = get_settings()
        parser.add_argument("--days", type=int, default=conf.ERRORS_RETENTION_DAYS, help=f"Keep events this many days (default ERRORS_RETENTION_DAYS = {conf.ERRORS_RETENTION_DAYS}).")
        parser.add_argument("--max-events", type=int, default=conf.ERRORS_MAX_EVENTS, help=f"Keep at most this many events (default ERRORS_MAX_EVENTS = {conf.ERRORS_MAX_EVENTS}).")
        parser.add_argument("--inactive-days", type=int, default=None, help="Delete groups not seen for this many days once they have no events (default: --days).")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per statement (default 1000).")
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        from ...models import ErrorEvent, ErrorGroup, ErrorGroupHourly

        alias = get_settings().ERRORS_DATABASE
        now = timezone.now()
        days, batch, dry = options["days"], max(1, options["batch_size"]), options["dry_run"]
        inactive_days = options["inactive_days"] if options["inactive_days"] is not None else days
        if days < 1 or options["max_events"] < 0 or inactive_days < 1:
            self.stderr.write("--days and --inactive-days must be at least 1, --max-events at least 0.")
            raise SystemExit(2)
        events = ErrorEvent.objects.using(alias)
        old = events.filter(timestamp__lt=now - timedelta(days=days))
        removed_old = self._delete(old, batch, dry)
        remaining = events.count() - (removed_old if dry else 0)
        excess = max(0, remaining - options["max_events"])
        removed_excess = 0
        if excess:
            # The oldest first; the newest events of every group survive longest.
            survivors = events.exclude(pk__in=old.values("pk")) if dry else events
            cutoff_ids = survivors.order_by("timestamp", "pk").values_list("pk", flat=True)[:excess]
            removed_excess = self._delete(events.filter(pk__in=list(cutoff_ids)), batch, dry)
        hourly = ErrorGroupHourly.objects.using(alias).filter(hour__lt=now - timedelta(days=days))
        removed_hourly = self._delete(hourly, batch, dry)
        groups = ErrorGroup.objects.using(alias).filter(last_seen__lt=now - timedelta(days=inactive_days))
        left = ErrorEvent.objects.using(alias).filter(group=OuterRef("pk"))
        if dry:  # the events this run would delete are still there: look at the ones it keeps
            left = left.filter(timestamp__gte=now - timedelta(days=days))
        groups = groups.filter(~Exists(left))
        removed_groups = self._delete(groups, batch, dry)
        verb = "Would delete" if dry else "Deleted"
        self.stdout.write(
            f"{verb} {removed_old} event(s) older than {days} days, {removed_excess} event(s) beyond {options['max_events']}, "
            f"{removed_hourly} hourly count(s), {removed_groups} inactive group(s)."
        )
        if not dry:
            # Health history has its own retention (HEALTH_HISTORY_DAYS); one command prunes both.
            from ...health.history import prune as prune_health

            removed = prune_health(now)
            self.stdout.write("Health history: deleted " + ", ".join(f"{count} {kind}" for kind, count in removed.items()) + ".")

    def _delete(self, queryset: QuerySet[Any], batch: int, dry: bool) -> int:
        if dry:
            return queryset.count()
        total = 0
        for _ in range(1_000_000):  # bounded: at most a billion rows at the default batch size
            ids = list(queryset.values_list("pk", flat=True)[:batch])
            if not ids:
                break
            queryset.model._base_manager.using(queryset.db).filter(pk__in=ids).delete()
            total += len(ids)
        return total
