"""Court-watching briefs, the hearings a court watcher records, feedback to SAPS / NPA,
withdrawal reviews for the anti-gang priority committee, committee meetings and notifications.

State fields are django-fsm-2 ``FSMField(protected=True)``; only ``courtwatch.services`` calls
the transition methods, always through ``casework.transitions.apply_transition`` (lock, who,
version, state, log row, reactions).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from casework.models import Court, Prosecution, StatefulModel

REVIEW_OVERDUE_AFTER = timedelta(days=30)


# --------------------------------------------------------------------------- briefs


def _prosecution_finalised(brief) -> bool:
    return brief.prosecution.state in Prosecution.FINALISED_STATES


class Brief(StatefulModel):
    """One court-watching brief per prosecution that arises from a Casetrail incident."""

    class State(models.TextChoices):
        UNASSIGNED = "unassigned", _("Unassigned")
        ASSIGNED = "assigned", _("Assigned")
        MONITORING = "monitoring", _("Monitoring")
        CLOSED = "closed", _("Closed")

    OPEN_STATES = (State.UNASSIGNED, State.ASSIGNED, State.MONITORING)

    prosecution = models.OneToOneField(Prosecution, on_delete=models.PROTECT, related_name="brief")
    state = FSMField(max_length=20, choices=State.choices, default=State.UNASSIGNED, protected=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="watched_briefs",
    )
    # Mirrors the prosecution's next appearance (kept by the "transition" reaction and hearings).
    next_appearance = models.DateField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["next_appearance", "id"]
        permissions = [("watch_brief", "Watch this brief: record its hearings and feedback")]
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return _("Brief %(number)s: %(matter)s") % {"number": self.pk, "matter": self.prosecution}

    @transition(
        field=state, source=[State.UNASSIGNED, State.ASSIGNED, State.MONITORING], target=State.ASSIGNED
    )
    def assign(self, *, officer):
        self.officer = officer

    @transition(field=state, source=State.ASSIGNED, target=State.MONITORING)
    def start_monitoring(self):
        pass

    @transition(
        field=state,
        source=[State.ASSIGNED, State.MONITORING],
        target=State.CLOSED,
        conditions=[_prosecution_finalised],
    )
    def close(self):
        pass

    @transition(field=state, source=State.CLOSED, target=RETURN_VALUE(State.MONITORING, State.ASSIGNED))
    def reopen(self):
        # Back to watching hearings if it had any, else back to waiting for the first one.
        return self.State.MONITORING if self.hearings.exists() else self.State.ASSIGNED


class BriefUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Brief, on_delete=models.CASCADE)


class BriefGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Brief, on_delete=models.CASCADE)


# --------------------------------------------------------------------------- hearings


class Hearing(models.Model):
    """One appearance on the roll, as the court watcher saw it; its outcome drove the prosecution."""

    class Type(models.TextChoices):
        FIRST_APPEARANCE = "first_appearance", _("First appearance")
        BAIL = "bail", _("Bail")
        REMAND = "remand", _("Remand")
        TRIAL = "trial", _("Trial")
        JUDGMENT = "judgment", _("Judgment")
        SENTENCING = "sentencing", _("Sentencing")

    class Outcome(models.TextChoices):
        POSTPONED = "postponed", _("Postponed")
        TRIAL_STARTED = "trial_started", _("Trial started")
        CONVICTED = "convicted", _("Convicted")
        ACQUITTED = "acquitted", _("Acquitted")
        SENTENCED = "sentenced", _("Sentenced")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        PROVISIONALLY_WITHDRAWN = "provisionally_withdrawn", _("Provisionally withdrawn")
        STRUCK_OFF = "struck_off", _("Struck off the roll")
        WARRANT_ISSUED = "warrant_issued", _("Warrant issued")
        DIVERTED = "diverted", _("Diverted")
        TRANSFERRED = "transferred", _("Transferred")

    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="hearings")
    prosecution = models.ForeignKey(Prosecution, on_delete=models.PROTECT, related_name="hearings")
    date = models.DateField(db_index=True)
    court = models.ForeignKey(Court, on_delete=models.PROTECT, related_name="hearings")
    type = models.CharField(max_length=20, choices=Type.choices)
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reason = models.CharField(max_length=60, blank=True)
    next_date = models.DateField(null=True, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    sentence = models.TextField(blank=True)
    programme = models.CharField(max_length=200, blank=True)
    new_court = models.ForeignKey(
        Court, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_in"
    )
    # The prosecution's state before and after: the transition the outcome took ("" = none).
    transition = models.CharField(max_length=40, blank=True)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.date} {self.get_type_display()}: {self.get_outcome_display()}"


class Feedback(models.Model):
    """What the court watcher observed and told SAPS or the NPA, and what they answered."""

    class Category(models.TextChoices):
        DOCKET_INCOMPLETE = "docket_incomplete", _("Docket incomplete")
        DOCKET_NOT_AT_COURT = "docket_not_at_court", _("Docket not at court")
        WITNESS_INTIMIDATED = "witness_intimidated", _("Witness intimidated")
        WITNESS_NOT_SUBPOENAED = "witness_not_subpoenaed", _("Witness not subpoenaed")
        INVESTIGATING_OFFICER_ABSENT = "investigating_officer_absent", _("Investigating officer absent")
        FORENSIC_REPORT_OUTSTANDING = "forensic_report_outstanding", _("Forensic report outstanding")
        ACCUSED_NOT_BROUGHT = "accused_not_brought", _("Accused not brought from custody")
        VICTIM_NOT_INFORMED = "victim_not_informed", _("Victim not informed")
        OTHER = "other", _("Other")

    class Recipient(models.TextChoices):
        SAPS = "saps", _("SAPS")
        NPA = "npa", _("NPA")

    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="feedback")
    hearing = models.ForeignKey(
        Hearing, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    category = models.CharField(max_length=40, choices=Category.choices)
    text = models.TextField()
    recipient = models.CharField(max_length=10, choices=Recipient.choices)
    recipient_detail = models.CharField(max_length=200, blank=True, help_text=_("Station, office or person"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    response = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    response_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"

    def __str__(self):
        return f"{self.get_category_display()} → {self.get_recipient_display()}"


# --------------------------------------------------------------------------- withdrawal reviews


def _closable(review) -> bool:
    """A re-enrolment decision stays open until the matter is back on the roll; an undecided review
    closes only when the matter is back on the roll (it was re-enrolled: nothing left to decide)."""
    back_on_roll = review.prosecution.state not in Prosecution.REMOVED_STATES
    if review.state == WithdrawalReview.State.DECIDED:
        return review.decision != WithdrawalReview.Decision.RE_ENROL or back_on_roll
    return back_on_roll


class CommitteeMeeting(models.Model):
    """A sitting of the anti-gang priority committee; its agenda is the reviews scheduled for it."""

    date = models.DateField(db_index=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="committee_meetings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self):
        return _("Committee meeting %(date)s") % {"date": f"{self.date:%Y-%m-%d}"}


class WithdrawalReview(StatefulModel):
    """Flagged the moment a prosecution is withdrawn, provisionally withdrawn or struck off."""

    class State(models.TextChoices):
        FLAGGED = "flagged", _("Flagged")
        ON_AGENDA = "on_agenda", _("On agenda")
        DECIDED = "decided", _("Decided")
        CLOSED = "closed", _("Closed")

    class Decision(models.TextChoices):
        RE_ENROL = "re_enrol", _("Re-enrol")
        FURTHER_INVESTIGATION = "further_investigation", _("Further investigation")
        UPHOLD_WITHDRAWAL = "uphold_withdrawal", _("Uphold withdrawal")

    class Priority(models.TextChoices):
        FATAL = "fatal", _("Fatal")
        FIREARM = "firearm", _("Firearm")
        GANG_RELATED = "gang_related", _("Gang-related")
        REPEAT_ACCUSED = "repeat_accused", _("Repeat accused")

    # Each reason outweighs all the later ones together, so the score sorts lexicographically:
    # fatal, then firearm, then gang-related, then repeat accused; age of flag breaks ties.
    PRIORITY_WEIGHTS = {
        Priority.FATAL: 8,
        Priority.FIREARM: 4,
        Priority.GANG_RELATED: 2,
        Priority.REPEAT_ACCUSED: 1,
    }
    UNDECIDED_STATES = (State.FLAGGED, State.ON_AGENDA)

    prosecution = models.ForeignKey(Prosecution, on_delete=models.PROTECT, related_name="withdrawal_reviews")
    state = FSMField(max_length=20, choices=State.choices, default=State.FLAGGED, protected=True)
    # What happened to the matter: the removal transition, its state and reason code.
    removal = models.CharField(max_length=30)
    removal_reason = models.CharField(max_length=40, blank=True)
    flagged_at = models.DateTimeField(default=timezone.now, db_index=True)
    priority_reasons = models.JSONField(default=list, blank=True)
    priority_score = models.PositiveSmallIntegerField(default=0, db_index=True)
    meeting = models.ForeignKey(
        CommitteeMeeting, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=30, choices=Decision.choices, blank=True)
    rationale = models.TextField(blank=True)
    members_present = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority_score", "flagged_at", "id"]
        indexes = [models.Index(fields=["state", "-priority_score", "flagged_at"])]

    def __str__(self):
        return _("Review %(number)s: %(matter)s") % {"number": self.pk, "matter": self.prosecution}

    @property
    def overdue_on(self):
        return self.flagged_at + REVIEW_OVERDUE_AFTER

    @property
    def is_overdue(self) -> bool:
        return self.state in self.UNDECIDED_STATES and timezone.now() > self.overdue_on

    @property
    def days_flagged(self) -> int:
        return (timezone.now() - self.flagged_at).days

    @transition(field=state, source=State.FLAGGED, target=State.ON_AGENDA)
    def schedule(self, *, meeting: CommitteeMeeting):
        self.meeting = meeting

    @transition(field=state, source=State.ON_AGENDA, target=State.DECIDED)
    def decide(self, *, decision: str, rationale: str, decided_by):
        self.decision = decision
        self.rationale = rationale
        self.decided_by = decided_by
        self.decided_at = timezone.now()

    @transition(
        field=state,
        source=[State.FLAGGED, State.ON_AGENDA, State.DECIDED],
        target=State.CLOSED,
        conditions=[_closable],
    )
    def close(self):
        self.closed_at = timezone.now()


# --------------------------------------------------------------------------- notifications


class Notification(models.Model):
    """An in-app notice (also e-mailed). ``key`` (kind:object:date) makes every reminder once-only."""

    class Kind(models.TextChoices):
        HEARING_REMINDER = "hearing_reminder", _("Hearing tomorrow")
        STALE_DIGEST = "stale_digest", _("Stale briefs")
        REVIEW_OVERDUE = "review_overdue", _("Review overdue")
        BRIEF_ASSIGNED = "brief_assigned", _("Brief assigned")
        MATTER_RE_ENROLLED = "matter_re_enrolled", _("Matter re-enrolled")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    key = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_user_key")]

    def __str__(self):
        return self.subject
