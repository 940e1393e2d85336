from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CourtwatchConfig(AppConfig):
    name = "courtwatch"
    verbose_name = _("Court watch")

    def ready(self):
        # reactions register on import
        from . import case_pages, menus, permissions, reactions, transition_specs  # noqa: F401

        permissions.register()
        case_pages.register()
        transition_specs.register()
        menus.register()
