"""Models of the error tracker and the health history (one module each)."""

from .errors import ErrorEvent, ErrorGroup, ErrorGroupChange, ErrorGroupHourly  # noqa: F401
from .health import Health, HealthCheckResult, HealthCheckRun, HealthIncident, HealthRollup  # noqa: F401
