"""``python -m django_observe.conf > docs/settings.md``: the settings reference."""

from . import render_reference

print(render_reference(), end="")
