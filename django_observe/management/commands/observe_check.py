"""``manage.py observe_check``: run the health checks now; print a table or JSON; optionally record.

Exit status: 0 healthy or degraded, 1 unhealthy (a critical check failed or timed
out) or ``--record`` could not store the run, 2 usage error. ``--loop --interval S``
keeps running (and recording with ``--record``) for deployments without Celery beat;
it stops on SIGTERM, Ctrl-C or after ``--max-runs``, and its exit status is that of
its last completed run (a run it could not record is reported on stderr, and it goes on).
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from ...conf import get_settings
from ...health import runner as health_runner

#: Longest --interval accepted: a health loop slower than daily is a mistake (and Event.wait overflows near 2**63 ns).
MAX_INTERVAL = 86_400.0


class Command(BaseCommand):
    help = "Run the health checks now. Exit 0 healthy, 1 unhealthy, 2 usage error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object per run instead of a table.")
        parser.add_argument("--record", action="store_true", help="Store the run in the health history (admin: Health).")
        parser.add_argument("--loop", action="store_true", help="Run again every --interval seconds until stopped.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between runs with --loop (default 60, at most 86400).")
        parser.add_argument("--max-runs", type=int, default=None, help="With --loop: stop after this many runs (0: never).")
        parser.add_argument("--check", action="append", dest="checks", metavar="NAME", help="Run only this check (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if interval is not None and not options["loop"]:
            raise CommandError("--interval needs --loop.", returncode=2)
        if interval is not None and not (math.isfinite(interval) and 0 < interval <= MAX_INTERVAL):
            # float() accepts "inf" and "nan": inf made the wait overflow, nan made it never wait.
            raise CommandError(
                f"--interval must be a number of seconds above 0 and at most {MAX_INTERVAL:g}; got {interval}.", returncode=2
            )
        if options["max_runs"] is not None and not options["loop"]:
            raise CommandError("--max-runs needs --loop.", returncode=2)
        if (options["max_runs"] or 0) < 0:
            raise CommandError("--max-runs must be 0 (no limit) or more.", returncode=2)
        known = [spec.name for spec in health_runner.specs()]
        wanted = options["checks"]
        if wanted:
            unknown = sorted(set(wanted) - set(known))
            if unknown:
                raise CommandError(f"Unknown check {unknown[0]!r}; configured checks: {', '.join(known)}.", returncode=2)
        if not options["loop"]:
            status = self._run_once(wanted, options)
            if status == health_runner.UNHEALTHY:
                sys.exit(1)
            return
        if self._loop(wanted, options, interval or 60.0) == health_runner.UNHEALTHY:
            sys.exit(1)

    def _loop(self, wanted: list[str] | None, options: dict[str, Any], interval: float) -> str:
        """Run until stopped; the status of the last completed run (healthy when none completed)."""
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        runs = 0
        last = health_runner.HEALTHY
        try:
            while not stop.is_set():
                began = time.monotonic()
                last = self._run_once(wanted, options)
                runs += 1
                if options["max_runs"] and runs >= options["max_runs"]:
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - began)))
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        return last

    def _run_once(self, wanted: list[str] | None, options: dict[str, Any]) -> str:
        results, started_at, duration = health_runner.run_all_fresh(wanted)
        status = health_runner.overall(results)
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(results, status, started_at)))
        else:
            self._table(results, status)
        if options["record"]:
            from ...health.history import record

            try:
                record(results, trigger="loop" if options["loop"] else "command", started_at=started_at, duration=duration)
            except DatabaseError as exc:
                reason = (str(exc).strip().splitlines() or [""])[0]
                message = f"Could not record the run ({type(exc).__name__}: {reason}). Is the database reachable and migrated?"
                if not options["loop"]:
                    raise CommandError(message) from None
                self.stderr.write(message)  # a loop outlives a database blip: the next run records again
        return status

    def _table(self, results: list[health_runner.CheckResult], status: str) -> None:
        width = max([len(result.name) for result in results] + [5])
        self.stdout.write(f"{'CHECK':<{width}}  {'STATUS':<7}  {'CRIT':<4}  {'MS':>8}  DETAIL")
        for result in results:
            style = {"pass": self.style.SUCCESS, "warn": self.style.WARNING}.get(result.status, self.style.ERROR)
            self.stdout.write(
                f"{result.name:<{width}}  {style(f'{result.status:<7}')}  {'yes' if result.critical else 'no':<4}  "
                f"{result.response_time_ms:>8.1f}  {result.message}"
            )
        style = {"healthy": self.style.SUCCESS, "degraded": self.style.WARNING}.get(status, self.style.ERROR)
        self.stdout.write(style(f"overall: {status}"))


def _as_json(results: list[health_runner.CheckResult], status: str, started_at: Any) -> dict[str, Any]:
    conf = get_settings()
    return {
        "status": status,
        "version": conf.VERSION,
        "environment": conf.ENVIRONMENT,
        "timestamp": (started_at or timezone.now()).isoformat(),
        "checks": {result.name: result.detail() for result in results},
    }
