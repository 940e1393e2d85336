from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Hospital intake and referrals")

    def ready(self):
        from django.core.signals import request_started

        from casework import permissions as cw

        from . import health, menus, permissions, tasks, transition_specs

        menus.register()
        transition_specs.register()
        health.register()  # /ready/ fails while intake messages wait too long (docs/operations.md)

        cw.register_scope("incident", permissions.incidents_of_my_admissions)
        # The same incidents show their time to the minute (the rest to the hour): docs/security.md.
        cw.register_scope("incident_identity", permissions.incidents_of_my_admissions)

        # Embedded mode (no broker, so no beat): the first request a process serves starts its
        # in-process sweeper (docs/intake.md, "Sweeper").
        if tasks.embedded_sweeper_wanted():
            request_started.connect(
                tasks.start_embedded_sweeper_on_request, dispatch_uid="referrals-embedded-sweep"
            )
