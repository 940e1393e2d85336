"""Incidents, police cases, prosecutions, the reference data they stand on, and the transition log.

State fields are django-fsm-2 ``FSMField(protected=True)``: they change only through the
transition methods below, and only services (``casework.services``) call those methods.
A transition method changes the object in memory; the service saves, bumps ``version`` and
writes the log row in one transaction.
"""

import re
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .codes import (  # noqa: F401  (the codes are part of the models' vocabulary)
    POLICE_ATTRIBUTABLE_REASONS,
    Mechanism,
    PlaceType,
    PostponementReason,
    RemovalReason,
)

# --------------------------------------------------------------------------- reference data


class District(models.Model):
    """A health / local-government district (the City of Cape Town metro and its neighbours)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Facility(models.Model):
    """A health facility with an emergency centre; ``code`` is the sender code in HL7 MSH-4."""

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central hospital")
        REGIONAL = "regional", _("Regional hospital")
        DISTRICT = "district", _("District hospital")
        CHC = "chc", _("Community health centre")

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DISTRICT)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="facilities")
    sub_district = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "facilities"
        permissions = [("capture_facility", "Capture and see admissions of this facility")]

    def __str__(self):
        return self.name


class Station(models.Model):
    """A SAPS police station."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    cluster = models.CharField(max_length=120)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="stations")

    class Meta:
        ordering = ["name"]
        permissions = [("work_station", "Work the referrals and police cases of this station")]

    def __str__(self):
        return self.name


class Court(models.Model):
    class Level(models.TextChoices):
        DISTRICT = "district", _("District court")
        REGIONAL = "regional", _("Regional court")
        HIGH = "high", _("High court")

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=160)
    level = models.CharField(max_length=20, choices=Level.choices)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="courts")
    # The stations whose dockets this court's prosecutors receive: an NPA liaison sees the dockets
    # referred to the NPA from these stations only (DESIGN.md roles). A High Court takes matters by
    # transfer from the regional courts, so it serves no station directly.
    stations = models.ManyToManyField(
        Station, related_name="courts", blank=True, verbose_name=_("stations served")
    )

    class Meta:
        ordering = ["name"]
        permissions = [("work_court", "Work the prosecutions on this court's roll")]

    def __str__(self):
        return self.name


