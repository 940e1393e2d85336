"""Hospital intake: the inbox of raw messages, the admissions made from them, patient identity
(encrypted, every read audited) and referrals to SAPS.

The inbox is the only truth about what arrived: a message is stored (and committed) before it
is acknowledged; processing it into an admission happens later, in a task, and may be repeated
safely. See docs/intake.md.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from casework.models import (
    Facility,
    Incident,
    Mechanism,
    PlaceType,
    PoliceCase,
    StatefulModel,
    Station,
    Suburb,
)

from .crypto import EncryptedJSONField, EncryptedTextField


class Channel(models.TextChoices):
    HL7_MLLP = "hl7_mllp", _("HL7 v2 over MLLP")
    HL7_HTTP = "hl7_http", _("HL7 v2 over HTTP")
    FHIR = "fhir", _("FHIR R4 bundle")
    CSV = "csv", _("CSV upload")
    FORM = "form", _("Capture form")


# A message resent over HTTP after being sent over MLLP is the same message.
CHANNEL_FAMILY = {
    Channel.HL7_MLLP: "hl7",
    Channel.HL7_HTTP: "hl7",
    Channel.FHIR: "fhir",
    Channel.CSV: "csv",
    Channel.FORM: "form",
}


class SendingSystem(models.Model):
    """A registered sending system (hospital interface engine): the ``integration`` role of DESIGN.md.

    Its credential is a client certificate (MLLP over TLS: by SHA-256 fingerprint and/or subject CN)
    and the Django account whose API token it uses over HTTP. The facilities it may send for are the
    account's facility grants (django-guardian, like an EC clerk's): ``permissions.sender_facilities``.
    """

    name = models.CharField(max_length=80, unique=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sending_system"
    )
    certificate_sha256 = models.CharField(
        _("client certificate SHA-256 fingerprint"),
        max_length=64,
        blank=True,
        help_text=_("Hex digest of the certificate (DER); colons and case are ignored."),
    )
    certificate_subject = models.CharField(
        _("client certificate subject CN"),
        max_length=200,
        blank=True,
        help_text=_("Used when no fingerprint is given: any certificate of our CA with this CN."),
    )
    active = models.BooleanField(default=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_sha256"],
                condition=~models.Q(certificate_sha256=""),
                name="one_sender_per_certificate",
            ),
            models.UniqueConstraint(
                fields=["certificate_subject"],
                condition=~models.Q(certificate_subject=""),
                name="one_sender_per_subject",
            ),
        ]

    def __str__(self):
        return self.name

    @staticmethod
    def normalise_fingerprint(value: str) -> str:
        return "".join(c for c in (value or "").lower() if c in "0123456789abcdef")

    def clean(self):
        self.certificate_sha256 = self.normalise_fingerprint(self.certificate_sha256)
        if self.certificate_sha256 and len(self.certificate_sha256) != 64:
            raise ValidationError({"certificate_sha256": _("A SHA-256 fingerprint has 64 hex digits.")})
        self.certificate_subject = self.certificate_subject.strip()


class InboundMessage(models.Model):
    """One message as received, kept before it is acknowledged.

    ``raw`` is encrypted at rest (it carries names and ID numbers). A message filtered out
    (no assault code) keeps only its metadata: ``raw`` is emptied.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate")
        FILTERED = "filtered", _("Filtered (no assault code)")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed (dead letter)")

    UNFINISHED = (Status.RECEIVED, Status.PROCESSING)
    DEAD = (Status.FAILED, Status.REJECTED)

    channel = models.CharField(max_length=12, choices=Channel.choices)
    family = models.CharField(max_length=8, editable=False)
    sender = models.CharField(max_length=80, blank=True, help_text=_("Facility code as sent (MSH-4)."))
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    control_id = models.CharField(max_length=120, blank=True, help_text=_("MSH-10, bundle id or file hash."))
    message_type = models.CharField(max_length=40, blank=True)
    # PV1-19 of an accepted HL7 message, in clear like the admission's: an update (A03/A08) finds the
    # stored, unprocessed or dead-lettered A01/A04 of its visit by index, not by decrypting every raw.
    visit_number = models.CharField(max_length=60, blank=True, default="")
    raw = EncryptedTextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The registered system that sent it (its certificate or its account): processing checks the
    # facilities again against it.
    sending_system = models.ForeignKey(
        SendingSystem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    duplicates_seen = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    admission = models.ForeignKey(
        "Admission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The answer given when it arrived, so a duplicate gets exactly the same one.
    ack = models.TextField(blank=True)
    # CSV: the per-row report [{"row": n, "field": f, "problem": p}, …] and counts.
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "sender", "control_id"],
                condition=~models.Q(control_id="") & ~models.Q(status__in=["rejected", "duplicate"]),
                name="inbound_once_per_sender_control_id",
            )
        ]
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="inbound_status_idx"),
            models.Index(
                fields=["facility", "visit_number"],
                condition=models.Q(status__in=["received", "processing", "failed"])
                & ~models.Q(visit_number=""),
                name="inbound_waiting_visit_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.sender} {self.control_id} ({self.status})"

    def save(self, *args, **kwargs):
        self.family = CHANNEL_FAMILY[self.channel]
        super().save(*args, **kwargs)


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Role(models.TextChoices):
    VICTIM = "victim", _("Victim")
    PERPETRATOR = "perpetrator", _("Perpetrator")
    UNKNOWN = "unknown", _("Unknown")


class Triage(models.TextChoices):
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")
    BLUE = "blue", _("Blue")


class Disposition(models.TextChoices):
    DISCHARGED = "discharged", _("Discharged")
    ADMITTED = "admitted", _("Admitted")
    TRANSFERRED = "transferred", _("Transferred")
    DIED = "died", _("Died")
    ABSCONDED = "absconded", _("Absconded")


AGE_BANDS = [(0, 14, "0-14"), (15, 24, "15-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54")]
AGE_BANDS += [(55, 64, "55-64"), (65, 200, "65+")]


def age_band(age: int | None) -> str:
    if age is None:
        return ""
    return next((label for lo, hi, label in AGE_BANDS if lo <= age <= hi), "")


class Admission(models.Model):
    """An EC visit for interpersonal violence: the minimum dataset, de-identified.

    One row per (facility, visit number): A08 updates and A03 dispositions change the same row.
    """

    # No index of its own: (facility, visit number) and (facility, arrival) lead with it.
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="admissions", db_index=False
    )
    visit_number = models.CharField(max_length=60)
    arrival_at = models.DateTimeField(db_index=True)
    injury_at = models.DateTimeField(null=True, blank=True)
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    age_band = models.CharField(max_length=8, blank=True)
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.VICTIM)
    mechanism = models.CharField(max_length=20, choices=Mechanism.choices)
    icd10_codes = models.JSONField(default=list, blank=True)
    triage = models.CharField(max_length=8, choices=Triage.choices, blank=True)
    place_type = models.CharField(max_length=20, choices=PlaceType.choices, blank=True)
    suburb = models.ForeignKey(
        Suburb, null=True, blank=True, on_delete=models.PROTECT, related_name="admissions"
    )
    suburb_text = models.CharField(max_length=120, blank=True, help_text=_("Suburb as sent."))
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    disposition = models.CharField(max_length=12, choices=Disposition.choices, blank=True)
    police_informed = models.BooleanField(null=True, blank=True)
    gang_suspected = models.BooleanField(null=True, blank=True)
    pseudonym = models.CharField(max_length=64, blank=True)  # indexed in Meta: equality only, no LIKE index
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="admissions"
    )
    message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_row = models.PositiveIntegerField(null=True, blank=True, help_text=_("CSV row number."))
    event = models.CharField(max_length=8, blank=True, help_text=_("Last HL7 trigger event, e.g. A08."))
    # The time of the newest message applied (MSH-7, else EVN-2, else receipt): an older one changes nothing.
    message_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "visit_number"], name="one_admission_per_visit"),
        ]
        # Every index costs each of a backfill's million inserts: only those a query uses.
        indexes = [
            models.Index(fields=["facility", "arrival_at"], name="admission_facility_arrival"),
            models.Index(fields=["pseudonym"], name="admission_pseudonym"),
        ]

    def __str__(self):
        return _("%(facility)s visit %(visit)s") % {
            "facility": self.facility.code,
            "visit": self.visit_number,
        }


