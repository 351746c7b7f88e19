import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")

application = get_asgi_application()

if os.environ.get("BENCH_PROTOTYPES"):
    # Bench-only monkeypatches of django_observe (bench/prototypes.py), to measure a change before it is made.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import prototypes

    prototypes.apply(os.environ["BENCH_PROTOTYPES"])
