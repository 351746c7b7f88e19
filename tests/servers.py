"""Start the testproject under a real server (gunicorn or uvicorn) in a subprocess, for tests.

    with running_server("gunicorn", workers=2, env={"OBSERVE_...": ...}) as server:
        httpx.get(server.url + "/health/live")

The server gets its own database: a fresh SQLite file, or the real PostgreSQL of
DATABASE_URL (migrated first). Only 127.0.0.1 is used; the process is stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(extra: dict[str, str] | None = None, state_dir: str | None = None) -> dict[str, str]:
    """The environment a subprocess of the testproject runs with: own state dir and SQLite file."""
    # Servers run as in production: no test-only switches (OBSERVE_ERRORS_SYNC) from this process.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "OBSERVE_ERRORS_SYNC"))}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    state = state_dir or tempfile.mkdtemp(prefix="observe-server-")
    env.update({"DJANGO_SETTINGS_MODULE": "testproject.settings", "OBSERVE_STATE_DIR": state, "PYTHONPATH": str(ROOT)})
    env.setdefault("SQLITE_PATH", os.path.join(state, "db.sqlite3"))
    env.update(extra or {})
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


_MIGRATED: dict[str, str] = {}


def prepare_database(env: dict[str, str]) -> None:
    """A migrated database for a server: PostgreSQL migrated once per session, SQLite copied from a migrated template.

    Migrating costs seconds; doing it once keeps the integration tests fast.
    """
    database_url = env.get("DATABASE_URL")
    if database_url:
        if database_url not in _MIGRATED:
            _migrate(env)
            _MIGRATED[database_url] = database_url
        return
    if "sqlite" not in _MIGRATED:
        template = os.path.join(tempfile.mkdtemp(prefix="observe-template-"), "db.sqlite3")
        _migrate({**env, "SQLITE_PATH": template})
        _MIGRATED["sqlite"] = template
    shutil.copyfile(_MIGRATED["sqlite"], env["SQLITE_PATH"])


def _migrate(env: dict[str, str]) -> None:
    result = manage("migrate", "--noinput", "-v0", env=env)
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/health/live", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"server not up after {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


@contextlib.contextmanager
def running_server(
    kind: str = "gunicorn",
    workers: int = 1,
    env: dict[str, str] | None = None,
    migrate: bool = True,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Run testproject under ``gunicorn`` (WSGI, sync workers) or ``uvicorn`` (ASGI)."""
    full_env = server_env(env)
    if migrate:
        prepare_database(full_env)
    port = free_port()
    bindir = Path(sys.executable).parent
    if kind == "gunicorn":
        command = [
            str(bindir / "gunicorn"),
            "testproject.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            *extra_args,
        ]
    elif kind == "uvicorn":
        command = [
            str(bindir / "uvicorn"),
            "testproject.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--lifespan",
            "off",
            *extra_args,
        ]
    else:
        raise ValueError(kind)
    log_path = Path(full_env["OBSERVE_STATE_DIR"]) / f"{kind}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log_path)
        yield Server(url=url, process=process, log_path=log_path, env=full_env)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """TERM the process we started (its group: gunicorn's and uvicorn's workers), KILL after ``timeout``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
