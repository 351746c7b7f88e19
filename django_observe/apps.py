"""App config: wires logging, metrics, error capture, Celery signals and the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class ObserveConfig(AppConfig):
    name = "django_observe"
    verbose_name = "Observability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as observe_checks
        from .conf import get_settings, report_invalid

        # Every system check we have, in one place (ids in docs/checks.md).
        checks.register(observe_checks.check_settings, "django_observe")
        checks.register(observe_checks.check_unknown_keys, "django_observe")
        checks.register(observe_checks.check_middleware, "django_observe")
        checks.register(observe_checks.check_metrics, "django_observe")
        checks.register(observe_checks.check_metrics_deploy, "django_observe", deploy=True)
        checks.register(observe_checks.check_health, "django_observe")
        checks.register(observe_checks.check_health_deploy, "django_observe", deploy=True)
        checks.register(observe_checks.check_errors, "django_observe")
        checks.register(observe_checks.check_errors_deploy, "django_observe", deploy=True)

        # A wrong setting never stops the host: its key takes the default (manage.py check reports
        # it with an id; report_invalid() below logs one ERROR line per key for servers).
        # Each part is guarded on its own: one that fails is off (counted, logged once), the rest work.
        from . import logging as observe_logging
        from .guard import Guard

        with Guard("logging_setup", "Logging could not be configured; Django's own logging is in place"):
            if get_settings().CONFIGURE_LOGGING:
                observe_logging.configure()
            else:
                observe_logging.configure_structlog()
        from . import middleware  # noqa: F401  (connects got_request_exception)
        from .sentry import init_sentry

        with Guard("sentry_setup", "Sentry and error capture could not be set up; errors are not captured"):
            init_sentry()  # after logging: its error handler joins the root logger's handlers
        from . import metrics

        metrics.setup()  # creates the metrics, hooks DB connections and caches; never raises
        with Guard("seeds_setup", "Auth activity metrics or outbound-call hooks could not be set up"):
            from . import outbound
            from .metrics import auth as auth_metrics

            auth_metrics.connect()  # user_logins_total & co from django.contrib.auth's signals, active_users
            outbound.install_hooks()  # requests/httpx hooks named in OUTBOUND_HOOKS (none by default)
        report_invalid()  # after logging and metrics: one ERROR line and one count per invalid key

        try:
            from . import celery as observe_celery
        except ImportError:  # Celery is an optional extra
            pass
        else:
            observe_celery.connect()
            from .health import beat  # noqa: F401  (registers the beat task)