IDENTITY_KEYS = {"name": "", "identifiers": [], "date_of_birth": "", "contact": ""}


def _identity_detail(key: str) -> property:
    """``identity.name`` and co.: one key of the one encrypted token."""

    def get(self):
        if self.details is not None:
            return self.details.get(key, IDENTITY_KEYS[key])
        return IDENTITY_KEYS[key]

    def set(self, value):
        base = self.details if self.details is not None else dict(IDENTITY_KEYS)
        self.details = {**base, key: value}

    return property(get, set)


class PatientIdentity(models.Model):
    """Who the patient is: kept apart, encrypted at rest, read only through an audited selector.

    ``details`` holds name, identifiers, date of birth and contact as one Fernet token: one
    encryption per patient instead of one per field (it was most of the cost of a CSV backfill).
    Rows of before, one token per field, were moved into it by migration 0005.
    """

    admission = models.OneToOneField(Admission, on_delete=models.CASCADE, related_name="identity")
    # {"name": …, "identifiers": [{"value": "0105125800081", "type": "NI", "authority": "ZAF"}, …],
    #  "date_of_birth": "2001-05-12", "contact": …}
    details = EncryptedJSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    name = _identity_detail("name")
    identifiers = _identity_detail("identifiers")
    date_of_birth = _identity_detail("date_of_birth")
    contact = _identity_detail("contact")

    class Meta:
        verbose_name_plural = "patient identities"

    def __str__(self):
        return f"Identity of admission {self.admission_id}"


