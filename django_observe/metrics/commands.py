"""Management commands and the server's metrics: a ``manage.py`` command keeps its metrics to itself.

With ``PROMETHEUS_MULTIPROC_DIR`` set (usually for every process of a container, commands
included), prometheus_client writes each process's values into files in that directory,
and the server's ``/metrics`` adds up every file it finds. A ``migrate`` or an
``observe_check`` run in the same container would then add its database queries, its
``build_info`` and its gauges to the live server's scrape. So, in a ``manage.py`` command
that is not listed in ``METRICS_SHARED_COMMANDS`` (servers and workers started with
``manage.py``), metric values are kept in the process's memory instead: nothing is written
to the directory. Metrics created before ``ready()`` (a project's own metrics defined at
import) may already have written their zero values there.
"""

from __future__ import annotations

import os
import sys

from .._compat import keep_metric_values_in_memory
from ..conf import get_settings
from .core import multiprocess_dir

_ADMIN_PROGRAMS = ("manage.py", "django-admin", "django-admin.py")


def running_command(argv: list[str] | None = None) -> str | None:
    """The subcommand of ``manage.py``/``django-admin``/``python -m django`` this process runs, else None (servers, workers, tests)."""
    argv = sys.argv if argv is None else argv
    if len(argv) < 2 or not argv[0]:
        return None
    program = os.path.basename(argv[0])
    is_admin = program in _ADMIN_PROGRAMS or argv[0].endswith(os.path.join("django", "__main__.py"))
    if not is_admin or argv[1].startswith("-"):
        return None
    return argv[1]


def keep_metrics_private() -> bool:
    """Called before the metrics are created: in a command not shared with the server, keep metric values in memory.

    Returns True when it did (a ``manage.py`` command not in ``METRICS_SHARED_COMMANDS``,
    with ``PROMETHEUS_MULTIPROC_DIR`` set).
    """
    if not multiprocess_dir():
        return False
    command = running_command()
    if command is None or command in get_settings().METRICS_SHARED_COMMANDS:
        return False
    keep_metric_values_in_memory()
    return True
