"""Hospital intake's entries in the main menu and its start-page cards."""

from django.utils.translation import gettext_lazy as _

from casework.permissions import (
    ADMIN,
    HEALTH_CAPTURE,
    SAPS_LIAISON,
    VPU_ANALYST,
    Card,
    MenuEntry,
    register_menu,
)

from . import waiting


def register() -> None:
    main = [
        (20, {HEALTH_CAPTURE, VPU_ANALYST, ADMIN}, MenuEntry(_("Admissions"), "referrals:admission-list")),
        (30, {SAPS_LIAISON, HEALTH_CAPTURE, ADMIN}, MenuEntry(_("Referrals"), "referrals:referral-queue")),
        (800, {ADMIN}, MenuEntry(_("Dead letters"), "referrals:dead-letters")),
        (810, {ADMIN}, MenuEntry(_("Subject access"), "referrals:subject-access")),
        (820, {ADMIN}, MenuEntry(_("Retention"), "referrals:retention")),
    ]
    for order, roles, entry in main:
        register_menu("main", order, roles, entry)
    cards = [
        (
            40,
            {HEALTH_CAPTURE, ADMIN},
            Card(
                _("Emergency centre"),
                _("Capture an admission the hospital system did not send, or upload a CSV."),
                (
                    MenuEntry(_("New admission"), "referrals:capture"),
                    MenuEntry(_("CSV upload"), "referrals:csv-upload"),
                    MenuEntry(_("My submissions"), "referrals:my-submissions"),
                ),
            ),
        ),
        (
            50,
            {SAPS_LIAISON},
            Card(
                _("Referrals to SAPS"),
                _("Victims referred from the emergency centres in your precincts."),
                (MenuEntry(_("Referral queue"), "referrals:referral-queue"),),
            ),
        ),
        (
            70,
            {ADMIN},
            Card(
                _("Dead letters"),
                _("Messages that could not be processed: fix and replay."),
                (MenuEntry(_("Dead letters"), "referrals:dead-letters"),),
            ),
        ),
    ]
    for order, roles, card in cards:
        register_menu("home", order, roles, card)
    waiting.register_counters()
