"""``python -m django_observe.metrics > docs/metrics.md``: regenerate the metrics reference."""

from .definitions import render_reference

print(render_reference(), end="")
