"""Scheduled reports: a manager subscribes; beat sends each period once, CSV attached, with a link."""

from datetime import date

import pytest
from django.conf import settings
from django.core import mail

from casework import permissions as roles
from reporting import services
from reporting.models import Delivery, Subscription
from reporting.tasks import send_scheduled_reports

from .cohort import conviction_cohort


def test_beat_has_the_scheduled_reports_entry():
    entry = settings.CELERY_BEAT_SCHEDULE["reporting-send-scheduled-reports"]
    assert entry["task"] == "reporting.tasks.send_scheduled_reports"


def test_a_monthly_subscription_is_sent_once_with_the_csv_and_a_link(db, make_user, client):
    conviction_cohort()
    manager = make_user(roles.MANAGER, email="manager@example.org")
    client.force_login(manager)
    r = client.post(
        "/reports/subscriptions/", {"report": "conviction_rate", "frequency": "monthly", "group_by": "court"}
    )
    assert r.status_code == 302
    sub = Subscription.objects.get(user=manager)

    assert services.send_due_subscriptions(today=date(2025, 4, 1)) == 1
    assert services.send_due_subscriptions(today=date(2025, 4, 15)) == 0  # same period: not again
    # The beat task sends the last complete month before today: another period, once.
    assert send_scheduled_reports.apply().get() == 1
    assert send_scheduled_reports.apply().get() == 0
    assert Delivery.objects.filter(subscription=sub, period_start=date(2025, 3, 1)).count() == 1
    assert Delivery.objects.filter(subscription=sub).count() == 2
    march = [m for m in mail.outbox if "2025-03-01 to 2025-03-31" in m.subject]
    assert len(march) == 1
    message = march[0]
    assert message.to == ["manager@example.org"]
    assert "/reports/conviction-rate/?from=2025-03-01&to=2025-03-31&group_by=court" in message.body
    name, text, mimetype = message.attachments[0]
    assert name == "conviction_rate-2025-03-01-2025-03-31.csv" and mimetype == "text/csv"
    lines = text.splitlines()
    assert lines[0].startswith("group,label,convictions,")
    total = lines[-1].split(",")
    assert total[:2] == ["total", "Total"] and total[9] == "7"  # finalised 7; small cells suppressed
    assert total[2] == ""


def test_a_weekly_period_is_the_last_complete_iso_week():
    p = services.last_complete_period("weekly", date(2025, 3, 19))  # a Wednesday
    assert (p.start_date, p.end_date) == (date(2025, 3, 10), date(2025, 3, 16))


@pytest.mark.parametrize("role", [roles.COURT_WATCHER, roles.COMMITTEE_MEMBER])
def test_roles_that_may_not_subscribe_are_refused(db, make_user, client, role):
    client.force_login(make_user(role))
    r = client.post("/reports/subscriptions/", {"report": "conviction_rate", "frequency": "monthly"})
    assert r.status_code == 403
    assert not Subscription.objects.exists()


def test_a_bad_frequency_is_a_form_error_naming_it(db, make_user, client):
    client.force_login(make_user(roles.MANAGER))
    r = client.post("/reports/subscriptions/", {"report": "conviction_rate", "frequency": "hourly"})
    assert r.status_code == 400 and "frequency" in r.content.decode()
