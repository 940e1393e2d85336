"""Reminders: a day-before hearing reminder, a daily stale-brief digest and overdue-review notices,
in-app and by e-mail, once only: a second run (or a redelivery) sends nothing."""

import datetime
import time

import pytest
from celery.result import EagerResult
from django.core import mail
from django.utils import timezone

from casework import services as cws
from config.celery import app
from courtwatch import notifications, tasks
from courtwatch.models import Brief, Notification, WithdrawalReview

from ..conftest import REDIS_URL
from .conftest import days_ago


@pytest.fixture
def scene(enrol, assigned, officer, supervisor, members):
    """Tomorrow's hearing for officer-a, a stale brief, and a review flagged 31 days ago."""
    tomorrow = assigned()
    Brief.objects.filter(pk=tomorrow.pk).update(next_appearance=days_ago(-1))
    stale = assigned()
    Brief.objects.filter(pk=stale.pk).update(next_appearance=days_ago(3))
    withdrawn = enrol()
    cws.prosecution_withdraw(withdrawn, actor=None, version=None, reason="witness_unavailable")
    WithdrawalReview.objects.filter(prosecution=withdrawn).update(
        flagged_at=timezone.now() - datetime.timedelta(days=31)
    )
    return {"tomorrow": tomorrow, "stale": stale, "withdrawn": withdrawn}


def expected_notices(scene, officer, supervisor, members):
    return {
        (officer.username, "hearing_reminder"),
        (officer.username, "brief_assigned"),
        (supervisor.username, "stale_digest"),
        *((m.username, "review_overdue") for m in members),
    }


def notices():
    return {(n.user.username, n.kind) for n in Notification.objects.select_related("user")}


def outcome(result, timeout: float = 60):
    """The task's return value, read from the stored result: ``result.get()`` waits on Redis pub/sub,
    and once timed out after 30 s on a loaded machine although the worker had run (cause not pinned
    down); polling the stored result does not depend on catching the message."""
    deadline = time.monotonic() + timeout
    while not result.ready():
        assert time.monotonic() < deadline, f"the worker did not finish {result.id} in {timeout} s"
        time.sleep(0.05)
    return result.get(timeout=1)


def wait_for_emails(count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count:
        assert time.monotonic() < deadline, f"{len(mail.outbox)} of {count} e-mails sent in {timeout} s"
        time.sleep(0.05)


@pytest.fixture
def worker(transactional_db, settings):
    """A real Celery worker thread over the test Redis, sharing the test database."""
    from celery.contrib.testing.worker import start_worker

    # The run's settings are the development ones (pytest-django turns DEBUG off during a test); the
    # worker's key gate (config/startup.py) refuses the development keys outside DEBUG, as it should.
    settings.DEBUG = True

    def forget_connections():
        # The result backend is cached per thread and the broker pool per app: drop both so the
        # new configuration (and the one restored afterwards) is the one used.
        app._local.__dict__.pop("backend", None)
        app._pool = None  # what Celery itself resets after a fork
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None

    saved = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    forget_connections()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app
    finally:
        app.conf.update(saved)
        forget_connections()


@pytest.mark.redis
@pytest.mark.postgres
# serialized_rollback: the flush after this test leaves the roles and reference data in place for
# the transactional tests that follow (and restores them before this one).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reminders_run_on_a_real_worker_and_a_second_run_sends_nothing(
    scene, worker, officer, supervisor, members
):
    # The scene is set up before the worker starts, so its "brief assigned" e-mails went in-process.
    mail.outbox.clear()
    Notification.objects.filter(kind="brief_assigned").update(emailed_at=timezone.now())
    today = timezone.localdate().isoformat()
    result = tasks.send_hearing_reminders.delay("2000-01-01")
    assert not isinstance(result, EagerResult)  # it went through Redis to the worker
    assert outcome(result) == 0
    first = [
        outcome(tasks.send_hearing_reminders.delay(today)),
        outcome(tasks.send_stale_brief_digest.delay(today)),
        outcome(tasks.send_overdue_review_notices.delay(today)),
    ]
    assert first == [1, 1, 3]
    assert notices() == expected_notices(scene, officer, supervisor, members)
    wait_for_emails(5)  # each e-mail is a task of its own, queued after the notice was committed
    assert len(mail.outbox) == 5
    reminder = Notification.objects.get(kind="hearing_reminder")
    assert scene["tomorrow"].prosecution.case_number in reminder.subject
    digest = Notification.objects.get(kind="stale_digest")
    assert f"/courtwatch/briefs/{scene['stale'].pk}/" in digest.body
    assert f"/courtwatch/briefs/{scene['tomorrow'].pk}/" not in digest.body

    second = [
        outcome(tasks.send_hearing_reminders.delay(today)),
        outcome(tasks.send_stale_brief_digest.delay(today)),
        outcome(tasks.send_overdue_review_notices.delay(today)),
    ]
    assert second == [0, 0, 0]
    assert len(mail.outbox) == 5
    assert Notification.objects.count() == 7


def test_reminders_in_process_send_once_and_a_recorded_hearing_ends_the_staleness(
    db, scene, officer, supervisor, members, api
):
    today = timezone.localdate().isoformat()
    assert tasks.send_hearing_reminders(today) == 1
    assert tasks.send_hearing_reminders(today) == 0
    stale = scene["stale"]
    r = api(officer).post(
        "/api/v1/hearings/",
        {
            "prosecution": stale.prosecution.pk,
            "date": days_ago(3).isoformat(),
            "type": "remand",
            "outcome": "postponed",
            "reason": "defence_not_ready",
            "next_date": days_ago(-20).isoformat(),
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    assert tasks.send_stale_brief_digest(today) == 0


def test_the_notifications_page_lists_a_users_own_notices_only(client, db, scene, officer, supervisor):
    tasks.send_hearing_reminders(timezone.localdate().isoformat())
    client.force_login(officer)
    page = client.get("/courtwatch/notifications/").content.decode()
    assert "Hearing tomorrow" in page
    client.force_login(supervisor)
    assert "Hearing tomorrow" not in client.get("/courtwatch/notifications/").content.decode()
    n = Notification.objects.get(kind="hearing_reminder")
    assert client.post(f"/courtwatch/notifications/{n.pk}/read/").status_code == 404
    client.force_login(officer)
    assert client.post(f"/courtwatch/notifications/{n.pk}/read/").status_code == 302
    assert Notification.objects.get(pk=n.pk).read_at is not None
    assert notifications.notify(officer, "hearing_reminder", key=n.key, subject="again") is None
