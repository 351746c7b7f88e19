"""A site that did not include django_observe.urls: /metrics is not routed."""

from tests.hardening.urls_root import inner

urlpatterns = inner
