"""Health history: recorded runs, per-check results, rollups and incidents.

Everything is keyed by the check's configured ``name`` (never ``repr()``), so a
renamed class or a changed option keeps its history. Written by
``django_observe.health.history`` only; the admin reads it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

STATUS_CHOICES = [("pass", "pass"), ("warn", "warn"), ("fail", "fail"), ("timeout", "timeout")]
OVERALL_CHOICES = [("healthy", "healthy"), ("degraded", "degraded"), ("unhealthy", "unhealthy")]


class HealthCheckRun(models.Model):
    """One recorded run of the checks (``observe_check --record``, the beat task, the loop)."""

    started_at = models.DateTimeField(db_index=True)
    trigger = models.CharField(max_length=20, default="command")
    host = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=10, choices=OVERALL_CHOICES)
    duration_ms = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("health check run")
        verbose_name_plural = _("health check runs")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class HealthCheckResult(models.Model):
    """The outcome of one check in a recorded run."""

    run = models.ForeignKey(HealthCheckRun, on_delete=models.CASCADE, related_name="results")
    check_name = models.CharField(max_length=100)
    # Denormalised from the run: uptime and rollup queries filter by (check, time) alone.
    checked_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=STATUS_CHOICES)
    critical = models.BooleanField(default=True)
    duration_ms = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True, default="")
    error_class = models.CharField(max_length=200, blank=True, default="")
    observed_value = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["check_name", "checked_at"], name="observe_hresult_check_time")]
        verbose_name = _("health check result")
        verbose_name_plural = _("health check results")

    def __str__(self) -> str:
        return f"{self.check_name}: {self.status}"


class HealthRollup(models.Model):
    """Per check and minute / hour / day: count, failures, warnings and latency (avg, p95, max)."""

    PERIODS = [("minute", "minute"), ("hour", "hour"), ("day", "day")]

    check_name = models.CharField(max_length=100)
    period = models.CharField(max_length=6, choices=PERIODS)
    bucket_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    total_ms = models.FloatField(default=0.0)
    max_ms = models.FloatField(default=0.0)
    p95_ms = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["check_name", "period", "bucket_start"]
        constraints = [
            models.UniqueConstraint(fields=["check_name", "period", "bucket_start"], name="observe_hrollup_unique"),
        ]
        indexes = [models.Index(fields=["period", "bucket_start"], name="observe_hrollup_time")]
        verbose_name = _("health rollup")
        verbose_name_plural = _("health rollups")

    def __str__(self) -> str:
        return f"{self.check_name} {self.period} {self.bucket_start:%Y-%m-%d %H:%M}"

    @property
    def avg_ms(self) -> float:
        """Mean duration of the bucket's runs."""
        return self.total_ms / self.count if self.count else 0.0


class HealthIncident(models.Model):
    """A check that went DOWN (N consecutive failures) until it recovered."""

    check_name = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_error_class = models.CharField(max_length=200, blank=True, default="")
    first_message = models.CharField(max_length=500, blank=True, default="")
    failure_count = models.PositiveIntegerField(default=0)
    # Reopened within the flap window instead of opening a new incident.
    flapping = models.BooleanField(default=False)
    reopen_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["check_name", "resolved_at"], name="observe_hincident_open")]
        verbose_name = _("health incident")
        verbose_name_plural = _("health incidents")

    def __str__(self) -> str:
        return f"{self.check_name} since {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        """True until the check recovers."""
        return self.resolved_at is None


class Health(HealthCheckRun):
    """Admin entry point of the Health page (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("health")
        verbose_name_plural = _("health")
