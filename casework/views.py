"""Case pages for people: lists with search, and one page per docket / prosecution / incident
with its timeline and only the transitions this user may take now."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import labels, page_links, permissions, selectors, waiting, web_transitions
from .errors import NotAllowed, StaleVersion
from .labels import words
from .models import PoliceCase, Prosecution, TransitionLog
from .page_links import route_for


@login_required
def home(request):
    """A start page that says what is waiting for this person, then points at the screens they use."""
    return render(request, "casework/home.html", {"waiting": waiting.waiting_for(request.user)})


@login_required
def case_list(request):
    """Dockets and prosecutions the user may see, searchable by CAS number, court case number, state."""
    search = request.GET.get("q", "").strip()
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "prosecutions")
    if kind == "dockets":
        qs = selectors.police_case_list_for_user(request.user, search=search, state=state)
        states = PoliceCase.State.choices
    else:
        kind = "prosecutions"
        qs = selectors.prosecution_list_for_user(request.user, search=search, state=state)
        states = Prosecution.State.choices
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    exact = (
        selectors.prosecution_by_number(request.user, search) if search and kind == "prosecutions" else None
    )
    target = page_links.primary_link(request.user, exact) if exact else None
    if target:  # one matter by its number: straight to where this user works on it (a watcher: the brief)
        return redirect(target)
    return render(
        request,
        "casework/case_list.html",
        {"page": page, "q": search, "state": state, "kind": kind, "states": states},
    )


def _transitions(obj, user, bound=None) -> list[dict]:
    """The forms for the transitions this user may take now (one bound with errors, if any); a
    transition another app takes for this user (a watcher's hearing) is a link there instead."""
    forms = web_transitions.transition_forms(obj, user, bound=bound, prefixed=True)
    for n, f in forms.items():
        page_links.fill_choices(user, obj, n, f)
    return [
        {"name": n, "label": words("transition", n, obj), "form": f, "url": route_for(user, obj, n)}
        for n, f in forms.items()
    ]


def _post_transition(request, obj, name):
    """Take the transition; None when the page should redirect, else the bound form to show (400)."""
    taken = web_transitions.take_transition(request, obj, name, prefixed=True)
    if taken.ok:
        messages.success(request, _("Recorded: %(name)s.") % {"name": words("transition", name, obj)})
        return None
    if isinstance(taken.error, StaleVersion):
        messages.error(
            request, _("Someone else changed this case while you were looking at it. Here it is now.")
        )
        return None
    if isinstance(taken.error, NotAllowed):
        messages.error(request, labels.not_allowed(taken.error, obj))
        return None
    return taken.form


@login_required
def prosecution_detail(request, pk, bound=None):
    prosecution = get_object_or_404(
        permissions.visible_prosecutions(request.user).select_related("court", "police_case__station"), pk=pk
    )
    context = {
        "prosecution": prosecution,
        "police_case": prosecution.police_case,
        "incidents": permissions.visible_incidents(request.user).filter(police_cases=prosecution.police_case),
        "accused": prosecution.accused.all(),
        "timeline": TransitionLog.for_object(prosecution).order_by("-at", "-id"),
        "transitions": _transitions(prosecution, request.user, bound),
        "links": page_links.links_for(request.user, prosecution),
        "action_url": "prosecution-transition",
    }
    return render(request, "casework/prosecution_detail.html", context, status=400 if bound else 200)


@login_required
@require_POST
def prosecution_transition(request, pk, name):
    prosecution = get_object_or_404(permissions.visible_prosecutions(request.user), pk=pk)
    route = route_for(request.user, prosecution, name)
    if route:  # a watcher's step is a hearing: recorded on the brief, never a bare move
        return redirect(route)
    form = _post_transition(request, prosecution, name)
    if form is None:
        return redirect("prosecution-detail", pk=pk)
    return prosecution_detail(request, pk, bound=(name, form))


@login_required
def police_case_detail(request, pk, bound=None):
    case = get_object_or_404(
        permissions.visible_police_cases(request.user).select_related("station", "offence"), pk=pk
    )
    context = {
        "police_case": case,
        "incidents": permissions.visible_incidents(request.user).filter(police_cases=case),
        "prosecutions": permissions.visible_prosecutions(request.user)
        .filter(police_case=case)
        .select_related("court"),
        "timeline": TransitionLog.for_object(case).order_by("-at", "-id"),
        "transitions": _transitions(case, request.user, bound),
        "action_url": "police-case-transition",
    }
    return render(request, "casework/police_case_detail.html", context, status=400 if bound else 200)


@login_required
@require_POST
def police_case_transition(request, pk, name):
    case = get_object_or_404(permissions.visible_police_cases(request.user), pk=pk)
    form = _post_transition(request, case, name)
    if form is None:
        return redirect("police-case-detail", pk=pk)
    return police_case_detail(request, pk, bound=(name, form))


@login_required
def incident_detail(request, pk):
    incident = get_object_or_404(
        permissions.visible_incidents(request.user).select_related("suburb__station"), pk=pk
    )
    return render(
        request,
        "casework/incident_detail.html",
        {
            "incident": incident,
            "exact_time": permissions.sees_exact_incident_time(request.user, incident),
            "assertions": incident.gang_assertions.select_related("asserted_by"),
            "police_cases": permissions.visible_police_cases(request.user).filter(incidents=incident),
        },
    )
