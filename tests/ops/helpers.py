"""Shared helpers of the operations-kit tests: generate with the command, read rules and panels."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def export(*args: str) -> str:
    """stdout of ``manage.py observe_export ARGS``."""
    out = io.StringIO()
    call_command("observe_export", *args, stdout=out)
    return out.getvalue()


def rules_of(*args: str) -> dict[str, Any]:
    return yaml.safe_load(export("rules", *args))


def dashboard_of(*args: str) -> dict[str, Any]:
    return json.loads(export("dashboard", *args))


def all_rules(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules["groups"] for rule in group["rules"]]


def alerts_by_name(rules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in all_rules(rules) if "alert" in rule}


def panel_targets(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel (rows have none)."""
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]
