"""Reporting's entries in the main menu and its start-page card."""

from django.utils.translation import gettext_lazy as _

from casework.permissions import (
    ADMIN,
    COMMITTEE_MEMBER,
    COURT_WATCH_SUPERVISOR,
    MANAGER,
    VPU_ANALYST,
    Card,
    MenuEntry,
    register_menu,
)

READERS = {MANAGER, VPU_ANALYST, COURT_WATCH_SUPERVISOR, COMMITTEE_MEMBER, ADMIN}


def register() -> None:
    register_menu("main", 80, READERS, MenuEntry(_("Dashboard"), "reporting:dashboard"))
    register_menu("main", 81, READERS, MenuEntry(_("Reports"), "reporting:index"))
    register_menu(
        "home",
        60,
        READERS,
        Card(
            _("Reports"),
            _("Conviction rates, attrition, removals attributable to police, the incident dashboard."),
            (
                MenuEntry(_("Conviction rate"), "reporting:conviction-rate"),
                MenuEntry(_("Dashboard"), "reporting:dashboard"),
            ),
        ),
    )
