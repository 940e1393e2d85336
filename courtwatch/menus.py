"""Court watching's entries in the main menu, its start-page cards and its own sub-menu."""

from django.utils.translation import gettext_lazy as _

from casework.permissions import (
    COMMITTEE_MEMBER,
    COURT_WATCH_SUPERVISOR,
    COURT_WATCHER,
    EVERYONE,
    Card,
    MenuEntry,
    register_menu,
)

from . import waiting
from .permissions import BRIEF_MANAGERS, QUEUE_READERS

WATCHERS = {COURT_WATCHER}


def register() -> None:
    main = [
        (40, WATCHERS, MenuEntry(_("My briefs"), "courtwatch:my-briefs")),
        (41, WATCHERS, MenuEntry(_("Today's roll"), "courtwatch:roll")),
        (50, BRIEF_MANAGERS, MenuEntry(_("Court watch"), "courtwatch:supervisor")),
        (60, QUEUE_READERS, MenuEntry(_("Review queue"), "courtwatch:review-queue")),
        (
            70,
            {COURT_WATCHER, COURT_WATCH_SUPERVISOR, COMMITTEE_MEMBER},
            MenuEntry(_("Notifications"), "courtwatch:notifications"),
        ),
    ]
    sub = [
        (10, WATCHERS, MenuEntry(_("My briefs"), "courtwatch:my-briefs")),
        (11, WATCHERS, MenuEntry(_("Today"), "courtwatch:roll", "period=today")),
        (12, WATCHERS, MenuEntry(_("This week"), "courtwatch:roll", "period=week")),
        (20, BRIEF_MANAGERS, MenuEntry(_("Courts"), "courtwatch:supervisor")),
        (21, BRIEF_MANAGERS, MenuEntry(_("All briefs"), "courtwatch:my-briefs")),
        (22, BRIEF_MANAGERS, MenuEntry(_("Roll"), "courtwatch:roll", "period=week&all=1")),
        (30, QUEUE_READERS, MenuEntry(_("Review queue"), "courtwatch:review-queue")),
        (31, QUEUE_READERS, MenuEntry(_("Meetings"), "courtwatch:meetings")),
        (40, EVERYONE, MenuEntry(_("Notifications"), "courtwatch:notifications")),
    ]
    for order, roles, entry in main:
        register_menu("main", order, roles, entry)
    for order, roles, entry in sub:
        register_menu("courtwatch", order, roles, entry)
    _register_cards()
    waiting.register_counters()


def _register_cards() -> None:
    register_menu(
        "home",
        10,
        WATCHERS,
        Card(
            _("In court today"),
            _("Your briefs, today's roll and what to watch for."),
            (
                MenuEntry(_("Today's roll"), "courtwatch:roll"),
                MenuEntry(_("My briefs"), "courtwatch:my-briefs"),
            ),
        ),
    )
    register_menu(
        "home",
        20,
        BRIEF_MANAGERS,
        Card(
            _("Court watch"),
            _("Unassigned and stale briefs at every court; assign officers."),
            (MenuEntry(_("Courts"), "courtwatch:supervisor"),),
        ),
    )
    register_menu(
        "home",
        30,
        QUEUE_READERS,
        Card(
            _("Withdrawal reviews"),
            _("Withdrawn and struck-off matters, by priority; meetings and decisions."),
            (
                MenuEntry(_("Review queue"), "courtwatch:review-queue"),
                MenuEntry(_("Meetings"), "courtwatch:meetings"),
            ),
        ),
    )
