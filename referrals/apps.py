from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Hospital intake and referrals")

    def ready(self):
        from casework import permissions as cw

        from . import health, menus, permissions, transition_specs

        menus.register()
        transition_specs.register()
        health.register()  # /ready/ fails while intake messages wait too long (docs/operations.md)

        cw.register_scope("incident", permissions.incidents_of_my_admissions)
        # The same incidents show their time to the minute (the rest to the hour): docs/security.md.
        cw.register_scope("incident_identity", permissions.incidents_of_my_admissions)
