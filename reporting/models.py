"""Rollups behind the dashboard, their freshness stamps, and scheduled-report subscriptions.

``AdmissionRollup`` holds several narrow rollups, one per chart, told apart by ``kind``: each is
(day, one or two keys) → count, so a kind is as small as its chart (e.g. facility × day is
facilities × days rows). They are derived data, rebuilt for the days a change touches
(``reporting.rollups``); never edit them by hand.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AdmissionRollup(models.Model):
    kind = models.CharField(max_length=24)
    day = models.DateField()  # SAST calendar day of arrival
    k1 = models.CharField(max_length=40, blank=True, default="")
    k2 = models.CharField(max_length=40, blank=True, default="")
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day", "k1", "k2"], name="admission_rollup_key"),
        ]

    def __str__(self):
        return f"{self.kind} {self.day} {self.k1} {self.k2}: {self.n}"


class RollupStamp(models.Model):
    """When a rollup kind was last refreshed (any day), and how far the sweeper has read."""

    kind = models.CharField(max_length=24, unique=True)
    refreshed_at = models.DateTimeField()

    def __str__(self):
        return f"{self.kind} at {self.refreshed_at:%Y-%m-%d %H:%M:%S}"


class Subscription(models.Model):
    """A user who wants a report e-mailed every week or month (CSV attached, link to the page)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Weekly (the last ISO week, sent on Monday)")
        MONTHLY = "monthly", _("Monthly (the last calendar month, sent on the 1st)")

    class Report(models.TextChoices):
        CONVICTION_RATE = "conviction_rate", _("Conviction rate")
        REMOVALS = "removals", _("Removals attributable to police")
        ATTRITION = "attrition", _("Attrition funnel")
        DASHBOARD = "dashboard", _("Admissions by facility")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    report = models.CharField(max_length=24, choices=Report.choices)
    group_by = models.CharField(max_length=20, blank=True, default="court")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report", "frequency"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "report", "group_by", "frequency"], name="one_subscription_per_report"
            )
        ]

    def __str__(self):
        return f"{self.user} {self.report} {self.frequency}"


class Delivery(models.Model):
    """One sending of a subscription for one period; the unique key makes it at most once."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    period_start = models.DateField()
    period_end = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_start"], name="one_delivery_per_period")
        ]

    def __str__(self):
        return f"{self.subscription} {self.period_start}..{self.period_end}"


class ProsecutionFacts(models.Model):
    """Per-prosecution facts that otherwise take a join through the docket's incidents on every report:
    whether it is gang-related (the standing-assertion rule), the mechanism of its earliest incident and
    whether any incident is a sexual assault.
    Kept by ``reporting.rollups.refresh_prosecution_facts`` after commit; reports fall back to the live
    rule for a prosecution that has none yet."""

    prosecution = models.OneToOneField(
        "casework.Prosecution", primary_key=True, on_delete=models.CASCADE, related_name="report_facts"
    )
    gang_related = models.BooleanField()
    mechanism = models.CharField(max_length=20, blank=True)
    # Any linked incident's mechanism is sexual assault (one half of the "gender-based" split).
    sexual = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Facts of prosecution {self.prosecution_id}"


class RemovalFacts(models.Model):
    """One removal from the roll (a withdraw / withdraw_provisionally / strike_off log row) with the
    dimensions the removals report groups by, so the report reads one narrow table instead of joining
    the log through prosecutions, dockets and incidents.
    Kept with the prosecution's facts (``reporting.rollups.refresh_prosecution_facts``) after commit;
    the report counts a removal that has no row yet by the live rule."""

    log = models.OneToOneField(
        "casework.TransitionLog", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    prosecution_id = models.PositiveBigIntegerField(db_index=True)
    at = models.DateTimeField(db_index=True)
    transition = models.CharField(max_length=40)
    reason = models.CharField(max_length=60, blank=True)
    station_id = models.BigIntegerField(null=True)
    court_id = models.BigIntegerField(null=True)
    gang_related = models.BooleanField()
    gender_based = models.BooleanField()

    def __str__(self):
        return f"Removal {self.log_id} of prosecution {self.prosecution_id}"


class FunnelRollup(models.Model):
    """Per-day rollups behind the attrition funnel and "unknown to police", told apart by ``kind``:

    - ``day``: one row per SAST day computed (the marker; a day without one is counted live);
    - ``step``: incidents that occurred that day reaching each funnel step (k1 = step; "admissions"
      counts the admissions that arrived that day);
    - ``unknown_facility`` / ``unknown_suburb`` / ``unknown_mechanism``: admissions that arrived that day
      by group (k1 = code) and by how soon their incident's first docket was opened (k2 = "7", "30",
      "90": within that many days of the arrival day; "": not within 90 days or never).

    Derived data, recomputed per day with the dashboard rollups (``reporting.rollups``)."""

    kind = models.CharField(max_length=24)
    day = models.DateField()
    k1 = models.CharField(max_length=60, blank=True, default="")
    k2 = models.CharField(max_length=8, blank=True, default="")
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "day", "k1", "k2"], name="funnel_rollup_key")]

    def __str__(self):
        return f"{self.kind} {self.day} {self.k1} {self.k2}: {self.n}"


class FunnelReason(models.Model):
    """A removed prosecution, closed docket or declined referral of the incidents that occurred on a SAST
    day, with its reason: the attrition report counts distinct objects per reason over its days (a docket
    linking incidents of several days counts once)."""

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal"
        CLOSURE = "closure"
        DECLINED = "declined"

    day = models.DateField(db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    object_id = models.BigIntegerField()
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "object_id"], name="funnel_reason_once_a_day")
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.object_id}: {self.reason}"


class OutcomeRollup(models.Model):
    """Per-day rollups behind the conviction-rate report: the prosecutions finalised on a SAST day (by
    ``finalised_on``), by grouping and outcome, told apart by ``kind``:
    - ``day``: one row per SAST day computed (the marker; a day without one is counted live);
    - ``court``, ``station``, ``district``, ``offence``, ``mechanism``, ``gang_related``: k1 = the group's
      code ("" when the matter has none; "1" / "0" for gang-related), state = the outcome, n = matters.
    Month and the total are the ``court`` rows summed (every matter has a court).
    Derived data, recomputed per day after a prosecution moves (``reporting.rollups``)."""

    kind = models.CharField(max_length=24)
    day = models.DateField()
    k1 = models.CharField(max_length=60, blank=True, default="")
    state = models.CharField(max_length=40, blank=True, default="")
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day", "k1", "state"], name="outcome_rollup_key")
        ]

    def __str__(self):
        return f"{self.kind} {self.day} {self.k1} {self.state}: {self.n}"


class RemovalRollup(models.Model):
    """Per-month rollups behind the removals report: the removal groups of one SAST calendar month
    (``month`` = its first day), as the report counts them — ``by`` "split" (reason x transition x
    gang-related x gender-based), "station" (reason x station that opened the docket) or "court"
    (reason x court) — and a ``by`` "month" marker row for every month computed. Whole months of a period
    are read here, its ragged ends (and any month without a marker) from ``RemovalFacts``.
    Derived data, recomputed with the removal facts (``reporting.rollups``)."""

    month = models.DateField()
    by = models.CharField(max_length=8)
    reason = models.CharField(max_length=60, blank=True, default="")
    transition = models.CharField(max_length=40, blank=True, default="")
    ref_id = models.BigIntegerField(null=True)  # station or court
    gang_related = models.BooleanField(null=True)
    gender_based = models.BooleanField(null=True)
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "by"])]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.by} {self.reason}: {self.n}"
