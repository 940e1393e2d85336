"""Forms: referral transitions (the API validates with the same ones), the capture form, uploads."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import plausible
from casework.forms import DateInput, TransitionForm
from casework.models import Facility, Mechanism, PlaceType, PoliceCase, Suburb

from .models import Disposition, Role, Sex, Triage
from .services import NO_SUCH_DOCKET


class DeclineForm(TransitionForm):
    reason = forms.CharField(label=_("Why is there no charge?"), max_length=500)


class OpenCaseForm(TransitionForm):
    # The same words for "no such docket" and "a docket elsewhere": the answer must not reveal
    # whether an id exists at a station the user does not work.
    police_case = forms.ModelChoiceField(
        label=_("Docket (id)"),
        queryset=PoliceCase.objects.all(),
        error_messages={"invalid_choice": NO_SUCH_DOCKET},
    )


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
    mechanism = forms.ChoiceField(label=_("Mechanism"), choices=Mechanism.choices)
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