class Suburb(models.Model):
    """A suburb or informal settlement, inside one station precinct: where violence happens."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="suburbs")
    # One point per suburb for the map (no boundaries are shipped); where it comes from, in words.
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=5, null=True, blank=True)
    location_source = models.CharField(_("source of the point"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Offence(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        # The shipped categories are in the translation catalogues (reference_data); others show as named.
        return gettext(self.name)


# Direct foreign-key grant tables (NOTES.md: the generic ones outlive deleted rows).
class FacilityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE)


class FacilityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE)


class StationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Station, on_delete=models.CASCADE)


class StationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Station, on_delete=models.CASCADE)


class CourtUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Court, on_delete=models.CASCADE)


class CourtGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Court, on_delete=models.CASCADE)


# --------------------------------------------------------------------------- stateful base


class StatefulModel(FSMModelMixin, models.Model):
    """What every object with a state machine carries: an optimistic-lock version and when it moved."""

    state_changed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


# --------------------------------------------------------------------------- incidents


class Incident(models.Model):
    """One act of interpersonal violence; admissions, police cases and prosecutions hang off it."""

    occurred_at = models.DateTimeField(db_index=True)
    suburb = models.ForeignKey(Suburb, on_delete=models.PROTECT, related_name="incidents")
    mechanism = models.CharField(max_length=20, choices=Mechanism.choices)
    place_type = models.CharField(max_length=20, choices=PlaceType.choices, blank=True)
    fatal = models.BooleanField(default=False)
    # Cached verdict of the standing gang assertions (see GangAssertion); services keep it true.
    gang_related = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return _("Incident %(number)s (%(mechanism)s, %(suburb)s)") % {
            "number": self.pk,
            "mechanism": self.get_mechanism_display(),
            "suburb": self.suburb,
        }


class GangAssertion(models.Model):
    """Who said an incident is (or is not) gang-related, when, and on what basis.

    Rule used by every report: an incident is gang-related while its most recent standing
    (not withdrawn) assertion says so.
    """

    class Source(models.TextChoices):
        EC_CLINICIAN = "ec_clinician", _("EC clinician")
        SAPS = "saps", _("SAPS")
        NPA_CHARGE = "npa_charge", _("NPA charge")
        COMMITTEE = "committee", _("Committee")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="gang_assertions")
    gang_related = models.BooleanField(default=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    basis = models.TextField(blank=True)
    asserted_at = models.DateTimeField(default=timezone.now)
    asserted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-asserted_at", "-id"]

    def __str__(self):
        verdict = "gang-related" if self.gang_related else "not gang-related"
        return f"{self.get_source_display()}: {verdict}"


# --------------------------------------------------------------------------- police cases

CAS_NUMBER_RE = re.compile(r"^\s*(\d{1,5})\s*/\s*(\d{1,2})\s*/\s*(\d{4})\s*$")


def parse_cas_number(value: str) -> tuple[int, int, int]:
    """``"123/04/2025"`` → (123, 4, 2025). Raises ValidationError naming what is wrong."""
    match = CAS_NUMBER_RE.match(value or "")
    if not match:
        raise ValidationError(_("A CAS number is serial/month/year, e.g. 123/04/2025."), code="format")
    serial, month, year = (int(g) for g in match.groups())
    if not 1 <= serial <= 99999:
        raise ValidationError(_("The CAS serial must be 1 to 99999."), code="serial")
    if not 1 <= month <= 12:
        raise ValidationError(_("The CAS month must be 1 to 12."), code="month")
    if not 2000 <= year <= timezone.localdate().year:
        raise ValidationError(_("The CAS year must be 2000 to this year."), code="year")
    return serial, month, year


class PoliceCase(StatefulModel):
    """A SAPS docket, known by its station and CAS number."""

    class State(models.TextChoices):
        OPENED = "opened", _("Opened")
        INVESTIGATING = "investigating", _("Investigating")
        REFERRED_TO_NPA = "referred_to_npa", _("Referred to NPA")
        CLOSED_UNDETECTED = "closed_undetected", _("Closed undetected")
        CLOSED_UNFOUNDED = "closed_unfounded", _("Closed unfounded")
        WITHDRAWN_BY_COMPLAINANT = "withdrawn_by_complainant", _("Withdrawn by complainant")
        DECLINED_TO_PROSECUTE = "declined_to_prosecute", _("Declined to prosecute")

    CLOSED_STATES = (
        State.CLOSED_UNDETECTED,
        State.CLOSED_UNFOUNDED,
        State.WITHDRAWN_BY_COMPLAINANT,
        State.DECLINED_TO_PROSECUTE,
    )

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="police_cases")
    cas_serial = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(99999)])
    cas_month = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    cas_year = models.PositiveSmallIntegerField(validators=[MinValueValidator(2000)])
    offence = models.ForeignKey(Offence, on_delete=models.PROTECT, related_name="police_cases")
    opened_on = models.DateField()
    incidents = models.ManyToManyField(Incident, related_name="police_cases", blank=True)
    state = FSMField(max_length=30, choices=State.choices, default=State.OPENED, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "cas_serial", "cas_month", "cas_year"],
                name="unique_cas_number_per_station",
            ),
            models.CheckConstraint(
                condition=models.Q(cas_month__gte=1, cas_month__lte=12), name="cas_month_1_to_12"
            ),
            models.CheckConstraint(
                condition=models.Q(cas_serial__gte=1, cas_serial__lte=99999), name="cas_serial_1_to_99999"
            ),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return f"CAS {self.cas_number} {self.station}"

    @property
    def cas_number(self) -> str:
        return f"{self.cas_serial}/{self.cas_month:02d}/{self.cas_year}"

    @transition(field=state, source=State.OPENED, target=State.INVESTIGATING)
    def investigate(self):
        pass

    @transition(field=state, source=State.INVESTIGATING, target=State.REFERRED_TO_NPA)
    def refer_to_npa(self):
        pass

    @transition(field=state, source=State.REFERRED_TO_NPA, target=State.INVESTIGATING)
    def return_for_investigation(self):
        pass

    @transition(field=state, source=State.REFERRED_TO_NPA, target=State.DECLINED_TO_PROSECUTE)
    def decline_to_prosecute(self):
        pass

    @transition(field=state, source=[State.OPENED, State.INVESTIGATING], target=State.CLOSED_UNDETECTED)
    def close_undetected(self):
        pass

    @transition(field=state, source=[State.OPENED, State.INVESTIGATING], target=State.CLOSED_UNFOUNDED)
    def close_unfounded(self):
        pass

    @transition(
        field=state, source=[State.OPENED, State.INVESTIGATING], target=State.WITHDRAWN_BY_COMPLAINANT
    )
    def complainant_withdraws(self):
        pass

    @transition(field=state, source=list(CLOSED_STATES), target=State.INVESTIGATING)
    def reopen(self):
        pass


# --------------------------------------------------------------------------- prosecutions


class Prosecution(StatefulModel):
    """An NPA matter on a court roll, arising from one police case."""

    class State(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        REMANDED = "remanded", _("Remanded")
        TRIAL = "trial", _("On trial")
        CONVICTED = "convicted", _("Convicted")
        SENTENCED = "sentenced", _("Sentenced")
        ACQUITTED = "acquitted", _("Acquitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        PROVISIONALLY_WITHDRAWN = "provisionally_withdrawn", _("Provisionally withdrawn")
        STRUCK_OFF = "struck_off", _("Struck off the roll")
        WARRANT_ISSUED = "warrant_issued", _("Warrant issued")
        DIVERTED = "diverted", _("Diverted")

    FINALISED_STATES = (
        State.CONVICTED,
        State.SENTENCED,
        State.ACQUITTED,
        State.WITHDRAWN,
        State.PROVISIONALLY_WITHDRAWN,
        State.STRUCK_OFF,
        State.DIVERTED,
    )
    CONVICTION_STATES = (State.CONVICTED, State.SENTENCED)
    REMOVED_STATES = (State.WITHDRAWN, State.PROVISIONALLY_WITHDRAWN, State.STRUCK_OFF)

    police_case = models.ForeignKey(PoliceCase, on_delete=models.PROTECT, related_name="prosecutions")
    court = models.ForeignKey(Court, on_delete=models.PROTECT, related_name="prosecutions")
    case_number = models.CharField(max_length=40)
    enrolled_on = models.DateField()
    state = FSMField(max_length=30, choices=State.choices, default=State.ENROLLED, protected=True)
    # When it entered its current finalised state (null while the matter is open).
    finalised_on = models.DateTimeField(null=True, blank=True, db_index=True)
    next_appearance = models.DateField(null=True, blank=True)
    removal_reason = models.CharField(max_length=40, choices=RemovalReason.choices, blank=True)
    sentence_text = models.TextField(blank=True)
    diversion_programme = models.CharField(max_length=200, blank=True)
    enrolments = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-enrolled_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["court", "case_number"], name="unique_case_number_per_court"),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return f"{self.case_number} ({self.court})"

    @property
    def is_finalised(self) -> bool:
        return self.state in self.FINALISED_STATES

    def on_state_changed(self, at) -> None:
        """Called by apply_transition after every transition, with the time it took effect."""
        # "Finalised on" is when the matter entered its current finalised state (DESIGN.md).
        self.finalised_on = at if self.state in self.FINALISED_STATES else None

    def _finalise(self):
        self.next_appearance = None

    def _reopen_on_roll(self, next_date: date | None):
        self.removal_reason = ""
        self.next_appearance = next_date

    @transition(
        field=state, source=[State.ENROLLED, State.REMANDED, State.WARRANT_ISSUED], target=State.REMANDED
    )
    def remand(self, *, next_date: date):
        self.next_appearance = next_date

    @transition(field=state, source=[State.ENROLLED, State.REMANDED], target=State.REMANDED)
    def transfer(self, *, court: Court, next_date: date | None = None):
        self.court = court
        self.next_appearance = next_date or self.next_appearance

    @transition(field=state, source=[State.ENROLLED, State.REMANDED], target=State.TRIAL)
    def start_trial(self, *, next_date: date | None = None):
        self.next_appearance = next_date or self.next_appearance

    @transition(field=state, source=[State.ENROLLED, State.REMANDED, State.TRIAL], target=State.CONVICTED)
    def convict(self, *, next_date: date | None = None):
        # Sentencing is the only step left; the next date, if any, is the sentencing date.
        self.next_appearance = next_date

    @transition(field=state, source=State.TRIAL, target=State.ACQUITTED)
    def acquit(self):
        self._finalise()

    @transition(field=state, source=State.CONVICTED, target=State.SENTENCED)
    def sentence(self, *, sentence: str):
        self.sentence_text = sentence
        self._finalise()

    @transition(field=state, source=[State.ENROLLED, State.REMANDED, State.TRIAL], target=State.WITHDRAWN)
    def withdraw(self, *, reason_code: str):
        self.removal_reason = reason_code
        self._finalise()

    @transition(field=state, source=[State.ENROLLED, State.REMANDED], target=State.PROVISIONALLY_WITHDRAWN)
    def withdraw_provisionally(self, *, reason_code: str):
        self.removal_reason = reason_code
        self._finalise()

    @transition(field=state, source=[State.ENROLLED, State.REMANDED], target=State.STRUCK_OFF)
    def strike_off(self, *, reason_code: str):
        self.removal_reason = reason_code
        self._finalise()

    @transition(
        field=state, source=[State.ENROLLED, State.REMANDED, State.TRIAL], target=State.WARRANT_ISSUED
    )
    def issue_warrant(self):
        self.next_appearance = None

    @transition(field=state, source=[State.ENROLLED, State.REMANDED], target=State.DIVERTED)
    def divert(self, *, programme: str):
        self.diversion_programme = programme
        self._finalise()

    @transition(
        field=state,
        source=[State.WITHDRAWN, State.PROVISIONALLY_WITHDRAWN, State.STRUCK_OFF],
        target=State.REMANDED,
    )
    def re_enrol(self, *, next_date: date | None = None):
        self._reopen_on_roll(next_date)
        self.enrolments += 1


class Accused(models.Model):
    """One accused in a prosecution, with their own outcome at finalisation."""

    class Outcome(models.TextChoices):
        PENDING = "", _("Pending")
        CONVICTED = "convicted", _("Convicted")
        ACQUITTED = "acquitted", _("Acquitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        DIVERTED = "diverted", _("Diverted")

    prosecution = models.ForeignKey(Prosecution, on_delete=models.CASCADE, related_name="accused")
    name = models.CharField(max_length=200)
    # Keyed pseudonym of an identifier (ID number), so repeat accused link without identity.
    pseudonym = models.CharField(max_length=64, blank=True, db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "accused"

    def __str__(self):
        return self.name


# --------------------------------------------------------------------------- transition log


class TransitionLog(models.Model):
    """Append-only record of every state change, from every entry point.

    On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002).
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=40)
    to_state = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When the change took effect (a hearing's date may be earlier than when it was recorded).
    at = models.DateTimeField(default=timezone.now, db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"]),
            # Reports read one kind of step over a period (re-enrolments, removals).
            models.Index(fields=["transition", "at"]),
        ]

    def __str__(self):
        return f"{self.transition}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("The transition log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The transition log is append-only.")

    @property
    def label(self) -> str:
        """What the timeline calls this step, in words (``casework.labels``, the one table)."""
        from .labels import words  # labels reads the models: imported when first asked

        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        return words("transition", self.transition, model)

    @classmethod
    def record_start(cls, subject, name: str, *, actor, at=None, **fields) -> "TransitionLog":
        """The first row of a new object's history: created (``name``, e.g. "open") in its first state."""
        at = at or getattr(subject, "state_changed_at", None) or timezone.now()
        return cls.objects.create(
            subject=subject,
            transition=name,
            from_state="",
            to_state=subject.state,
            actor=actor,
            at=at,
            **fields,
        )

    @classmethod
    def for_object(cls, obj):
        return cls.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
        ).select_related("actor")
