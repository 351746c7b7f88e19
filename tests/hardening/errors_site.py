"""The testproject with a second database alias for the error store (``OBSERVE['ERRORS_DATABASE'] = "errors"``).

Used by subprocess servers of the error store's fault tests: ``OBSERVE_TEST_ERRORS_DB`` holds
the alias's DATABASES entry as JSON (a locked SQLite file, a PostgreSQL "server" that never
answers), so the site's own database stays healthy while the error store's is not.
"""

from __future__ import annotations

import json
import os

from testproject.settings import *  # noqa: F403
from testproject.settings import DATABASES, OBSERVE

DATABASES["errors"] = json.loads(os.environ["OBSERVE_TEST_ERRORS_DB"])
OBSERVE["ERRORS_DATABASE"] = "errors"
