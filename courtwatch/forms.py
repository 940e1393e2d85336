"""Forms: the one description of each court-watching action's fields, for the web pages and the API
(transition bodies are validated with them, like casework's)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import plausible
from casework.forms import DateInput, TransitionForm
from casework.models import Court, PostponementReason, RemovalReason

from . import permissions as perms
from .models import CommitteeMeeting, Feedback, Hearing, WithdrawalReview


class OfficerField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=perms.court_watchers(), to_field_name="username", **kwargs)

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class AssignForm(TransitionForm):
    officer = OfficerField(label=_("Court watcher"))


class ScheduleForm(TransitionForm):
    meeting = forms.ModelChoiceField(label=_("Meeting"), queryset=CommitteeMeeting.objects.all())


class DecideForm(TransitionForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=WithdrawalReview.Decision.choices)
    rationale = plausible.form_text(label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 3}))
    members_present = plausible.BoundedMultipleChoiceField(
        label=_("Members present"),
        queryset=perms.committee_members(),
        to_field_name="username",
        required=False,
        help_text=_("Defaults to the meeting's members."),
    )


REASON_CHOICES = [("", "—")] + [
    (_("Postponement"), PostponementReason.choices),
    (_("Withdrawal / strike-off"), RemovalReason.choices),
]


class HearingForm(forms.Form):
    """The phone form: only the outcomes valid now are offered (``outcomes``)."""

    date = plausible.form_future_date(label=_("Hearing date"), widget=DateInput, initial=timezone.localdate)
    type = forms.ChoiceField(label=_("Hearing type"), choices=Hearing.Type.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Hearing.Outcome.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=REASON_CHOICES, required=False)
    next_date = plausible.form_future_date(label=_("Next date"), widget=DateInput, required=False)
    new_court = forms.ModelChoiceField(
        label=_("New court (transfer)"), queryset=Court.objects.all(), to_field_name="code", required=False
    )
    sentence = plausible.form_text(
        label=_("Sentence"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    programme = forms.CharField(label=_("Diversion programme"), required=False, max_length=200)
    note = plausible.form_note(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, outcomes=None, **kwargs):
        super().__init__(*args, **kwargs)
        if outcomes is not None:
            labels = dict(Hearing.Outcome.choices)
            self.fields["outcome"].choices = [(o, labels[o]) for o in outcomes]


class FeedbackForm(forms.Form):
    category = forms.ChoiceField(label=_("Observation"), choices=Feedback.Category.choices)
    recipient = forms.ChoiceField(label=_("To"), choices=Feedback.Recipient.choices)
    recipient_detail = forms.CharField(label=_("Station / office / person"), required=False, max_length=200)
    text = plausible.form_text(label=_("What was observed"), widget=forms.Textarea(attrs={"rows": 3}))


class FeedbackResponseForm(forms.Form):
    response = plausible.form_text(label=_("Response"), widget=forms.Textarea(attrs={"rows": 2}))


class BulkAssignForm(forms.Form):
    court = forms.ModelChoiceField(label=_("Court"), queryset=Court.objects.all(), to_field_name="code")
    officer = OfficerField(label=_("Court watcher"))


class MeetingForm(forms.Form):
    date = plausible.form_future_date(label=_("Date"), widget=DateInput)
    members = plausible.BoundedMultipleChoiceField(
        label=_("Members"),
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = perms.committee_members()
