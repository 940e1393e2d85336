"""Web pages for court watching: adapters that parse a form, call one service and render.

A brief, review or meeting the user may not see answers 404 exactly like a missing one (every
lookup starts from the access layer's visible_* querysets).
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import csvsafe, transitions
from casework.errors import InvalidInput, NotAllowed, StaleVersion
from casework.labels import words
from casework.models import TransitionLog
from casework.pagination import PER_PAGE, paginate
from casework.web_transitions import put_on_form, take_transition, transition_forms

from . import forms, selectors, services
from . import permissions as perms
from .models import REVIEW_OVERDUE_AFTER, Brief, Hearing, WithdrawalReview
from .notifications import notification_mark_read
from .outcomes import (
    CONFIRM_OUTCOMES,
    default_hearing_type,
    outcome_fields,
    outcome_reasons,
    outcome_required,
)


@login_required
def index(request):
    page = perms.start_page(request.user)
    if page is None:
        raise Http404
    return redirect(page)


# -------------------------------------------------------------------- briefs


# Open briefs first, then by the next hearing date (none last), then by number: stable across pages.
_BRIEF_ORDER = (
    Case(When(state=Brief.State.CLOSED, then=Value(1)), default=Value(0)),
    F("next_appearance").asc(nulls_last=True),
    "id",
)


@login_required
def my_briefs(request):
    user = request.user
    if perms.is_brief_manager(user):
        q = request.GET
        briefs = selectors.brief_list_for_user(
            user, state=q.get("state", ""), court=q.get("court", ""), officer=q.get("officer", "")
        )
    else:
        briefs = selectors.my_briefs(user)
    briefs = briefs.order_by(*_BRIEF_ORDER)
    today = timezone.localdate()
    page = paginate(request, briefs)
    shown = briefs.filter(pk__in=[b.pk for b in page])
    stale = set(selectors.stale_briefs(shown, today).values_list("pk", flat=True))
    return render(
        request,
        "courtwatch/my_briefs.html",
        {
            "page": page,
            "briefs": page,
            "stale": stale,
            "today": today,
            "is_manager": perms.is_brief_manager(user),
            "mine": not perms.is_brief_manager(user),  # the officer is the reader: not shown
        },
    )


def _brief_or_404(request, pk) -> Brief:
    try:
        return selectors.brief_get_for_user(request.user, pk)
    except Brief.DoesNotExist as e:
        raise Http404 from e


def _hearing_form(brief, outcomes, outcome: str = "") -> forms.HearingForm:
    """A fresh hearing form: today, the type the matter's stage suggests, the outcome asked for
    (the case page's buttons) or else "postponed", the most common outcome of a day in court."""
    p = brief.prosecution
    if outcome not in outcomes:
        common = Hearing.Outcome.POSTPONED
        outcome = common if common in outcomes else (outcomes[0] if outcomes else "")
    initial = {
        "version": p.version,
        "date": timezone.localdate(),
        "type": default_hearing_type(p, heard_before=brief.hearings.exists()),
        "outcome": outcome,
    }
    return forms.HearingForm(outcomes=outcomes, initial=initial)


def _brief_page(request, brief, *, hearing_form=None, feedback_form=None, assign_form=None, status=200):
    p = brief.prosecution
    user = request.user
    may_work = perms.may_work_brief(user, brief)
    outcomes = services.outcomes_valid_now(p)
    specs = transitions.available(brief, user)
    names = [(s.name, words("transition", s.name, brief)) for s in specs if s.name != "assign"]
    hearing_form = hearing_form or _hearing_form(brief, outcomes, request.GET.get("outcome", ""))
    context = {
        "brief": brief,
        "p": p,
        "accused": p.accused.all(),
        "timeline": TransitionLog.for_object(p),
        "brief_log": TransitionLog.for_object(brief),
        "hearings": brief.hearings.select_related("officer", "new_court"),
        "feedback": brief.feedback.select_related("created_by"),
        "reviews": WithdrawalReview.objects.filter(prosecution=p).order_by("-flagged_at"),
        "may_work": may_work,
        "outcomes": outcomes,
        "form_help": {
            "fields": outcome_fields(),
            "reasons": outcome_reasons(),
            "required": outcome_required(),
            "confirm": sorted(CONFIRM_OUTCOMES),
        },
        "hearing_form": hearing_form,
        "required_now": hearing_form.required_now(),
        "feedback_form": feedback_form or forms.FeedbackForm(),
        "response_form": forms.FeedbackResponseForm(),
        "assign_form": assign_form if assign_form is not None else forms.AssignForm(),
        "may_assign": perms.may_transition_brief(user, brief, "assign") and brief.state != Brief.State.CLOSED,
        "transitions": names,
    }
    return render(request, "courtwatch/brief_detail.html", context, status=status)


@login_required
def brief_detail(request, pk):
    return _brief_page(request, _brief_or_404(request, pk))


def _record(request, brief, form) -> bool:
    """Record the validated hearing through the one service; False with the error on the form."""
    d = form.cleaned_data
    try:
        services.hearing_record(
            actor=request.user,
            prosecution=brief.prosecution,
            held_on=d["date"],
            kind=d["type"],
            outcome=d["outcome"],
            reason=d["reason"],
            next_date=d["next_date"],
            note=d["note"],
            new_court=d["new_court"],
            sentence=d["sentence"],
            programme=d["programme"],
            version=d["version"],
        )
    except NotAllowed as exc:  # the matter moved meanwhile: say so in words
        form.add_error(
            "outcome",
            _("This matter is now %(state)s. Possible now: %(allowed)s.")
            % {
                "state": words("state", exc.state, brief.prosecution).lower(),
                "allowed": ", ".join(words("outcome", o) for o in exc.allowed) or _("nothing"),
            },
        )
        return False
    except (InvalidInput, StaleVersion) as exc:
        put_on_form(form, exc)
        return False
    return True


@login_required
def brief_hearing(request, pk):
    """POST records a hearing; a GET (a reload after an error, a bookmarked step) shows the brief's
    form rather than a blank 405. A withdrawal or strike-off not yet confirmed shows the
    confirmation step first."""
    brief = _brief_or_404(request, pk)
    if request.method != "POST":
        return redirect(reverse("courtwatch:brief-detail", args=[brief.pk]) + "#record")
    if not perms.may_work_brief(request.user, brief):
        raise PermissionDenied
    form = forms.HearingForm(request.POST, outcomes=services.outcomes_valid_now(brief.prosecution))
    if form.is_valid() and form.needs_confirmation():
        return render(request, "courtwatch/hearing_confirm.html", _confirmation(brief, form))
    if form.is_valid() and _record(request, brief, form):
        d = form.cleaned_data
        messages.success(
            request,
            _("Hearing recorded: %(case)s, %(outcome)s.")
            % {"case": brief.prosecution.case_number, "outcome": words("outcome", d["outcome"])},
        )
        if d["date"] == timezone.localdate():  # back to today's roll, where it now shows as done
            return redirect(reverse("courtwatch:roll") + f"?period=today#brief-{brief.pk}")
        return redirect("courtwatch:brief-detail", pk=brief.pk)
    brief.refresh_from_db()
    return _brief_page(request, brief, hearing_form=form, status=400)


def _confirmation(brief, form) -> dict:
    d = form.cleaned_data
    return {
        "brief": brief,
        "p": brief.prosecution,
        "form": form,
        "outcome": words("outcome", d["outcome"]),
        "reason": words("reason", d["reason"]) if d["reason"] else "",
        "hidden": [(f.html_name, f.value() or "") for f in form if f.name != "confirm"],
    }


@login_required
@require_POST
def brief_feedback(request, pk):
    brief = _brief_or_404(request, pk)
    if not perms.may_work_brief(request.user, brief):
        raise PermissionDenied
    form = forms.FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_create(actor=request.user, brief=brief, **form.cleaned_data)
        except InvalidInput as exc:
            put_on_form(form, exc)
        else:
            messages.success(request, _("Feedback recorded."))
            return redirect("courtwatch:brief-detail", pk=brief.pk)
    return _brief_page(request, brief, feedback_form=form, status=400)


@login_required
@require_POST
def feedback_response(request, pk):
    feedback = get_object_or_404(selectors.feedback_list_for_user(request.user), pk=pk)
    form = forms.FeedbackResponseForm(request.POST)
    if form.is_valid():
        services.feedback_record_response(
            actor=request.user, feedback=feedback, response=form.cleaned_data["response"]
        )
        messages.success(request, _("Response recorded."))
    else:
        messages.error(request, _("Response: this field is required."))
    return redirect("courtwatch:brief-detail", pk=feedback.brief_id)


@login_required
@require_POST
def brief_transition(request, pk, name):
    brief = _brief_or_404(request, pk)
    taken = take_transition(request, brief, name)
    if taken.ok:
        messages.success(request, _("Brief updated."))
        return redirect("courtwatch:brief-detail", pk=brief.pk)
    form = taken.form
    if name == "assign":
        return _brief_page(request, brief, assign_form=form, status=400)
    for e in form.non_field_errors():
        messages.error(request, e)
    return redirect("courtwatch:brief-detail", pk=brief.pk)


# -------------------------------------------------------------------- court roll


def _roll_day(row, start):
    return row["done"].date if row["done"] else (row["brief"].next_appearance or start)


def _roll_page(request, groups, start):
    """The roll's rows by date, then court (a stable order across pages), cut into pages; each page's rows
    grouped again under a heading per day and court. ``?print=1`` keeps the whole roll on one page."""
    rows = [row for g in groups for row in g["rows"]]
    rows.sort(key=lambda r: (_roll_day(r, start), r["brief"].prosecution.court.name, r["brief"].pk))
    per_page = max(len(rows), 1) if request.GET.get("print") else PER_PAGE
    page = paginate(request, rows, per_page=per_page)
    sections: list[dict] = []
    for row in page:
        day, court = _roll_day(row, start), row["brief"].prosecution.court
        if not sections or (sections[-1]["day"], sections[-1]["court"]) != (day, court):
            sections.append({"day": day, "court": court, "rows": []})
        sections[-1]["rows"].append(row)
    return page, sections


@login_required
def roll(request):
    user = request.user
    if not perms.may_see_roll(user):
        raise Http404
    today = timezone.localdate()
    period = request.GET.get("period", "today")
    if period == "week":
        start, end = selectors.week_bounds(today)
    elif period == "tomorrow":
        start = end = today + timedelta(days=1)
    else:
        period, start, end = "today", today, today
    mine_only = not (perms.is_brief_manager(user) and request.GET.get("all"))
    groups = selectors.court_roll(user, start=start, end=end, mine_only=mine_only)
    page, sections = _roll_page(request, groups, start)
    return render(
        request,
        "courtwatch/roll.html",
        {
            "page": page,
            "sections": sections,
            "period": period,
            "start": start,
            "end": end,
            "mine_only": mine_only,
            "today": today,
        },
    )


@login_required
def supervisor(request):
    if not perms.is_brief_manager(request.user):
        raise Http404
    today = timezone.localdate()
    visible = perms.visible_briefs(request.user)
    stale = selectors.stale_briefs(selectors.brief_list_for_user(request.user), today)
    return render(
        request,
        "courtwatch/supervisor.html",
        {
            "courts": selectors.supervisor_overview(request.user, today),
            "stale": paginate(request, stale, param="stale_page"),
            "unassigned": paginate(
                request,
                selectors.unassigned_briefs(selectors.brief_list_for_user(request.user)),
                param="unassigned_page",
            ),
            "bulk_form": forms.BulkAssignForm(),
            "today": today,
            "open_count": visible.filter(state__in=Brief.OPEN_STATES).count(),
        },
    )


@login_required
@require_POST
def bulk_assign(request):
    if not perms.is_brief_manager(request.user):
        raise Http404
    form = forms.BulkAssignForm(request.POST)
    if form.is_valid():
        try:
            briefs = services.brief_bulk_assign(actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            put_on_form(form, exc)
        else:
            messages.success(
                request,
                _("%(n)d brief(s) at %(court)s assigned to %(officer)s.")
                % {
                    "n": len(briefs),
                    "court": form.cleaned_data["court"],
                    "officer": form.cleaned_data["officer"],
                },
            )
            return redirect("courtwatch:supervisor")
    for field, errs in form.errors.items():
        messages.error(request, f"{field}: {' '.join(errs)}")
    return redirect("courtwatch:supervisor")


# -------------------------------------------------------------------- reviews and meetings


@login_required
def review_queue(request):
    if not perms.may_see_review_queue(request.user):
        raise Http404
    q = request.GET
    state = q.get("state", "") if q.get("state", "") in ("", "all", *WithdrawalReview.State.values) else ""
    age = q.get("age", "") if q.get("age", "") in selectors.REVIEW_AGES else ""
    court = q.get("court", "")
    reviews = selectors.review_queue_for_user(request.user, state=state, court=court, age=age)
    return render(
        request,
        "courtwatch/review_queue.html",
        {
            "page": paginate(request, reviews),
            "state": state,
            "court": court,
            "age": age,
            "states": WithdrawalReview.State.choices,
            "courts": selectors.review_courts(request.user),
            "overdue_days": REVIEW_OVERDUE_AFTER.days,
            "may_create_meeting": perms.may_create_meeting(request.user),
        },
    )


@login_required
def review_detail(request, pk, *, bound=None, status=200):
    review = get_object_or_404(selectors.review_list_for_user(request.user), pk=pk)
    forms_now = transition_forms(review, request.user, bound=bound)
    if "schedule" in forms_now:  # meetings still to come, that this user can see
        field = forms_now["schedule"].fields["meeting"]
        field.queryset = field.queryset.filter(
            pk__in=selectors.meeting_list_for_user(request.user).values("pk")
        )
    p = review.prosecution
    return render(
        request,
        "courtwatch/review_detail.html",
        {
            "review": review,
            "p": p,
            "accused": p.accused.all(),
            "incidents": p.police_case.incidents.select_related("suburb"),
            "timeline": TransitionLog.for_object(p).order_by("at", "id"),
            "review_log": TransitionLog.for_object(review).order_by("at", "id"),
            "transition_forms": forms_now,
            "overdue_days": REVIEW_OVERDUE_AFTER.days,
            **selectors.review_page_context(review, request.user),
        },
        status=status,
    )


@login_required
@require_POST
def review_transition(request, pk, name):
    review = get_object_or_404(selectors.review_list_for_user(request.user), pk=pk)
    taken = take_transition(request, review, name)
    if taken.ok:
        messages.success(request, _("Review updated."))
        return redirect("courtwatch:review-detail", pk=review.pk)
    form = taken.form
    return review_detail(request, pk, bound=(name, form), status=400)


@login_required
def meetings(request):
    if not perms.may_see_review_queue(request.user):
        raise Http404
    form = forms.MeetingForm(request.POST or None)
    if request.method == "POST":
        if not perms.may_create_meeting(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                meeting = services.meeting_create(actor=request.user, **form.cleaned_data)
            except InvalidInput as exc:
                put_on_form(form, exc)
            else:
                messages.success(request, _("Meeting called."))
                return redirect("courtwatch:meeting-detail", pk=meeting.pk)
    return render(
        request,
        "courtwatch/meetings.html",
        {
            "meetings": selectors.meeting_list_for_user(request.user)[:200],
            "form": form,
            "may_create": perms.may_create_meeting(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


def _meeting_or_404(request, pk):
    return get_object_or_404(selectors.meeting_list_for_user(request.user), pk=pk)


@login_required
def meeting_detail(request, pk):
    meeting = _meeting_or_404(request, pk)
    return render(
        request,
        "courtwatch/meeting_detail.html",
        {"meeting": meeting, "agenda": selectors.meeting_agenda(meeting)},
    )


CSV_COLUMNS = [
    "review",
    "priority_score",
    "priority_reasons",
    "court",
    "case_number",
    "accused",
    "removal",
    "removal_label",
    "removal_reason",
    "removal_reason_label",
    "flagged_on",
    "overdue",
    "state",
    "state_label",
    "decision",
    "decision_label",
    "rationale",
    "members_present",
    "decided_at",
]


@login_required
def meeting_csv(request, pk):
    meeting = _meeting_or_404(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="committee-{meeting.date:%Y-%m-%d}-agenda.csv"'
    w = csvsafe.writer(response)  # accused names and rationale are typed by people: no formulas
    w.writerow(CSV_COLUMNS)
    for r in selectors.meeting_agenda(meeting):
        w.writerow(
            [
                r.pk,
                r.priority_score,
                " ".join(r.priority_reasons),
                r.prosecution.court.name,
                r.prosecution.case_number,
                "; ".join(a.name for a in r.prosecution.accused.all()),
                r.removal,
                words("transition", r.removal),
                r.removal_reason,
                words("reason", r.removal_reason),
                timezone.localdate(r.flagged_at).isoformat(),
                "yes" if r.is_overdue else "no",
                r.state,
                words("state", r.state, r),
                r.decision,
                words("decision", r.decision),
                r.rationale,
                " ".join(m.get_username() for m in r.members_present.all()),
                timezone.localtime(r.decided_at).isoformat(timespec="minutes") if r.decided_at else "",
            ]
        )
    return response


# -------------------------------------------------------------------- notifications


@login_required
def notifications(request):
    return render(
        request,
        "courtwatch/notifications.html",
        {"notifications": selectors.notification_list_for_user(request.user)[:200]},
    )


@login_required
@require_POST
def notification_read(request, pk):
    n = get_object_or_404(selectors.notification_list_for_user(request.user), pk=pk)
    notification_mark_read(actor=request.user, notification=n)
    return redirect(n.url or "courtwatch:notifications")
