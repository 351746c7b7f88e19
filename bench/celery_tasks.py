"""Per-task cost of django-observe in a real Celery worker: 2,000 trivial tasks, with and without the app.

    python bench/celery_tasks.py [--n 2000] [--rounds 3] [--broker amqp://guest:guest@127.0.0.1:5672//]

Each run fills a fresh queue with ``--n`` tasks of ``bench.noop`` (returns at once, no result
stored), then starts one worker (solo pool, so one process does everything) on the same Django
settings but for the variant, and lets it drain the queue. The task itself notes ``time.time()``
and ``time.process_time()`` (CPU of the whole worker process, consumer included) when it runs
task number ``--warmup`` and the last one, so worker start-up is not counted. Variants, in an
order rotated every round (a drifting machine favours none):

- ``bare``: Django without django-observe (Celery's own logging at WARNING: no line per task);
- ``observe``: ``INSTALLED_APPS += ["django_observe"]`` with its defaults: task metrics in
  Prometheus multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, as under a prefork pool), two JSON
  task lines per task to a file, request-id context;
- ``observe-finish``: the same with ``CELERY_TASK_LOG = "finish"`` (one line per task);
- ``observe-off``: ``CELERY_TASK_LOG = "off"`` (metrics and context only);
- ``observe-lean``: ``"off"`` and no ``PROMETHEUS_MULTIPROC_DIR`` (a solo or threads worker
  scraped on ``CELERY_EXPORTER_PORT``: metrics in memory, no file writes).

Prints one Markdown table: median µs per task (wall and worker CPU) and the added share
against ``bare``. Needs RabbitMQ (or ``--broker redis://...``); only 127.0.0.1 is used, every
worker is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("bare", "observe", "observe-finish", "observe-off", "observe-lean")

SETTINGS = textwrap.dedent(
    """
    import json, os
    SECRET_KEY = "bench-only-" + "x" * 40
    DEBUG = False
    ALLOWED_HOSTS = ["127.0.0.1"]
    VARIANT = os.environ["BENCH_VARIANT"]
    INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
    if VARIANT != "bare":
        INSTALLED_APPS.append("django_observe")
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"]}}
    USE_TZ = True
    CELERY_BROKER_URL = os.environ["BENCH_BROKER"]
    CELERY_TASK_DEFAULT_QUEUE = os.environ["BENCH_QUEUE"]
    CELERY_TASK_IGNORE_RESULT = True
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
    OBSERVE = {"SERVICE_NAME": "bench", "ENVIRONMENT": "production", "LOG_FILE": os.environ["BENCH_LOG"],
               "CELERY_TASK_LOG": {"observe": "all", "observe-finish": "finish"}.get(VARIANT, "off")}
    """
)

APP = textwrap.dedent(
    """
    import json, os, time
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obsbench_celery.settings")
    from celery import Celery
    app = Celery("obsbench")
    app.config_from_object("django.conf:settings", namespace="CELERY")

    @app.task(name="bench.noop", ignore_result=True)
    def noop(number, mark_at, last, path):
        if number == mark_at or number == last:
            with open(path, "a") as marks:
                marks.write(json.dumps([number, time.time(), time.process_time()]) + "\\n")
    """
)


MICRO = textwrap.dedent(
    """
    import os, sys, time, uuid
    import django
    django.setup()
    from obsbench_celery.app import app, noop
    from celery.app.trace import build_tracer
    if os.environ["BENCH_VARIANT"] != "bare":
        from django_observe.celery.logs import quiet_celery_task_lines
        quiet_celery_task_lines()  # what the worker's setup_logging receiver does
    tracer = build_tracer(noop.name, noop, eager=False, app=app, hostname="bench")
    request = {"id": "x", "task": noop.name, "delivery_info": {}, "hostname": "bench", "retries": 0, "headers": {}}
    args = [5, 0, 0, os.devnull]
    def one():
        tracer(uuid.uuid4().hex, args, {}, request)
    for _ in range(2000):
        one()
    n, best = int(sys.argv[1]), float("inf")
    for _ in range(int(sys.argv[2])):
        started = time.process_time()
        for _ in range(n):
            one()
        best = min(best, (time.process_time() - started) / n * 1e6)
    print(best)
    """
)


def write_project(directory: Path) -> None:
    package = directory / "obsbench_celery"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS)
    (package / "app.py").write_text(APP)
    (package / "micro.py").write_text(MICRO)


def publish(broker: str, queue: str, n: int, warmup: int, marks: Path) -> None:
    import kombu
    from celery import Celery

    app = Celery("obsbench-publisher", broker=broker, set_as_current=False)
    app.conf.broker_read_url = app.conf.broker_write_url = broker  # the CELERY_BROKER_URL env var must not win
    with kombu.Connection(broker) as connection, app.producer_or_acquire() as producer:
        del connection
        for number in range(n):
            app.send_task("bench.noop", args=(number, warmup, n - 1, str(marks)), queue=queue, producer=producer, ignore_result=True)
    app.close()


def run(variant: str, args: argparse.Namespace, scratch: Path) -> tuple[float, float]:
    """(wall µs per task, worker CPU µs per task) of one drained queue."""
    queue = f"obsbench-{uuid.uuid4().hex[:8]}"
    marks = scratch / f"{queue}.marks"
    publish(args.broker, queue, args.n, args.warmup, marks)
    env = _env(variant, scratch, args.broker, queue, scratch / f"{queue}.jsonl", scratch / f"{queue}-prom")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "obsbench_celery.app",
        "worker",
        "--pool=solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@localhost",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]
    output = open(scratch / f"{queue}.out", "wb")
    worker = subprocess.Popen(command, cwd=scratch, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + args.timeout
        while True:
            lines = marks.read_text().splitlines() if marks.exists() else []
            if len(lines) >= 2:
                break
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{variant}: the worker did not drain the queue:\n{(scratch / f'{queue}.out').read_text()[-3000:]}")
            time.sleep(0.2)
    finally:
        _stop(worker)
        output.close()
        _delete_queue(args.broker, queue)
    (first, wall0, cpu0), (last, wall1, cpu1) = sorted(json.loads(line) for line in lines[:2])
    tasks = last - first
    return (wall1 - wall0) / tasks * 1e6, (cpu1 - cpu0) / tasks * 1e6


def micro(variant: str, scratch: Path, n: int, repeat: int) -> float:
    """CPU µs of one task run through Celery's tracer in-process (signals included, no broker), best of ``repeat``."""
    env = _env(variant, scratch, "memory://", "micro", scratch / "micro.jsonl", scratch / "micro-prom")
    result = subprocess.run(
        [sys.executable, "-m", "obsbench_celery.micro", str(n), str(repeat)],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return float(result.stdout.strip().splitlines()[-1])


def _env(variant: str, scratch: Path, broker: str, queue: str, log: Path, multiproc: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROMETHEUS_MULTIPROC", "DJANGO_SETTINGS", "OBSERVE_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(scratch), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "obsbench_celery.settings",
            "BENCH_VARIANT": variant,
            "BENCH_BROKER": broker,
            "BENCH_QUEUE": queue,
            "BENCH_DB": str(scratch / "db.sqlite3"),
            "BENCH_LOG": str(log),
            "CELERY_BROKER_URL": broker,
        }
    )
    if variant not in ("bare", "observe-lean"):
        multiproc.mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    return env


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM the worker's process group (we started it), SIGKILL after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        if worker.poll() is not None:
            return
        try:
            os.killpg(worker.pid, sig)
        except ProcessLookupError:
            return
        try:
            worker.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _delete_queue(broker: str, queue: str) -> None:
    import kombu

    try:
        with kombu.Connection(broker) as connection:
            connection.default_channel.queue_delete(queue)
    except Exception:  # the broker cleans up unused queues eventually; a bench must not fail on it
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="tasks per run (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="tasks before the timed part starts (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from " + ", ".join(VARIANTS))
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one run may take")
    parser.add_argument("--micro-n", type=int, default=3000, help="tasks per timed loop of the in-process part (0: skip it)")
    args = parser.parse_args()
    variants = [name for name in args.variants.split(",") if name]
    if "bare" not in variants:
        parser.error("--variants must include bare (the baseline)")
    scratch = Path(tempfile.mkdtemp(prefix="obsbench-celery-"))
    write_project(scratch)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    traced: dict[str, float] = {}
    try:
        for round_number in range(args.rounds):
            shift = round_number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                wall, cpu = run(variant, args, scratch)
                results[variant].append((wall, cpu))
                print(f"round {round_number + 1} {variant}: {wall:.1f} µs wall, {cpu:.1f} µs CPU per task", file=sys.stderr, flush=True)
        if args.micro_n:
            for variant in variants:
                traced[variant] = min(micro(variant, scratch, args.micro_n, 7) for _ in range(2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    best_bare = min(cpu for _, cpu in results["bare"])
    print(
        f"Worker runs: {args.n} trivial tasks each ({args.warmup} warm-up), {args.rounds} rounds, broker {args.broker.split('://')[0]}, solo pool."
    )
    print("CPU is the worker process's (consumer included); best = the least disturbed run of a shared machine.")
    print()
    print("| variant | worker CPU µs/task, best | added vs bare | median | wall µs/task, median | runs (CPU) |")
    print("|---|---|---|---|---|---|")
    for name in variants:
        cpus = [cpu for _, cpu in results[name]]
        wall = statistics.median(w for w, _ in results[name])
        runs = ", ".join(f"{cpu:.0f}" for cpu in cpus)
        print(
            f"| {name} | {min(cpus):.0f} | {(min(cpus) / best_bare - 1) * 100:+.1f} % | {statistics.median(cpus):.0f} | {wall:.0f} | {runs} |"
        )
    if traced:
        print()
        print(f"In-process: one task through Celery's tracer (its signals and ours, no broker), CPU µs, best of 14 × {args.micro_n}.")
        print(f"Added µs as a share of the best bare worker's CPU per task ({best_bare:.0f} µs):")
        print()
        print("| variant | µs per traced task | added µs | added per trivial task |")
        print("|---|---|---|---|")
        for name in variants:
            added = traced[name] - traced["bare"]
            print(f"| {name} | {traced[name]:.1f} | {added:+.1f} | {added / best_bare * 100:+.1f} % |")


if __name__ == "__main__":
    main()
