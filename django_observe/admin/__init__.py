"""Admin pages: errors and health (one module each)."""
from . import errors  # noqa: F401,E402
from . import health  # noqa: F401,E402
