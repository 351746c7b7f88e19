"""Signals of the local error tracker, for alerts (mail, chat, webhooks).

Both are sent by the writer thread (or inline under ``ERRORS_SYNC``) after the
group's transaction committed, once per group and event: the conditional UPDATE that
reopens a group lets exactly one writer win, even across processes. Keep receivers
fast and let them not raise: they run on the writer thread, between batches.

    from django.dispatch import receiver
    from django_observe.errors.signals import error_group_created

    @receiver(error_group_created)
    def notify(sender, group, **kwargs):
        ...  # group is an ErrorGroup
"""

from __future__ import annotations

from django.dispatch import Signal

#: A fingerprint was seen for the first time. Arguments: ``group``.
error_group_created = Signal()

#: An event arrived for a resolved group and reopened it. Arguments: ``group``, ``release``.
error_group_regressed = Signal()
