#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config.startup import refuse_to_start_without_own_keys

    try:
        refuse_to_start_without_own_keys()
    except ImproperlyConfigured as e:
        sys.exit(str(e))
    execute_from_command_line(sys.argv)
