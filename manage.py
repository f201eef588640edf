#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


# Developer tools that start their own private stack on loopback: they run with development settings
# unless the environment says otherwise, so `manage.py bench_live --json OUT` works in a fresh checkout.
LOCAL_TOOLS = {"bench_live"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    if len(sys.argv) > 1 and sys.argv[1] in LOCAL_TOOLS:
        os.environ.setdefault("DJANGO_DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
