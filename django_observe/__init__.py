"""django-observe: production observability for Django from one app and one settings block."""

__version__ = "0.1.0"
