"""Forms: referral transitions (the API validates with the same ones), the capture form, uploads."""

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import plausible
from casework.forms import DateInput, TransitionForm
from casework.models import Facility, Mechanism, Offence, PlaceType, PoliceCase, Suburb

from .models import Disposition, Role, Sex, Triage
from .parsing import rules
from .parsing.common import IntakeError, Record, has_assault_code
from .services import NO_SUCH_DOCKET


class DeclineForm(TransitionForm):
    reason = forms.CharField(label=_("Why is there no charge?"), max_length=500)


class OpenCaseForm(TransitionForm):
    # The same words for "no such docket" and "a docket elsewhere": the answer must not reveal
    # whether an id exists at a station the user does not work.
    police_case = forms.ModelChoiceField(
        label=_("Docket (id)"),
        queryset=PoliceCase.objects.all(),
        # A number, never a <select>: the options would be every docket in the country (a 1M-admission
        # database has 300,000), each label a query, and the referral queue page never answered.
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid_choice": NO_SUCH_DOCKET},
    )


class OpenDocketForm(forms.Form):
    """The CAS number as SAPS writes it, serial / month / year, in three boxes; the station is the
    referral's. The service opens the docket (or takes the one already open with this number)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    cas_serial = forms.IntegerField(
        label=_("CAS serial"),
        min_value=1,
        max_value=99999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cas_month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12)
    cas_year = forms.IntegerField(label=_("Year"), min_value=2000)
    offence = forms.ModelChoiceField(
        label=_("Offence"),
        queryset=Offence.objects.order_by("name"),
        to_field_name="code",
        empty_label=_("— choose —"),
    )
    opened_on = plausible.form_past_date(label=_("Docket opened on"), widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["cas_year"].max_value = today.year
        self.fields["cas_year"].validators.append(MaxValueValidator(today.year))
        self.fields["cas_year"].initial = today.year
        self.fields["cas_month"].initial = today.month
        self.fields["opened_on"].initial = today

    def cas_number(self) -> str:
        d = self.cleaned_data
        return f"{d['cas_serial']}/{d['cas_month']:02d}/{d['cas_year']}"


# The capture form asks for a mechanism; it is sent on as a representative ICD-10 code.
ICD10_FOR_MECHANISM = {
    Mechanism.FIREARM: "X95.9",
    Mechanism.SHARP: "X99.9",
    Mechanism.BLUNT: "Y00.9",
    Mechanism.BODILY_FORCE: "Y04.9",
    Mechanism.SEXUAL: "Y05.9",
    Mechanism.STRANGULATION: "X91.9",
    Mechanism.BURN: "X97.9",
    Mechanism.POISONING: "X89.9",
    Mechanism.OTHER: "Y09.9",
}


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return (
                timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
                if timezone.is_aware(value)
                else value.strftime("%Y-%m-%dT%H:%M")
            )
        return value


YES_NO_UNKNOWN = [("", _("Unknown")), ("Y", _("Yes")), ("N", _("No"))]


class CaptureForm(forms.Form):
    """The minimum dataset on one screen; everything else has a sensible default."""

    facility = forms.ModelChoiceField(
        label=_("Facility"), queryset=Facility.objects.none(), to_field_name="code"
    )
    visit_number = forms.CharField(label=_("Visit / folder visit number"), max_length=60)
    arrival_at = forms.DateTimeField(
        label=_("Arrival"), widget=DateTimeInput, initial=timezone.now, validators=[plausible.past_fact]
    )
    # No default: a wrong default once replaced "Sharp object" on an update (issue 12).
    mechanism = forms.ChoiceField(
        label=_("Mechanism"),
        choices=[("", _("— choose —")), *Mechanism.choices],
        required=False,
        help_text=_("Needed unless an ICD-10 code X85–Y09 below says it."),
    )
    icd10_codes = forms.CharField(
        label=_("ICD-10 codes (optional)"),
        required=False,
        max_length=200,
        help_text=_("e.g. S31.1 X99.0 — the mechanism above is used when no X85–Y09 code is given."),
    )
    patient_id = forms.CharField(label=_("Folder or ID number"), max_length=40)
    patient_id_type = forms.ChoiceField(
        label=_("Number type"), choices=[("MR", _("Folder number")), ("NI", _("SA ID number"))]
    )
    name = forms.CharField(label=_("Name (optional)"), max_length=200, required=False)
    age_years = forms.IntegerField(label=_("Age (years)"), min_value=0, max_value=120, required=False)
    date_of_birth = plausible.form_past_date(label=_("or date of birth"), required=False, widget=DateInput)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VICTIM)
    triage = forms.ChoiceField(label=_("Triage"), choices=[("", "—"), *Triage.choices], required=False)
    injury_at = forms.DateTimeField(
        label=_("Injury time (optional)"),
        required=False,
        widget=DateTimeInput,
        validators=[plausible.past_fact],
    )
    place_type = forms.ChoiceField(label=_("Place"), choices=[("", "—"), *PlaceType.choices], required=False)
    suburb = forms.ModelChoiceField(
        label=_("Suburb where it happened"),
        queryset=Suburb.objects.all(),
        to_field_name="code",
        required=False,
    )
    disposition = forms.ChoiceField(
        label=_("Disposition"), choices=[("", "—"), *Disposition.choices], required=False
    )
    police_informed = forms.ChoiceField(
        label=_("Police already informed"), choices=YES_NO_UNKNOWN, required=False
    )
    gang_suspected = forms.ChoiceField(
        label=_("Gang-related suspected"), choices=YES_NO_UNKNOWN, required=False
    )

    def __init__(self, *args, facilities=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities if facilities is not None else Facility.objects.none()
        if facilities is not None and facilities.count() == 1:
            self.fields["facility"].initial = facilities.first().code

    def clean_arrival_at(self):
        value = self.cleaned_data["arrival_at"]
        if value and value > timezone.now() + timezone.timedelta(minutes=10):
            raise forms.ValidationError(_("The arrival time is in the future."))
        return value

    def clean(self):
        """The intake's own rules (referrals/parsing/rules.py), so the form refuses before saving
        exactly what processing would refuse afterwards, naming the field."""
        data = super().clean()
        codes = split_codes(data.get("icd10_codes", ""))
        if not data.get("mechanism") and not has_assault_code(codes):
            self.add_error("mechanism", _("Choose the mechanism, or type an X85–Y09 code."))
        if self.errors:
            return data
        self.record = record_from_form(data)
        try:
            rules.check_record(self.record)
        except IntakeError as e:
            # The rules' fixed texts are in the catalogue (marked with gettext_noop where they are raised).
            self.add_error(e.where if e.where in self.fields else None, _(e.problem))
        return data


def split_codes(text: str) -> list[str]:
    return [c.upper() for c in (text or "").replace(";", " ").replace(",", " ").split() if c]


def record_from_form(d: dict) -> Record:
    """The capture form's cleaned data as the intake's Record (the mechanism as its ICD-10 code)."""
    codes = split_codes(d.get("icd10_codes", ""))
    if not has_assault_code(codes):  # the intake's one rule: X85–Y09 (not Y35), T74.2
        codes.append(ICD10_FOR_MECHANISM[d["mechanism"]])
    id_type = d["patient_id_type"]
    return Record(
        facility_code=d["facility"].code,
        visit_number=d["visit_number"].strip(),
        arrival_at=d["arrival_at"],
        event="FORM",
        injury_at=d.get("injury_at"),
        date_of_birth=d.get("date_of_birth"),
        age_years=d.get("age_years"),
        sex=d["sex"],
        role=d["role"],
        icd10_codes=codes,
        triage=d.get("triage", ""),
        place_type=d.get("place_type", ""),
        suburb_text=d["suburb"].code if d.get("suburb") else "",
        disposition=d.get("disposition", ""),
        police_informed={"Y": True, "N": False}.get(d.get("police_informed", "")),
        gang_suspected={"Y": True, "N": False}.get(d.get("gang_suspected", "")),
        name=d.get("name", ""),
        identifiers=[
            {
                "value": d["patient_id"].strip(),
                "type": id_type,
                "authority": "ZAF" if id_type == "NI" else d["facility"].code,
            }
        ],
    )


class CsvUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))


class ReplayForm(forms.Form):
    raw = forms.CharField(
        label=_("Raw message"), widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"})
    )


class SubjectAccessForm(forms.Form):
    """Find one patient (POPIA s23): by ID number, or by folder number and its facility."""

    id_number = forms.CharField(label=_("ID number"), max_length=40, required=False)
    folder_number = forms.CharField(label=_("Folder number"), max_length=40, required=False)
    facility = forms.ModelChoiceField(
        label=_("Facility of the folder number"),
        queryset=Facility.objects.order_by("name"),
        to_field_name="code",
        required=False,
    )
    purpose = forms.CharField(
        label=_("Request reference (e.g. the information officer's file number)"),
        max_length=100,
        required=False,
    )
