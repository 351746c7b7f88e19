"""gunicorn settings that cProfile every worker (profile_http.sh): observe's hooks plus a profiler.

Each worker starts cProfile after it initialised and dumps ``$BENCH_PROFILE_DIR/worker-<pid>.prof``
when it exits, so the HTTP path (gunicorn parsing, sockets, the app) is profiled as served.
"""

import cProfile
import os

try:
    from gunicorn_conf import *  # noqa: F403  (child_exit for multiprocess metrics)
except Exception:  # the bare and peers stacks run without it
    pass

_profiler = cProfile.Profile()


def post_worker_init(worker):
    """Start profiling once the app is loaded: only request handling is measured."""
    _profiler.enable()


def worker_exit(server, worker):
    """Dump this worker's profile."""
    _profiler.disable()
    _profiler.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"], f"worker-{os.getpid()}.prof"))
