"""What waits for EC clerks, SAPS liaisons and admins (the start page's counts).

Registered from ``menus.register``; counted over what ``permissions`` lets this user see, and for
a clerk over the submissions they made themselves.
"""

from django.utils.translation import ngettext

from casework.permissions import ADMIN, HEALTH_CAPTURE, SAPS_LIAISON
from casework.waiting import Waiting, link, register

from . import permissions, selectors
from .models import InboundMessage, Referral


def _saps(user):
    referrals = permissions.visible_referrals(user)
    n = referrals.filter(state=Referral.State.SENT).count()
    text = ngettext("%(n)s referral to acknowledge", "%(n)s referrals to acknowledge", n) % {"n": n}
    yield Waiting(n, text, link("referrals:referral-queue", query="state=sent"))
    acknowledged = referrals.filter(state=Referral.State.ACKNOWLEDGED).count()
    if acknowledged:
        text = ngettext(
            "%(n)s acknowledged referral without a docket",
            "%(n)s acknowledged referrals without a docket",
            acknowledged,
        ) % {"n": acknowledged}
        yield Waiting(acknowledged, text, link("referrals:referral-queue", query="state=acknowledged"))


def _clerk(user):
    rejected = permissions.own_submissions(user).filter(status__in=InboundMessage.DEAD).count()
    text = ngettext(
        "%(n)s of your submissions was rejected", "%(n)s of your submissions were rejected", rejected
    ) % {"n": rejected}
    if rejected:
        yield Waiting(rejected, text, link("referrals:my-submissions", fallback="referrals:capture"))
    pending = permissions.visible_referrals(user).filter(state=Referral.State.PENDING).count()
    if pending:
        text = ngettext(
            "%(n)s referral not yet sent to SAPS", "%(n)s referrals not yet sent to SAPS", pending
        ) % {"n": pending}
        yield Waiting(pending, text, link("referrals:referral-queue", query="state=pending"))


def _admin(user):
    n = selectors.dead_letter_list_for_user(user).count()
    text = ngettext("%(n)s open dead letter", "%(n)s open dead letters", n) % {"n": n}
    yield Waiting(n, text, link("referrals:dead-letters"))


def register_counters() -> None:
    register(50, {SAPS_LIAISON}, _saps)
    register(60, {HEALTH_CAPTURE}, _clerk)
    register(900, {ADMIN}, _admin)
