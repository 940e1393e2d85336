"""Notices to users: in the app at once, by e-mail from a Celery task after commit.

A notice is created once per (user, key); its e-mail is a task queued through
``casework.after_commit``, so a rolled-back write sends nothing and no SMTP call ever runs
inside a transaction. The task claims the notice (``emailed_at``) before sending, so a
redelivery or a second run sends nothing; an SMTP error un-claims it and the task retries with
backoff. The task lives here, with the service that queues it, so that ``tasks`` (the reminders)
imports this module and not the other way round.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, OperationalError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from casework import after_commit
from casework.errors import PermissionDenied
from casework.models import Prosecution

from . import permissions as perms
from .models import Brief, Notification, WithdrawalReview

logger = logging.getLogger(__name__)


def notify(user, kind: str, *, key: str, subject: str, body: str = "", url: str = "") -> Notification | None:
    """Create the in-app notice once per (user, key) and e-mail it after commit; None if already sent."""
    try:
        with transaction.atomic():
            n = Notification.objects.create(
                user=user, kind=kind, key=key, subject=subject, body=body, url=url
            )
    except IntegrityError:
        return None
    after_commit.queue(email_notification, n.pk)
    return n


def notification_email(notification_id: int) -> bool:
    """Claim the notice and e-mail it; False if another run claimed it first or the user has no address.

    Raises the SMTP (``OSError``) error after un-claiming, so a retry or the next sweep sends it.
    """
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    n = Notification.objects.select_related("user").get(pk=notification_id)
    if not n.user.email:
        return False
    link = f"\n\n{settings.SITE_URL}{n.url}" if n.url else ""
    try:
        send_mail(f"[Casetrail] {n.subject}", f"{n.body}{link}", None, [n.user.email])
    except OSError:  # smtplib.SMTPException is one; the in-app notice stands either way
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        logger.warning("Could not e-mail notification %s; will retry", notification_id)
        raise
    return True


def notification_queue_unsent(limit: int = 500) -> int:
    """Queue the e-mail of notices still unsent (their retries ran out); answers how many."""
    ids = list(Notification.objects.filter(emailed_at__isnull=True).values_list("pk", flat=True)[:limit])
    for pk in ids:
        after_commit.queue(email_notification, pk)
    return len(ids)


@transaction.atomic
def notification_mark_read(*, actor, notification: Notification) -> Notification:
    if notification.user_id != actor.pk:
        raise PermissionDenied("Not your notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_re_enrolment(prosecution_id: int, enrolments: int) -> int:
    """Tell the brief's watcher, the supervisors and the committee that a matter is back on the roll
    (once per enrolment: the key); answers how many notices were new."""
    p = Prosecution.objects.select_related("court").get(pk=prosecution_id)
    brief = Brief.objects.filter(prosecution=p).select_related("officer").first()
    review = WithdrawalReview.objects.filter(prosecution=p).order_by("-closed_at", "-id").first()
    when = formats.date_format(p.next_appearance, "j F Y") if p.next_appearance else _("not set yet")
    subject = _("Re-enrolled: %(case)s at %(court)s") % {"case": p.case_number, "court": p.court.name}
    body = _(
        "%(case)s is back on the roll at %(court)s (enrolment %(n)s); its open withdrawal reviews are "
        "closed as re-enrolled. Next date: %(when)s."
    ) % {"case": p.case_number, "court": p.court.name, "n": p.enrolments, "when": when}
    brief_url = reverse("courtwatch:brief-detail", args=[brief.pk]) if brief else ""
    review_url = reverse("courtwatch:review-detail", args=[review.pk]) if review else brief_url
    people = [(brief.officer, brief_url)] if brief and brief.officer else []
    people += [(u, brief_url or review_url) for u in perms.supervisors()]
    people += [(u, review_url) for u in perms.committee_members()]
    key = f"re_enrolled:prosecution:{p.pk}:e{enrolments}"
    sent = set()
    new = 0
    for user, url in people:
        if user.pk in sent:
            continue
        sent.add(user.pk)
        new += (
            notify(user, Notification.Kind.MATTER_RE_ENROLLED, key=key, subject=subject, body=body, url=url)
            is not None
        )
    return new


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def notify_re_enrolment(prosecution_id: int, enrolments: int) -> int:
    """After a re-enrolment commits: its notices (idempotent by key)."""
    return notification_re_enrolment(prosecution_id, enrolments)


@shared_task(acks_late=True, autoretry_for=(OSError, OperationalError), retry_backoff=True, max_retries=8)
def email_notification(notification_id: int) -> bool:
    """E-mail one notice, once."""
    return notification_email(notification_id)
