"""A notice's e-mail is a task queued after commit: nothing is sent for a write that rolls back, the
task sends a notice once however often it runs, and an SMTP error is retried."""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction

from courtwatch import notifications
from courtwatch.models import Notification


def _notify(user, key="hearing_reminder:brief:1:2026-01-01"):
    return notifications.notify(user, Notification.Kind.HEARING_REMINDER, key=key, subject="Hearing tomorrow")


def test_a_committed_notice_is_emailed_once(db, officer, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        n = _notify(officer)
    assert [m.subject for m in mail.outbox] == ["[Casetrail] Hearing tomorrow"]
    assert Notification.objects.get(pk=n.pk).emailed_at is not None


def test_no_email_is_sent_when_the_transaction_rolls_back(db, officer, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _notify(officer)
        raise RuntimeError("the write fails after the notice")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_the_email_task_sends_a_notice_once_even_if_run_twice(
    db, officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the queued task is run by hand below
        n = _notify(officer)
    mail.outbox.clear()
    assert notifications.email_notification.delay(n.pk).get() is True
    assert notifications.email_notification.delay(n.pk).get() is False
    assert len(mail.outbox) == 1


def test_an_smtp_error_unclaims_the_notice_so_a_retry_sends_it(
    db, officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        n = _notify(officer)
    mail.outbox.clear()
    relay_down = smtplib.SMTPServerDisconnected("the relay hung up")
    with (
        mock.patch.object(notifications, "send_mail", side_effect=relay_down),
        pytest.raises(smtplib.SMTPException),
    ):
        notifications.notification_email(n.pk)
    assert Notification.objects.get(pk=n.pk).emailed_at is None
    task = notifications.email_notification
    assert task.acks_late and task.retry_backoff and issubclass(smtplib.SMTPException, task.autoretry_for)
    assert task.delay(n.pk).get() is True
    assert len(mail.outbox) == 1