class IdentityVersion(models.Model):
    """An identity as it was before an update changed it: who replaced it, when, with which message.

    Append-only (a PostgreSQL trigger refuses UPDATE and DELETE, except blanking ``details`` when
    identity is purged); encrypted like the identity. The current identity is ``PatientIdentity``.
    """

    admission = models.ForeignKey(Admission, on_delete=models.PROTECT, related_name="identity_versions")
    details = EncryptedJSONField(null=True)  # {"name", "identifiers", "date_of_birth", "contact"}
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by_message = models.ForeignKey(
        InboundMessage, null=True, on_delete=models.PROTECT, related_name="+"
    )
    replaced_by_sender = models.ForeignKey(
        SendingSystem, null=True, on_delete=models.PROTECT, related_name="+"
    )
    replaced_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["admission", "-replaced_at", "-id"]

    def __str__(self):
        return f"Identity of admission {self.admission_id} before {self.replaced_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Identity versions are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Identity versions are append-only.")


class StagedRow(models.Model):
    """A CSV row validated at upload, waiting for its file to be processed (PostgreSQL only).

    Every column is what the admission (and its identity token) will hold, so processing does
    not validate the file a second time and inserts the admissions set-based. This is a cache of
    the validation of ``message.raw``, not the truth: the table is UNLOGGED (millions of rows
    without WAL), so after a crash it is empty and processing validates the raw file again.
    Rows are deleted in the transaction that processes their file.
    """

    # No foreign-key constraints: checking one per row would cost more than the row itself.
    message = models.ForeignKey(InboundMessage, on_delete=models.DO_NOTHING, db_constraint=False)
    row = models.PositiveIntegerField()
    # A later row of a visit seen earlier in the same file: applied as an update, after the rest.
    repeat = models.BooleanField(default=False)
    facility_id = models.BigIntegerField()
    visit_number = models.CharField(max_length=60)
    arrival_at = models.DateTimeField()
    injury_at = models.DateTimeField(null=True)
    age_years = models.PositiveSmallIntegerField(null=True)
    age_band = models.CharField(max_length=8, blank=True)
    sex = models.CharField(max_length=8)
    role = models.CharField(max_length=12)
    mechanism = models.CharField(max_length=20)
    icd10_codes = models.JSONField(default=list)
    triage = models.CharField(max_length=8, blank=True)
    place_type = models.CharField(max_length=20, blank=True)
    suburb_text = models.CharField(max_length=120, blank=True)
    suburb_id = models.BigIntegerField(null=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True)
    disposition = models.CharField(max_length=12, blank=True)
    police_informed = models.BooleanField(null=True)
    gang_suspected = models.BooleanField(null=True)
    pseudonym = models.CharField(max_length=64, blank=True)
    # PatientIdentity.details, already encrypted.
    details = EncryptedJSONField()

    def __str__(self):
        return f"Row {self.row} of message {self.message_id}"


class IdentityRead(models.Model):
    """Append-only audit of every read of identity (and of raw messages, which carry it).

    On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002).
    """

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    admission = models.ForeignKey(Admission, null=True, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(InboundMessage, null=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=200, help_text=_("Why / where: the page or API path."))

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.reader} read {self.admission_id or self.message_id} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("The identity read log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The identity read log is append-only.")


class Referral(StatefulModel):
    """An admission referred to the SAPS station whose precinct holds the place of injury."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CASE_OPENED = "case_opened", _("Case opened")
        DECLINED = "declined", _("Declined")

    admission = models.OneToOneField(Admission, on_delete=models.PROTECT, related_name="referral")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="referrals")
    state = FSMField(max_length=20, choices=State.choices, default=State.PENDING, protected=True)
    police_case = models.ForeignKey(
        PoliceCase, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    decline_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["station", "state"], name="referral_station_state"),
            # The queue's page in its own order: a liaison's stations come from a permission subquery
            # the planner cannot push into the (station, state) index (docs/reliability.md, "Load").
            models.Index(fields=["state", "-created_at", "-id"], name="referral_queue_order"),
        ]

    def __str__(self):
        return _("Referral %(number)s to %(station)s (%(state)s)") % {
            "number": self.pk,
            "station": self.station,
            "state": self.get_state_display(),
        }

    @transition(field=state, source=State.PENDING, target=State.SENT)
    def send(self):
        pass

    @transition(field=state, source=State.SENT, target=State.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=state, source=State.ACKNOWLEDGED, target=State.CASE_OPENED)
    def open_case(self, *, police_case: PoliceCase):
        self.police_case = police_case

    @transition(field=state, source=[State.PENDING, State.SENT, State.ACKNOWLEDGED], target=State.DECLINED)
    def decline(self, *, why: str):
        self.decline_reason = why

    @transition(field=state, source=State.DECLINED, target=State.PENDING)
    def reopen(self):
        self.decline_reason = ""
