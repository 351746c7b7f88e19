"""``manage.py observe_export rules|dashboard|kit``: Prometheus rules, a Grafana dashboard, or the whole monitoring kit.

The metric names are the ones /metrics exports (``METRICS_NAMESPACE`` applied), so the output
can be regenerated on every deploy. Every alert threshold is an option (``--error-ratio``,
``--latency-p95``, ...; list: ``--help`` or docs/runbooks/index.md). Bad values and unwritable
paths are a ``CommandError`` (a message, exit status 1), never a traceback.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import monitoring
from ...conf import get_settings
from ...monitoring.kit import RECEIVERS, KitOptions, kit_files
from ...monitoring.names import duration_seconds, is_duration

#: Older spellings kept working.
ALIASES = {"latency_p95": ("--slow",)}
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


class Command(BaseCommand):
    help = (
        "Print Prometheus recording + alert rules (YAML) or a Grafana dashboard (JSON), or write the whole monitoring kit "
        "(Prometheus, Alertmanager, Grafana, Promtail, docker-compose, Kubernetes) into --output-dir."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "what", choices=["rules", "dashboard", "kit"], help="rules: a rule file; dashboard: Grafana JSON; kit: a directory of configs."
        )
        parser.add_argument("--job", default="django", help="Prometheus job name of the scrape config (default: django).")
        parser.add_argument("-o", "--output", default=None, help="rules/dashboard: write to this file instead of stdout.")
        parser.add_argument("--output-dir", default=None, help="kit: the directory to write (created; existing kit files are replaced).")
        rules = parser.add_argument_group("rules")
        rules.add_argument("--rate-window", default="5m", help="Range of every rate() in the rules (default 5m).")
        rules.add_argument(
            "--for",
            dest="for_override",
            default=None,
            help="Replace every alert's `for:` (e.g. 0s for a drill; default: each alert's own).",
        )
        rules.add_argument(
            "--runbook-url",
            default=monitoring.DEFAULT_RUNBOOK_URL,
            help="runbook_url of each alert; {slug} is the page name (default: the docs on GitHub).",
        )
        thresholds = parser.add_argument_group("alert thresholds")
        for threshold in monitoring.THRESHOLDS:
            thresholds.add_argument(
                threshold.flag,
                *ALIASES.get(threshold.key, ()),
                dest=threshold.key,
                default=None,
                help=f"{threshold.doc} Default: {threshold.documented_default().replace('%', '%%')}.",
            )
        kit = parser.add_argument_group("kit")
        kit.add_argument(
            "--target", action="append", default=None, help="host:port Prometheus scrapes (repeatable; default host.docker.internal:8000)."
        )
        kit.add_argument("--scheme", choices=["http", "https"], default="http", help="Scrape scheme (default http).")
        kit.add_argument(
            "--token-file",
            default="metrics-token",
            help="File Prometheus reads the bearer token from, relative to prometheus/ ('' for none).",
        )
        kit.add_argument("--scrape-interval", default="15s", help="Prometheus scrape interval (default 15s).")
        kit.add_argument("--evaluation-interval", default="15s", help="Prometheus rule evaluation interval (default 15s).")
        kit.add_argument(
            "--alertmanager", action="append", default=None, help="host:port of Alertmanager (repeatable; default alertmanager:9093)."
        )
        kit.add_argument(
            "--receivers",
            default=",".join(RECEIVERS),
            help=f"Receivers to route to, comma-separated, of {', '.join(RECEIVERS)} (default: all).",
        )
        kit.add_argument(
            "--webhook-url", default=KitOptions.webhook_url, help=f"URL of the webhook receiver (default {KitOptions.webhook_url})."
        )
        kit.add_argument("--email-to", default=KitOptions.email_to, help=f"Address of the e-mail receiver (default {KitOptions.email_to}).")
        kit.add_argument("--group-wait", default="30s", help="Alertmanager group_wait (default 30s).")
        kit.add_argument("--group-interval", default="5m", help="Alertmanager group_interval (default 5m).")
        kit.add_argument("--repeat-interval", default="4h", help="Alertmanager repeat_interval (default 4h).")
        kit.add_argument("--log-file", default=None, help="Log file Promtail tails (default: LOG_FILE, else /var/log/django/app.log).")
        kit.add_argument("--app-port", type=int, default=8000, help="Container port of the app in the Kubernetes snippets (default 8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        conf = get_settings()
        rule_options = self._rule_options(conf, options)
        if options["what"] == "kit":
            if not options["output_dir"]:
                raise CommandError("observe_export kit needs --output-dir DIR.")
            self._write_kit(Path(options["output_dir"]), self._kit_options(conf, options), rule_options)
            return
        if options["what"] == "rules":
            content = monitoring.document(monitoring.rules(rule_options))
        else:
            content = json.dumps(monitoring.build_dashboard(rule_options), indent=2) + "\n"
        if options["output"]:
            _write(Path(options["output"]), content)
        else:
            self.stdout.write(content, ending="")

    def _rule_options(self, conf: Any, options: dict[str, Any]) -> monitoring.RuleOptions:
        job = options["job"]
        if not job or not job.isprintable():
            raise CommandError("--job must be a non-empty name without control characters.")
        window = options["rate_window"]
        if not is_duration(window) or duration_seconds(window) <= 0:
            raise CommandError(f"--rate-window must be a Prometheus duration above 0 such as 5m; got {window!r}.")
        for_override = options["for_override"]
        if for_override is not None and not is_duration(for_override):
            raise CommandError(f"--for must be a Prometheus duration such as 0s, 1m or 5m; got {for_override!r}.")
        runbook_url = options["runbook_url"]
        if "{slug}" not in runbook_url:
            raise CommandError("--runbook-url must contain {slug} (the runbook page name), e.g. https://wiki.example.com/runbooks/{slug}.")
        try:
            runbook_url.format(slug="x")
            thresholds = monitoring.resolve_thresholds(monitoring.THRESHOLDS, {key: options.get(key) for key in _threshold_keys()}, conf)
        except (ValueError, KeyError, IndexError) as error:
            raise CommandError(
                str(error) if isinstance(error, ValueError) else f"--runbook-url may only use {{slug}}; got {runbook_url!r}."
            ) from None
        return monitoring.RuleOptions(conf.METRICS_NAMESPACE, job, window, for_override, runbook_url, thresholds, conf.HEALTH_PATH)

    def _kit_options(self, conf: Any, options: dict[str, Any]) -> KitOptions:
        targets = tuple(options["target"] or KitOptions.targets)
        alertmanagers = tuple(options["alertmanager"] or KitOptions.alertmanagers)
        for flag, values in (("--target", targets), ("--alertmanager", alertmanagers)):
            for value in values:
                if not _HOST_PORT.match(value):
                    raise CommandError(f"{flag} must be host:port, e.g. 127.0.0.1:8000; got {value!r}.")
        for flag in ("scrape_interval", "evaluation_interval", "group_wait", "group_interval", "repeat_interval"):
            if not is_duration(options[flag]) or duration_seconds(options[flag]) <= 0:
                raise CommandError(f"--{flag.replace('_', '-')} must be a duration above 0 such as 15s; got {options[flag]!r}.")
        receivers = tuple(name.strip() for name in options["receivers"].split(",") if name.strip())
        unknown = sorted(set(receivers) - set(RECEIVERS))
        if not receivers or unknown:
            raise CommandError(f"--receivers takes a comma-separated list of {', '.join(RECEIVERS)}; got {options['receivers']!r}.")
        if not 0 < options["app_port"] < 65536:
            raise CommandError(f"--app-port must be a TCP port (1-65535); got {options['app_port']}.")
        try:
            webhook = urlsplit(options["webhook_url"])
            valid = (
                webhook.scheme in ("http", "https") and bool(webhook.hostname) and not any(ch.isspace() for ch in options["webhook_url"])
            )
        except ValueError:
            valid = False
        if not valid:
            raise CommandError(
                f"--webhook-url must be an http(s) URL such as http://alerts.internal:5001/hook; got {options['webhook_url']!r}."
            )
        token_file = options["token_file"]
        if token_file and ("\n" in token_file or token_file.endswith("/")):
            raise CommandError(f"--token-file must be a file path; got {token_file!r}.")
        return KitOptions(
            job=options["job"],
            targets=targets,
            metrics_path="/" + conf.METRICS_PATH.strip("/"),
            scheme=options["scheme"],
            token_file=token_file,
            scrape_interval=options["scrape_interval"],
            evaluation_interval=options["evaluation_interval"],
            alertmanagers=alertmanagers,
            receivers=receivers,
            webhook_url=options["webhook_url"],
            email_to=options["email_to"],
            group_wait=options["group_wait"],
            group_interval=options["group_interval"],
            repeat_interval=options["repeat_interval"],
            log_file=options["log_file"] or conf.LOG_FILE or KitOptions.log_file,
            health_path=conf.HEALTH_PATH,
            health_deadline=float(conf.HEALTH_DEADLINE),
            app_port=options["app_port"],
        )

    def _write_kit(self, directory: Path, kit: KitOptions, rule_options: monitoring.RuleOptions) -> None:
        files = kit_files(kit, monitoring.rules(rule_options), monitoring.build_dashboard(rule_options))
        for relative, content in files.items():
            _write(directory / relative, content)
        self.stdout.write(f"Wrote {len(files)} files to {directory}:")
        for relative in files:
            self.stdout.write(f"  {relative}")
        if kit.token_file and not os.path.isabs(kit.token_file):
            token_path = directory / "prometheus" / kit.token_file
            if not token_path.exists():
                # Prometheus (and promtool) refuse a config whose token file is missing; the token itself is
                # a secret this command never writes.
                try:
                    token_path.parent.mkdir(parents=True, exist_ok=True)
                    os.close(os.open(token_path, os.O_WRONLY | os.O_CREAT, 0o600))
                except OSError as error:
                    raise CommandError(f"Cannot create {token_path}: {error.strerror or error}.") from None
                self.stdout.write(f"Created an empty {token_path}: put the scrape token (METRICS_TOKEN) in it.")


def _threshold_keys() -> list[str]:
    return [threshold.key for threshold in monitoring.THRESHOLDS]


def _write(path: Path, content: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror or error}.") from None
