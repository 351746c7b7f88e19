"""Added cost of the seed-parity hooks (issue 14), in-process, µs per call.

    python bench/micro_seeds.py [--n 20000] [--repeat 7]

- auth: Django's ``user_logged_in`` / ``user_login_failed`` signals sent with and without our
  receivers (the failed one also writes its WARNING line to a file);
- outbound: a ``requests.Session.send`` stand-in called directly and through our hook, an empty
  ``observe.dependency()`` block, and a real ``requests.get`` to a local server with hooks off/on;
- log lines: one stdlib INFO line through ObserveHandler to a file with ``LOG_CALLSITE`` off and on.

Each figure is the best of ``--repeat`` timed loops (CPU time, process_time): the machine is
shared, and the best run is the one least disturbed by others. The real requests.get figures
are the median of five alternating off/on rounds against a local server in another process.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def best_us(action: Callable[[], Any], n: int, repeat: int) -> float:
    for _ in range(min(n, 2000)):
        action()
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(n):
            action()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def setup(log_file: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_observe"],
        DATABASES={},
        ROOT_URLCONF=__name__,
        OBSERVE={"LOG_FILE": log_file, "SENTRY_ENABLED": False, "ERRORS_ENABLED": False, "METRICS_DATABASE": False},
    )
    globals()["urlpatterns"] = []
    django.setup()


class _Request:
    META = {"REMOTE_ADDR": "127.0.0.1"}


def bench_auth(n: int, repeat: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import update_last_login
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    from django_observe.metrics import auth

    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")  # a DB write: not ours to time
    user = get_user_model()(username="bench", pk=1)
    request = _Request()
    credentials = {"username": "bench", "password": "********************"}

    def login() -> None:
        user_logged_in.send(sender=type(user), request=request, user=user)

    def failed() -> None:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)

    results = {}
    auth.connect()  # ready() did it already; idempotent
    for connected in (True, False):
        if not connected:
            user_logged_in.disconnect(dispatch_uid="django_observe.auth.logged_in")
            user_login_failed.disconnect(dispatch_uid="django_observe.auth.login_failed")
        suffix = "on" if connected else "off"
        results[f"login signal, receivers {suffix}"] = best_us(login, n, repeat)
        results[f"failed-login signal, receivers {suffix}"] = best_us(failed, n // 4, repeat)
    return results


_SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def bench_outbound(n: int, repeat: int) -> dict[str, float]:
    import requests
    from django.test import override_settings

    from django_observe import observe, outbound

    class Response:
        status_code = 200

    response = Response()

    def send(session: Any, request: Any, **kwargs: Any) -> Any:
        return response

    prepared = requests.Request("GET", "http://api.example.com/v1/generate").prepare()
    hooked_send = outbound._wrap_requests(send)
    gemini = observe.dependency("gemini", "generate")

    def empty_block() -> None:
        with gemini:
            pass

    results = {}
    with override_settings(
        OBSERVE={"OUTBOUND_HOOKS": ["requests"], "OUTBOUND_SERVICES": {"api.example.com": "gemini"}, "SENTRY_ENABLED": False}
    ):
        results["send stand-in, direct"] = best_us(lambda: send(None, prepared), n, repeat)
        results["send stand-in, through the hook"] = best_us(lambda: hooked_send(None, prepared), n, repeat)
        results["empty observe.dependency() block"] = best_us(empty_block, n, repeat)

        # The server runs in its own process: CPU time then counts the client's work only.
        server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/"
        session = requests.Session()
        calls = max(200, n // 40)
        # Alternating rounds: a real call (and the server thread in this process) varies by more
        # than the hook costs, so one off-then-on pair would mostly measure the drift between them.
        rounds: dict[str, list[float]] = {"off": [], "on": []}
        mapping = {"OUTBOUND_HOOKS": ["requests"], "OUTBOUND_SERVICES": {f"127.0.0.1:{port}": "local"}}
        for _ in range(5):
            rounds["off"].append(best_us(lambda: session.get(url), calls, 2))
            with override_settings(OBSERVE=mapping):
                outbound.install_hooks()
                rounds["on"].append(best_us(lambda: session.get(url), calls, 2))
            outbound.uninstall_hooks()
        server.terminate()
        server.wait()
        results["requests.get to a local server, hooks off"] = statistics.median(rounds["off"])
        results["requests.get to a local server, hooks on"] = statistics.median(rounds["on"])
    return results


def bench_log_lines(n: int, repeat: int, log_file: str) -> dict[str, float]:
    from django.test import override_settings

    from django_observe import logging as observe_logging
    from django_observe.conf import DEFAULTS

    logger = logging.getLogger("bench.views")
    results = {}
    settings_on = {"LOG_FILE": log_file, "SENTRY_ENABLED": False}
    variants = [("off", False)] + ([("on", True)] if "LOG_CALLSITE" in DEFAULTS else [])
    rounds: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(5):  # alternating, median: the first variant would otherwise pay the warm-up
        for label, callsite in variants:
            extra = {"LOG_CALLSITE": True} if callsite else {}
            with override_settings(OBSERVE={**settings_on, **extra}):
                observe_logging.configure()
                rounds[label].append(best_us(lambda: logger.info("Processing job", extra={"job_id": "j1"}), n // 4, max(2, repeat // 2)))
    for label, values in rounds.items():
        results[f"INFO line to a file, callsite {label}"] = statistics.median(values)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    log_file = os.path.join(tempfile.mkdtemp(prefix="observe-seeds-"), "bench.log")
    setup(log_file)
    results: dict[str, float] = {}
    results.update(bench_auth(args.n, args.repeat))
    results.update(bench_outbound(args.n, args.repeat))
    results.update(bench_log_lines(args.n, args.repeat, log_file))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:8.2f} µs")
    pairs = [
        ("login signal", "login signal, receivers off", "login signal, receivers on"),
        ("failed login (+ its WARNING line)", "failed-login signal, receivers off", "failed-login signal, receivers on"),
        ("outbound hook per call", "send stand-in, direct", "send stand-in, through the hook"),
        ("requests.get, hooks on vs off", "requests.get to a local server, hooks off", "requests.get to a local server, hooks on"),
        ("log line with module/function/line", "INFO line to a file, callsite off", "INFO line to a file, callsite on"),
    ]
    print()
    for label, off, on in pairs:
        if off in results and on in results:
            print(f"added by {label}: {results[on] - results[off]:+.2f} µs ({results[on] / results[off]:.2f}x)")


if __name__ == "__main__":
    main()
