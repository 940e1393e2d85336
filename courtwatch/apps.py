from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CourtwatchConfig(AppConfig):
    name = "courtwatch"
    verbose_name = _("Court watch")

    def ready(self):
        from . import menus, permissions, reactions  # noqa: F401  (reactions register on import)

        permissions.register()
        menus.register()
