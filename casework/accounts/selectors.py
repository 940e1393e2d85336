"""Reads on accounts."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import permissions


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(user) -> bool:
    """Required by role, or chosen: a user who set up a device is asked for its code from then on."""
    return permissions.must_use_two_factor(user) or has_confirmed_device(user)


def api_token_list_for_user(user) -> QuerySet:
    """Live tokens the user may see (their own; an admin's, everyone's), newest first."""
    now = timezone.now()
    live = Q(expiry__gt=now) | Q(expiry__isnull=True)
    return permissions.visible_api_tokens(user).filter(live).order_by("-created")
