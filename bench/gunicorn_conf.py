"""gunicorn settings for the observe stack's HTTP runs (``--config python:gunicorn_conf`` style).

Multiprocess metrics need gunicorn hooks; django-observe ships them in
``django_observe.gunicorn``. Until that module exists in the installed version, the hook
prometheus_client documents for gunicorn is used instead, so the run still works.
"""

try:
    from django_observe.gunicorn import *  # noqa: F403  (child_exit, and whatever else it defines)

    BENCH_HOOKS = "django_observe.gunicorn"
except Exception:  # not landed yet (ImportError) or broken mid-edit: fall back, and say so
    from prometheus_client import multiprocess

    def child_exit(server, worker):
        """A dead worker's live gauges must not be summed any more."""
        multiprocess.mark_process_dead(worker.pid)

    BENCH_HOOKS = "fallback (prometheus_client.multiprocess.mark_process_dead)"
