"""Admin pages: errors and health (one module each)."""

from . import (
    errors,  # noqa: F401
    health,  # noqa: F401
)
