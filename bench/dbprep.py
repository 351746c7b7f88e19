#!/usr/bin/env python
"""A fresh database for one stack, with the same schema for every stack.

    STACK=bare [BENCH_DB=sqlite|postgresql] python dbprep.py

Every stack's database is migrated with the bench app's migrations, the stack's own apps' AND
django-observe's (``BENCH_SCHEMA_OBSERVE=1`` adds the app while migrating, see settings.py): bare
Django then opens the same ~30 schema objects on each new connection as the observe stack does.
(SQLite parses the whole schema when a connection runs its first statement: with observe's
tables in only one of the two databases, ``/db`` compared schema sizes, not code.)

Migrating from scratch takes seconds (the project stacks: contrib apps + observe), so the
migrated database is kept as a template, keyed by the stack and a hash of every migration file
and the Django version, and copied for each run: SQLite copies the file, PostgreSQL uses
``CREATE DATABASE ... TEMPLATE``. The copy is fresh (empty error tables) every run.

Prints one line: what it made and how.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))
STACK = os.environ.get("STACK", "bare")
DB = os.environ.get("BENCH_DB", "sqlite")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://observe:observe@127.0.0.1:5432/observe")


def schema_key() -> str:
    """Changes whenever a migration the stack runs could have changed."""
    import django

    import django_observe

    digest = hashlib.sha256(f"{STACK} {django.get_version()}".encode())
    roots = [SITE / "core" / "migrations", Path(django_observe.__file__).parent / "migrations"]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def migrate(env_extra: dict[str, str]) -> None:
    env = dict(os.environ, STACK=STACK, BENCH_SCHEMA_OBSERVE="1", **env_extra)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [sys.executable, str(SITE / "manage.py"), "migrate", "--noinput", "--skip-checks", "-v0"],
        env=env,
        check=True,
        timeout=600,
        cwd=str(SITE),
    )


def sqlite() -> str:
    target = Path(os.environ.get("BENCH_DB_FILE") or STATE / f"db-{STACK}.sqlite3")
    template = STATE / f"tpl-{STACK}-{schema_key()}.sqlite3"
    made = "cached template"
    if not template.exists():
        for old in STATE.glob(f"tpl-{STACK}-*.sqlite3"):
            old.unlink()
        partial = template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        migrate({"BENCH_DB": "sqlite", "BENCH_DB_FILE": str(partial)})
        partial.rename(template)
        made = "new template"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"{target} ({made})"


def postgresql() -> str:
    import psycopg
    from psycopg import sql

    name = "obsbench_" + STACK.replace("-", "_")
    template = f"obsbench_tpl_{STACK.replace('-', '_')}"
    key = schema_key()
    made = "cached template"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        row = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if row is None or row[0] != key:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
            # settings.py names the database after STACK: migrate the template under that name first.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            migrate({"BENCH_DB": "postgresql"})
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
            admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(name), sql.Identifier(template)))
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(template), sql.Literal(key)))
            made = "new template"
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return f"postgresql database {name} ({made})"


def main() -> int:
    started = time.perf_counter()
    sys.path.insert(0, str(SITE))
    STATE.mkdir(parents=True, exist_ok=True)
    what = sqlite() if DB == "sqlite" else postgresql()
    print(f"dbprep: STACK={STACK} {what} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
