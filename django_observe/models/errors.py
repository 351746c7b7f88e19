"""The local error tracker's tables: groups, sampled events, hourly counts, change history.

Written by ``errors.writes`` (counts with ``count = count + n`` in SQL, never
read-modify-write) and by the lifecycle actions in ``errors.lifecycle``; read by the admin.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorGroup(models.Model):
    """One problem: every event with the same grouping key, with its exact count and state."""

    class Status(models.TextChoices):
        UNRESOLVED = "unresolved", _("Unresolved")
        RESOLVED = "resolved", _("Resolved")
        MUTED = "muted", _("Muted")

    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True)
    grouping_version = models.PositiveSmallIntegerField(_("grouping version"), default=1)
    title = models.CharField(_("title"), max_length=255)
    culprit = models.CharField(_("culprit"), max_length=255, blank=True)
    level = models.CharField(_("level"), max_length=16, default="error")
    exc_type = models.CharField(_("exception type"), max_length=255, blank=True)
    logger = models.CharField(_("logger"), max_length=255, blank=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    count = models.BigIntegerField(_("events"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UNRESOLVED)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_in_release = models.CharField(_("resolved in release"), max_length=200, blank=True)
    muted_until = models.DateTimeField(_("muted until"), null=True, blank=True)
    muted_until_count = models.BigIntegerField(_("muted until count"), null=True, blank=True)
    regressed_at = models.DateTimeField(_("regressed at"), null=True, blank=True)
    last_release = models.CharField(_("last release"), max_length=200, blank=True)
    last_environment = models.CharField(_("last environment"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("error")
        verbose_name_plural = _("errors")
        ordering = ["-last_seen"]
        indexes = [
            models.Index(fields=["status", "-last_seen"], name="observe_group_status_seen"),
            models.Index(fields=["-last_seen"], name="observe_group_last_seen"),
            # The writer counts this hour's new groups (ERRORS_NEW_GROUPS_PER_HOUR) for every new
            # group: without it that COUNT reads the whole table each time.
            models.Index(fields=["first_seen"], name="observe_group_first_seen"),
        ]

    def __str__(self) -> str:
        return self.title


class ErrorEvent(models.Model):
    """One stored occurrence (a sample: counts live on the group), scrubbed and size-capped."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="events", verbose_name=_("error"))
    event_id = models.UUIDField(_("event id"), unique=True)
    timestamp = models.DateTimeField(_("timestamp"))
    level = models.CharField(_("level"), max_length=16, default="error")
    # The join to the logs: every log line of the request carries the same id.
    request_id = models.CharField(_("request id"), max_length=128, blank=True, db_index=True)
    transaction = models.CharField(_("transaction"), max_length=255, blank=True)
    release = models.CharField(_("release"), max_length=200, blank=True)
    environment = models.CharField(_("environment"), max_length=64, blank=True)
    user_id = models.CharField(_("user id"), max_length=64, blank=True)
    server_name = models.CharField(_("server"), max_length=255, blank=True)
    data = models.JSONField(_("event data"), default=dict)

    class Meta:
        verbose_name = _("error event")
        verbose_name_plural = _("error events")
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["group", "-timestamp"], name="observe_event_group_time"),
            models.Index(fields=["timestamp"], name="observe_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}"


class ErrorGroupHourly(models.Model):
    """Events per group per hour (exact), for sparklines; ``stored`` caps samples per hour."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="hourly")
    hour = models.DateTimeField(_("hour"))
    count = models.BigIntegerField(_("events"), default=0)
    stored = models.IntegerField(_("stored events"), default=0)

    class Meta:
        verbose_name = _("hourly error count")
        verbose_name_plural = _("hourly error counts")
        constraints = [models.UniqueConstraint(fields=["group", "hour"], name="observe_hourly_group_hour")]
        indexes = [models.Index(fields=["hour"], name="observe_hourly_hour")]


class ErrorGroupChange(models.Model):
    """History: who (or which event) changed a group's state, when, and how."""

    class Kind(models.TextChoices):
        CREATED = "created", _("First seen")
        RESOLVED = "resolved", _("Resolved")
        MUTED = "muted", _("Muted")
        UNMUTED = "unmuted", _("Unmuted")
        REOPENED = "reopened", _("Reopened")
        REGRESSED = "regressed", _("Regressed")

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(_("change"), max_length=16, choices=Kind.choices)
    # A username, not a foreign key: history outlives deleted users and needs no auth app.
    actor = models.CharField(_("by"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("error change")
        verbose_name_plural = _("error changes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["group", "-at"], name="observe_change_group_at")]
