"""``python -m django_observe.monitoring > docs/runbooks/index.md``: regenerate the runbook index."""

from .rules import render_index

print(render_index(), end="")
