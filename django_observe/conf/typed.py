"""The typed, frozen settings object ``get_settings()`` returns: one field per key of ``DEFAULTS``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class ObserveSettings:
    """The merged, valid OBSERVE settings (``get_settings().LOG_FORMAT``); one typed field per key of ``DEFAULTS``.

    Lists become tuples, ``LOG_FORMAT`` is lower case, ``LOG_LEVEL`` upper case, ``VERSION``
    and ``SENTRY_ENVIRONMENT`` are filled from their fallbacks, and ``REDACT_KEYS`` includes
    ``EXTRA_REDACT_KEYS`` (lower case). A test keeps these fields and ``DEFAULTS`` in step.
    """

    # identity
    SERVICE_NAME: str
    ENVIRONMENT: str
    VERSION: str
    # request ids
    REQUEST_ID_HEADER: str
    TRUST_REQUEST_ID: bool
    # logging
    CONFIGURE_LOGGING: bool
    LOG_FORMAT: str
    LOG_LEVEL: str
    LOG_FILE: str
    ACCESS_LOG: bool
    LOG_CLIENT_IP: bool
    SLOW_REQUEST_THRESHOLD: float
    REDACT_KEYS: tuple[str, ...]
    EXTRA_REDACT_KEYS: tuple[str, ...]
    LOG_BUFFER_SECONDS: float
    # metrics
    METRICS_ENABLED: bool
    METRICS_NAMESPACE: str
    METRICS_PATH: str
    METRICS_PATH_ALIASES: tuple[str, ...]
    METRICS_TOKENS: tuple[str, ...]
    METRICS_ALLOW_STAFF: bool
    METRICS_ALLOWED_IPS: tuple[str, ...]
    METRICS_PUBLIC: bool
    METRICS_LATENCY_BUCKETS: tuple[float, ...]
    METRICS_DATABASE: bool
    METRICS_CACHE: bool
    METRICS_SHARED_COMMANDS: tuple[str, ...]
    # health
    HEALTH_PATH: str
    HEALTH_CHECKS: Mapping[str, Any]
    HEALTH_DISABLED_CHECKS: tuple[str, ...]
    HEALTH_TOKENS: tuple[str, ...]
    HEALTH_CHECK_TIMEOUT: float
    HEALTH_DEADLINE: float
    HEALTH_CACHE_SECONDS: float
    HEALTH_FAILURE_THRESHOLD: int
    HEALTH_MIGRATIONS: str
    HEALTH_DISK_WARN_PERCENT: float
    HEALTH_DISK_FAIL_PERCENT: float
    HEALTH_MEMORY_WARN_PERCENT: float
    HEALTH_MEMORY_FAIL_PERCENT: float
    HEALTH_HISTORY_DAYS: int
    # errors / sentry
    ERRORS_ENABLED: bool
    ERRORS_DATABASE: str
    ERRORS_SYNC: bool
    ERRORS_QUEUE_SIZE: int
    ERRORS_EVENTS_PER_HOUR: int
    ERRORS_MAX_EVENT_BYTES: int
    ERRORS_RETENTION_DAYS: int
    ERRORS_MAX_EVENTS: int
    ERRORS_NEW_GROUPS_PER_HOUR: int
    ERRORS_CAPTURE_COMMANDS: bool
    SENTRY_ENABLED: bool
    SENTRY_DSN: str
    SENTRY_ENVIRONMENT: str
    SENTRY_TRACES_SAMPLE_RATE: float
    SENTRY_PROFILES_SAMPLE_RATE: float
    SENTRY_SEND_DEFAULT_PII: bool
    SENTRY_INTEGRATIONS: str
    SENTRY_BEFORE_SEND: str
    # tracing
    TRACE_IDS: bool
    # auth activity
    AUTH_METRICS: bool
    AUTH_LOG_FAILED_LOGINS: bool
    AUTH_LOG_USERNAME: str
    ACTIVE_USERS_METRIC: bool
    ACTIVE_USERS_WINDOW: int
    # outbound calls
    OUTBOUND_HOOKS: tuple[str, ...]
    OUTBOUND_SERVICES: Mapping[str, str]
    OUTBOUND_UNMAPPED_SERVICE: str
    OUTBOUND_REQUEST_ID: bool
    # seed-shaped fields and endpoints
    LOG_CALLSITE: bool
    ACCESS_LOG_PATH_AND_STATUS: bool
    HEALTH_ROOT_ALIASES: bool
    HEALTH_DEPENDENCY_WORDS: bool
    # celery
    CELERY_METRICS: bool
    CELERY_TASK_DURATION_BUCKETS: tuple[float, ...]
    CELERY_TASK_LOG: str
    CELERY_EXPORTER_PORT: int
    CELERY_EXPORTER_ADDRESS: str
    CELERY_PING_TIMEOUT: float
    CELERY_WORKERS_REFRESH_SECONDS: float
