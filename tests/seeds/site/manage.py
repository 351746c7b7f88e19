#!/usr/bin/env python
"""manage.py of the seed site (tests/seeds): a small Django project configured the way a guide's team would."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
