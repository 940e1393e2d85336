"""Case pages for people: lists with search, and one page per docket / prosecution / incident
with its timeline and only the transitions this user may take now."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import forms, permissions, selectors, services
from .errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from .models import PoliceCase, Prosecution, TransitionLog


@login_required
def home(request):
    """A start page that points each role at the screens it lives in."""
    return render(request, "casework/home.html")


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
    return render(
        request,
        "casework/case_list.html",
        {"page": page, "q": search, "state": state, "kind": kind, "states": states},
    )


def _transition_forms(obj, user, form_classes, bound=None):
    """The forms for the transitions this user may take now (one bound with errors, if any)."""
    names = services.available_transitions(obj, user, permissions.may_transition)
    out = []
    for name in names:
        if bound is not None and bound[0] == name:
            form = bound[1]
        else:
            form = form_classes[name](prefix=name)
        out.append({"name": name, "label": name.replace("_", " ").capitalize(), "form": form})
    return out


def _take_transition(request, obj, name, form_classes, service_map):
    """Shared POST handler: validate the form, call the one service, map domain errors to messages.

    Returns (ok, bound_form) so the page can re-render the form with its errors.
    """
    if name not in service_map:
        raise Http404
    if not permissions.may_transition(request.user, obj, name):
        raise PermissionDenied  # who before what: the same order as the API (403 before 400/422)
    form = form_classes[name](request.POST, prefix=name)
    if not form.is_valid():
        return False, form
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, _("The page was out of date. It has been reloaded."))
        return False, None
    try:
        with transaction.atomic():
            service_map[name](obj, actor=request.user, version=version, **form.cleaned_data)
    except StaleVersion:
        messages.error(
            request, _("Someone else changed this case while you were looking at it. Here it is now.")
        )
        return False, None
    except NotAllowed as e:
        messages.error(request, str(e))
        return False, None
    except InvalidInput as e:
        for field, errs in e.errors.items():
            if field in form.fields:
                for err in errs:
                    form.add_error(field, err)
            else:
                messages.error(request, f"{field}: {' '.join(errs)}")
        return False, form
    except PermissionDenied:
        raise  # 403, as the API answers: a case this user sees but may not move (issue 10 matrix)
    messages.success(request, _("Recorded: %(name)s.") % {"name": name.replace("_", " ")})
    return True, None


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
        "transitions": _transition_forms(prosecution, request.user, forms.PROSECUTION_FORMS, bound),
        "action_url": "prosecution-transition",
    }
    return render(request, "casework/prosecution_detail.html", context, status=400 if bound else 200)


@login_required
@require_POST
def prosecution_transition(request, pk, name):
    prosecution = get_object_or_404(permissions.visible_prosecutions(request.user), pk=pk)
    ok, form = _take_transition(
        request, prosecution, name, forms.PROSECUTION_FORMS, services.PROSECUTION_TRANSITIONS
    )
    if ok or form is None:
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
        "transitions": _transition_forms(case, request.user, forms.POLICE_CASE_FORMS, bound),
        "action_url": "police-case-transition",
    }
    return render(request, "casework/police_case_detail.html", context, status=400 if bound else 200)


@login_required
@require_POST
def police_case_transition(request, pk, name):
    case = get_object_or_404(permissions.visible_police_cases(request.user), pk=pk)
    ok, form = _take_transition(
        request, case, name, forms.POLICE_CASE_FORMS, services.POLICE_CASE_TRANSITIONS
    )
    if ok or form is None:
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
