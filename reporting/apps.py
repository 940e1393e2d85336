from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
        # Registers the rollup reactions on casework's hook list; the beat entries are in config/settings.py.
        # menus: reporting's entries in casework's menus (permissions.menu_for).
        from . import menus, reactions  # noqa: F401

        menus.register()
