"""Writes of the reporting app: subscriptions to scheduled reports, and sending them once per period."""

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.errors import InvalidInput, PermissionDenied

from . import attrition, dashboard, exports, periods, permissions, selectors
from .models import Delivery, Subscription
from .params import DashboardFilters
from .periods import Period, last_complete_month, last_complete_week


def subscription_create(*, actor, report: str, frequency: str, group_by: str = "court") -> Subscription:
    if not permissions.may_subscribe(actor):
        raise PermissionDenied("Only managers, analysts and admins subscribe to scheduled reports.")
    if report not in Subscription.Report.values:
        raise InvalidInput(
            {"report": _("Use one of: %(choices)s.") % {"choices": ", ".join(Subscription.Report.values)}}
        )
    if frequency not in Subscription.Frequency.values:
        raise InvalidInput(
            {
                "frequency": _("Use one of: %(choices)s.")
                % {"choices": ", ".join(Subscription.Frequency.values)}
            }
        )
    if report == Subscription.Report.CONVICTION_RATE and group_by not in selectors.GROUP_BY:
        raise InvalidInput(
            {"group_by": _("Use one of: %(choices)s.") % {"choices": ", ".join(selectors.GROUP_BY)}}
        )
    sub, _created = Subscription.objects.update_or_create(
        user=actor, report=report, group_by=group_by, frequency=frequency, defaults={"active": True}
    )
    return sub


def subscription_cancel(*, actor, subscription: Subscription) -> None:
    if subscription.user_id != actor.pk:
        raise PermissionDenied("This is not your subscription.")
    subscription.active = False
    subscription.save(update_fields=["active"])


def last_complete_period(frequency: str, today: date) -> Period:
    """The last ISO week (weekly) or calendar month (monthly) that ended before ``today``."""
    if frequency == Subscription.Frequency.WEEKLY:
        return last_complete_week(today)
    return last_complete_month(today)


def render_csv(sub: Subscription, period: Period) -> tuple[str, str, str]:
    """(filename, csv text, page path) for a subscription's report over a period, suppressed."""
    suppress = permissions.suppress_for(sub.user, unsuppressed_requested=False)
    if sub.report == Subscription.Report.CONVICTION_RATE:
        report = selectors.conviction_rate(period, sub.group_by or "court", suppress=suppress)
        fields, rows = [*selectors.ROW_FIELDS, "suppressed"], exports.table_rows(report)
        path, query = reverse("reporting:conviction-rate"), {"group_by": sub.group_by or "court"}
    elif sub.report == Subscription.Report.REMOVALS:
        report = selectors.removals(period, suppress=suppress)
        fields = ["group", "police_attributable", *selectors.REMOVAL_COUNTS, "share", "suppressed"]
        rows, path, query = report["rows"], reverse("reporting:removals"), {}
    elif sub.report == Subscription.Report.ATTRITION:
        report = attrition.attrition(period, suppress=suppress)
        fields, rows, path, query = (
            ["group", "count", "drop", "suppressed"],
            report["rows"],
            reverse("reporting:attrition"),
            {},
        )
    else:
        result = dashboard.admissions_by(period, "facility", DashboardFilters(), suppress=suppress)
        fields, rows = ["key", "count", "suppressed"], result["rows"]
        path, query = reverse("reporting:dashboard"), {}
    link = f"{settings.SITE_URL.rstrip('/')}{path}?{urlencode({**period.as_query(), **query})}"
    name = f"{sub.report}-{period.start_date}-{period.end_date}.csv"
    return name, exports.csv_text(fields, rows), link


def send_delivery(sub: Subscription, period: Period) -> bool:
    """Send one period once. The Delivery row (unique per subscription and period) is claimed first
    and locked while sending; a repeated or concurrent run finds it sent and does nothing."""
    try:
        with transaction.atomic():
            Delivery.objects.get_or_create(
                subscription=sub, period_start=period.start_date, defaults={"period_end": period.end_date}
            )
    except IntegrityError:
        pass  # a concurrent run created it; the lock below decides who sends
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(subscription=sub, period_start=period.start_date)
        if delivery.sent_at:
            return False
        name, text, link = render_csv(sub, period)
        label = Subscription.Report(sub.report).label
        message = EmailMessage(
            subject=f"Casetrail: {label}, {period.start_date} to {period.end_date}",
            body=(
                f"{label} for {period.start_date} to {period.end_date} is attached as CSV.\n"
                f"Open it on Casetrail: {link}\n\n"
                "Small cells are suppressed (<5). Definitions are printed on the page."
            ),
            to=[sub.user.email],
        )
        message.attach(name, text, "text/csv")
        message.send()
        delivery.sent_at = timezone.now()
        delivery.save(update_fields=["sent_at"])
        return True


def send_due_subscriptions(today: date | None = None) -> int:
    today = today or periods.today()
    sent = 0
    for sub in Subscription.objects.filter(active=True, user__is_active=True).select_related("user"):
        if not sub.user.email or not permissions.may_subscribe(sub.user):
            continue
        sent += send_delivery(sub, last_complete_period(sub.frequency, today))
    return sent
