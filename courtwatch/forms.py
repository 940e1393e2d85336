"""Forms: the one description of each court-watching action's fields, for the web pages and the API
(transition bodies are validated with them, like casework's)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from casework import plausible
from casework.forms import DateInput, TransitionForm
from casework.models import Court, PostponementReason, RemovalReason

from . import permissions as perms
from .models import CommitteeMeeting, Feedback, Hearing, WithdrawalReview
from .outcomes import CONFIRM_OUTCOMES, outcome_reasons, outcome_required


class OfficerField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=perms.court_watchers(), to_field_name="username", **kwargs)

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class AssignForm(TransitionForm):
    officer = OfficerField(label=_("Court watcher"))


class MeetingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return formats.date_format(obj.date, "l j F Y")


class ScheduleForm(TransitionForm):
    """A review goes on the agenda of a meeting still to come (today's included), on the page and in
    the API alike: a past meeting can no longer discuss it."""

    meeting = MeetingChoiceField(
        label=_("Meeting"),
        queryset=CommitteeMeeting.objects.none(),
        error_messages={"invalid_choice": _("Choose a meeting still to come (today or later).")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = CommitteeMeeting.objects.filter(
            date__gte=timezone.localdate()
        ).order_by("date", "id")


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
OUTCOME_WORDS = dict(Hearing.Outcome.choices)


class HearingForm(forms.Form):
    """The phone form. ``outcomes``: the outcomes valid now (only those are offered). Every rule an
    outcome brings (its reason list, its required fields, the next date after the hearing) is checked
    here at once, so a watcher sees every problem on the first submit; the service checks again."""

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
    # Set when the watcher confirmed a withdrawal or strike-off (the form's confirmation step).
    confirm = forms.CharField(widget=forms.HiddenInput, required=False)

    MISSING = {
        "reason": _("Choose the reason from the list."),
        "next_date": _("A postponement needs the next date."),
        "sentence": _("Write the sentence imposed."),
        "programme": _("Name the diversion programme."),
        "new_court": _("Choose the court the matter moves to."),
    }

    def __init__(self, *args, outcomes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = [str(o) for o in outcomes] if outcomes is not None else None
        words = _("Choose from the list.")
        self.fields["outcome"].error_messages["invalid_choice"] = words
        self.fields["reason"].error_messages["invalid_choice"] = words
        self.fields["type"].error_messages["invalid_choice"] = words
        if not self.is_bound:
            self._offer_now()
        # A bound form validates against every code (a wrong pick is told in words by clean()),
        # then offers only what fits the chosen outcome again.

    def _offer_now(self) -> None:
        if self.outcomes is not None:
            self.fields["outcome"].choices = [(o, OUTCOME_WORDS[o]) for o in self.outcomes]
        self.fields["reason"].choices = [("", "—"), *self._reasons(self.chosen_outcome())]

    def chosen_outcome(self) -> str:
        value = self.data.get(self.add_prefix("outcome")) if self.is_bound else None
        return str(value or self.initial.get("outcome") or self.fields["outcome"].initial or "")

    @staticmethod
    def _reasons(outcome: str):
        """The reasons the outcome accepts (all of them, grouped, when no outcome is chosen yet)."""
        reasons = outcome_reasons().get(outcome)
        return REASON_CHOICES[1:] if reasons is None else reasons

    def required_now(self) -> list[str]:
        """The fields to mark as required for the outcome chosen now."""
        return ["date", "type", "outcome", *outcome_required().get(self.chosen_outcome(), [])]

    def clean_outcome(self):
        outcome = self.cleaned_data["outcome"]
        if self.outcomes is not None and outcome not in self.outcomes:
            allowed = ", ".join(str(OUTCOME_WORDS[o]) for o in self.outcomes)
            raise forms.ValidationError(
                _("This matter cannot be recorded as “%(outcome)s” now. Possible now: %(allowed)s.")
                % {"outcome": OUTCOME_WORDS.get(outcome, outcome), "allowed": allowed}
            )
        return outcome

    def clean(self):
        data = super().clean()
        self._offer_now()
        outcome = data.get("outcome")
        if not outcome:
            return data
        for name in outcome_required().get(outcome, []):
            if name in self.fields and not data.get(name) and name not in self.errors:
                self.add_error(name, self.MISSING.get(name, _("This field is required.")))
        reason = data.get("reason")
        accepted = dict(outcome_reasons().get(outcome, []))
        if reason and reason not in accepted and "reason" not in self.errors:
            self.add_error("reason", self._wrong_reason(outcome, accepted))
        held_on, next_date = data.get("date"), data.get("next_date")
        if held_on and next_date and next_date <= held_on and "next_date" not in self.errors:
            self.add_error("next_date", _("The next date must be after the hearing date."))
        return data

    @staticmethod
    def _wrong_reason(outcome, accepted) -> str:
        if not accepted:
            return _("“%(outcome)s” takes no reason from the list; write it in the notes.") % {
                "outcome": OUTCOME_WORDS[outcome]
            }
        return _("That is not a reason for “%(outcome)s”. Choose one of: %(reasons)s.") % {
            "outcome": OUTCOME_WORDS[outcome],
            "reasons": ", ".join(str(label) for label in accepted.values()),
        }

    def needs_confirmation(self) -> bool:
        return (
            self.cleaned_data.get("outcome") in CONFIRM_OUTCOMES and self.cleaned_data.get("confirm") != "yes"
        )


class ReEnrolReviewField(forms.TypedChoiceField):
    """On the prosecution page: the matter's open withdrawal reviews to choose from (never a typed
    number). One is chosen for you; several ask which review asked for the re-enrolment."""

    def __init__(self, reviews, *, label_from):
        several = len(reviews) > 1
        super().__init__(
            label=_("Withdrawal review this answers"),
            choices=[(r.pk, label_from(r)) for r in reviews],
            coerce=int,
            required=several,
            widget=forms.RadioSelect if several else forms.Select,
            initial=None if several else reviews[0].pk,
            help_text=_("Every open review of this matter closes as re-enrolled."),
        )


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
