"""What court watching adds to casework's prosecution page (``casework.page_links``), registered at
start-up: the brief and the withdrawal reviews as links, a watcher's steps as hearings on the brief,
and the open reviews a re-enrolment closes as a list to choose from.
"""

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework import labels, transitions
from casework.labels import words
from casework.models import Prosecution
from casework.page_links import Link, register_form_choices, register_links, register_route

from . import forms
from . import permissions as perms
from .models import Brief, WithdrawalReview
from .outcomes import OUTCOME_TRANSITIONS

# The hearing outcome a prosecution transition records (remand → postponed, withdraw → withdrawn …).
TRANSITION_OUTCOMES = {t: str(o) for o, t in OUTCOME_TRANSITIONS.items()}


def _brief(user, prosecution) -> Brief | None:
    return perms.visible_briefs(user).filter(prosecution=prosecution).first()


def prosecution_links(user, prosecution: Prosecution) -> list[Link]:
    links = []
    brief = _brief(user, prosecution)
    if brief is not None:
        url = reverse("courtwatch:brief-detail", args=[brief.pk])
        if perms.watches(user, brief):
            links.append(Link(_("Brief: record a hearing"), f"{url}#record", primary=True))
        else:
            links.append(Link(_("Court-watching brief"), url))
    for r in perms.visible_reviews(user).filter(prosecution=prosecution).order_by("-flagged_at"):
        label = _("Withdrawal review of %(day)s (%(state)s)") % {
            "day": formats.date_format(r.flagged_at.date(), "j M Y"),
            "state": words("state", r.state, r).lower(),
        }
        links.append(Link(label, reverse("courtwatch:review-detail", args=[r.pk])))
    return links


def watcher_route(user, prosecution: Prosecution, name: str) -> str | None:
    """A watcher's step on the case page is a hearing: the brief's form with that outcome chosen."""
    outcome = TRANSITION_OUTCOMES.get(name)
    brief = _brief(user, prosecution) if outcome else None
    if brief is None or not perms.watches(user, brief):
        return None
    return reverse("courtwatch:brief-detail", args=[brief.pk]) + f"?outcome={outcome}#record"


def open_reviews(prosecution: Prosecution):
    return WithdrawalReview.objects.filter(prosecution=prosecution).exclude(
        state=WithdrawalReview.State.CLOSED
    )


def review_choice(review: WithdrawalReview) -> str:
    """A review as the NPA recognises it: when and why the matter left the roll, where the review is."""
    text = _("Flagged %(day)s: %(removal)s, %(reason)s — %(state)s") % {
        "day": formats.date_format(review.flagged_at.date(), "j M Y"),
        "removal": words("removal", review.removal),
        "reason": words("reason", review.removal_reason) if review.removal_reason else "—",
        "state": words("state", review.state, review).lower(),
    }
    if review.decision:
        text += " · " + words("decision", review.decision)
    return text


def re_enrol_choices(user, prosecution: Prosecution, name: str, form) -> None:
    """The re-enrolment form lists the matter's open reviews (all of them close with it)."""
    if name != "re_enrol" or "review" not in form.fields:
        return
    reviews = list(open_reviews(prosecution).order_by("flagged_at", "id"))
    if not reviews:
        del form.fields["review"]
        return
    form.fields["review"] = forms.ReEnrolReviewField(reviews, label_from=review_choice)


def register() -> None:
    labels.register("priority", WithdrawalReview.Priority)
    # A review's ``removal`` (the transition that took the matter off the roll) read as the state it left.
    states = dict(Prosecution.State.choices)
    labels.register("removal", {n: states[t] for n, t in transitions.removal_transitions().items()})
    labels.register("reason", {"re_enrolled": gettext_lazy("Matter re-enrolled")})
    register_links("prosecution", prosecution_links)
    register_route("prosecution", watcher_route)
    register_form_choices("prosecution", re_enrol_choices)
