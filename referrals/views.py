"""HTML pages of the intake: capture form, CSV upload, admissions, the SAPS referral queue and the
dead letters. Adapters only: a form or a query string in, one service or selector, a template out."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import csvsafe, transitions
from casework.errors import DomainError, InvalidInput
from casework.inputs import ascii_int
from casework.web_transitions import take_transition

from . import forms, minimise, permissions, selectors, services
from .dead_letters import dead_letter_replay
from .intake import receive
from .models import Referral
from .parsing import CSV_COLUMNS, CSV_HEADER, Record, has_assault_code
from .subject_access import subject_access_report

PAGE = 50


def _intake_user(request, may=permissions.may_capture):
    if not may(request.user):
        raise PermissionDenied
    return request.user


@login_required
def capture(request):
    """One screen for an EC clerk; goes through the same inbox and processing as the feeds."""
    _intake_user(request)
    facilities = permissions.submittable_facilities(request.user)
    form = forms.CaptureForm(request.POST or None, facilities=facilities)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        codes = [c.upper() for c in d["icd10_codes"].replace(";", " ").replace(",", " ").split() if c]
        if not has_assault_code(codes):  # the intake's one rule: X85–Y09 (not Y35), T74.2
            codes.append(forms.ICD10_FOR_MECHANISM[d["mechanism"]])
        rec = Record(
            facility_code=d["facility"].code,
            visit_number=d["visit_number"].strip(),
            arrival_at=d["arrival_at"],
            event="FORM",
            injury_at=d["injury_at"],
            date_of_birth=d["date_of_birth"],
            age_years=d["age_years"],
            sex=d["sex"],
            role=d["role"],
            icd10_codes=codes,
            triage=d["triage"],
            place_type=d["place_type"],
            suburb_text=d["suburb"].code if d["suburb"] else "",
            disposition=d["disposition"],
            police_informed={"Y": True, "N": False}.get(d["police_informed"]),
            gang_suspected={"Y": True, "N": False}.get(d["gang_suspected"]),
            name=d["name"],
            identifiers=[
                {
                    "value": d["patient_id"].strip(),
                    "type": d["patient_id_type"],
                    "authority": "ZAF" if d["patient_id_type"] == "NI" else d["facility"].code,
                }
            ],
        )
        try:
            answer = receive.inbound_receive_form(record=rec, actor=request.user)
        except InvalidInput as e:
            for field, errs in e.errors.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            messages.success(
                request,
                _("Admission %(visit)s received (message %(id)s).")
                % {"visit": rec.visit_number, "id": answer.message.pk},
            )
            return redirect("referrals:capture")
    return render(request, "referrals/capture.html", {"form": form})


@login_required
def csv_upload(request):
    _intake_user(request, permissions.may_upload_csv)
    form = forms.CsvUploadForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        text = upload.read().decode("utf-8-sig", errors="replace")
        answer = receive.inbound_receive_csv(text=text, actor=request.user, filename=upload.name)
        report = {**answer.extra["report"], "duplicate": answer.duplicate, "message": answer.message}
    return render(
        request, "referrals/csv_upload.html", {"form": form, "report": report, "columns": CSV_COLUMNS}
    )


@login_required
def csv_template(request):
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerow(
        [
            "tygerberg",
            "V0000001",
            "2025-06-14 23:05",
            "S31.1 X99.0",
            "0105125800081",
            "NI",
            "",
            "2001-05-12",
            "",
            "F",
            "2025-06-14 22:40",
            "victim",
            "yellow",
            "street",
            "delft",
            "",
            "",
            "discharged",
            "N",
            "N",
        ]
    )
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="casetrail-admissions-template.csv"'
    return response


@login_required
def admission_list(request):
    qs = selectors.admission_list_for_user(
        request.user, facility=request.GET.get("facility", ""), mechanism=request.GET.get("mechanism", "")
    )
    before = request.GET.get("before", "")
    if ascii_int(before) is not None:
        qs = qs.filter(pk__lt=ascii_int(before))
    if permissions.sees_repeat_visits(request.user):
        qs = selectors.with_prior_visits(qs)
    rows = list(qs.order_by("-id")[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    for a in rows:  # what this reader may see of each row (docs/security.md, "Minimisation")
        a.shown = minimise.shown(
            a,
            full=permissions.sees_quasi_identifiers(request.user, a),
            prior_visits=getattr(a, "prior_visits", None),
        )
    return render(
        request,
        "referrals/admission_list.html",
        {
            "admissions": rows,
            "next_before": rows[-1].pk if more else None,
            "facilities": permissions.submittable_facilities(request.user),
        },
    )


@login_required
def admission_detail(request, pk):
    qs = selectors.admission_list_for_user(request.user).filter(pk=pk)
    if permissions.sees_repeat_visits(request.user):
        qs = selectors.with_prior_visits(qs)
    admission = qs.first()
    if admission is None:
        raise Http404
    full = permissions.sees_quasi_identifiers(request.user, admission)
    identity = None
    may_identity = permissions.may_read_identity(request.user, admission)
    if may_identity and request.GET.get("show") == "identity":
        identity = services.identity_read(
            admission=admission, actor=request.user, purpose=f"page {request.path}"
        )
    return render(
        request,
        "referrals/admission_detail.html",
        {
            "a": admission,
            "identity": identity,
            "may_identity": may_identity,
            "may_refer": permissions.may_refer(request.user, admission)
            and not hasattr(admission, "referral"),
            "shown": minimise.shown(
                admission, full=full, prior_visits=getattr(admission, "prior_visits", None)
            ),
            # The other visits are linked by the pseudonym: shown only where the pseudonym is.
            "repeats": selectors.repeat_admissions(admission, request.user)[:20] if full else [],
        },
    )


@login_required
@require_POST
def admission_refer(request, pk):
    admission = selectors.admission_list_for_user(request.user).filter(pk=pk).first()
    if admission is None:
        raise Http404
    try:
        referral = services.referral_create(admission=admission, actor=request.user)
    except DomainError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, _("Referred to %(station)s.") % {"station": referral.station})
    return redirect("referrals:admission-detail", pk=pk)


@login_required
def referral_queue(request):
    state = request.GET.get("state", "")
    qs = selectors.referral_list_for_user(request.user, state=state)[:200]
    rows = [(r, [spec.name for spec in transitions.available(r, request.user)]) for r in qs]
    for r, _names in rows:
        r.shown = minimise.shown(
            r.admission, full=permissions.sees_quasi_identifiers(request.user, r.admission)
        )
    return render(
        request,
        "referrals/referral_queue.html",
        {"rows": rows, "state": state, "forms": {s.name: s.form() for s in transitions.specs_for(Referral)}},
    )


@login_required
@require_POST
def referral_transition(request, pk, name):
    referral = selectors.referral_list_for_user(request.user).filter(pk=pk).first()
    if referral is None:
        raise Http404
    taken = take_transition(request, referral, name)
    if taken.ok:
        messages.success(request, _("Referral %(id)s: %(name)s done.") % {"id": pk, "name": name})
    else:
        for field, errs in taken.form.errors.items():
            messages.error(request, " ".join(errs) if field == "__all__" else f"{field}: {' '.join(errs)}")
    return redirect("referrals:referral-queue")


def _admin_only(request):
    if not permissions.may_replay(request.user):
        raise PermissionDenied


@login_required
def dead_letters(request):
    _admin_only(request)
    letters = list(
        selectors.dead_letter_list_for_user(request.user, status=request.GET.get("status", ""))[:200]
    )
    for m in letters:  # the list is not an audited read: reasons of before are shown without values
        m.reason_shown = minimise.reason_without_values(m.reason)
    return render(
        request, "referrals/dead_letters.html", {"letters": letters, "status": request.GET.get("status", "")}
    )


@login_required
def dead_letter_detail(request, pk):
    _admin_only(request)
    message = get_object_or_404(selectors.dead_letter_list_for_user(request.user).defer(None), pk=pk)
    if request.method == "POST":
        form = forms.ReplayForm(request.POST)
        if form.is_valid():
            try:
                dead_letter_replay(message=message, actor=request.user, raw=form.cleaned_data["raw"])
            except InvalidInput as e:
                form.add_error("raw", e.errors.get("raw") or str(e))
            else:
                messages.success(request, _("Message %(id)s replayed.") % {"id": pk})
                return redirect("referrals:dead-letters")
    else:
        raw = services.raw_message_read(message=message, actor=request.user, purpose=f"page {request.path}")
        shown = raw.replace("\r", "\n") if message.channel.startswith("hl7") else raw
        form = forms.ReplayForm(initial={"raw": shown})
    return render(request, "referrals/dead_letter_detail.html", {"m": message, "form": form})


# -------------------------------------------------------------------- POPIA: subject access, retention


@login_required
def subject_access(request):
    """Everything held about one patient (admins). A POST, so no ID number lands in a URL or a log;
    ``format=json`` downloads the same answer. Every request is audited."""
    if not permissions.may_request_subject_access(request.user):
        raise PermissionDenied
    form = forms.SubjectAccessForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            report = subject_access_report(
                actor=request.user,
                id_number=d["id_number"],
                folder_number=d["folder_number"],
                facility=d["facility"],
                purpose=d["purpose"],
            )
        except InvalidInput as e:
            for field, errs in e.errors.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            if request.POST.get("format") == "json":
                response = JsonResponse(report, json_dumps_params={"indent": 2})
                response["Content-Disposition"] = 'attachment; filename="subject-access.json"'
                return response
    return render(request, "referrals/subject_access.html", {"form": form, "report": report})


@login_required
def retention(request):
    """The retention rule, what is due now (a dry run: counts only) and the purges so far (admins)."""
    if not permissions.may_see_retention(request.user):
        raise PermissionDenied
    from . import retention as popia

    return render(
        request,
        "referrals/retention.html",
        {
            "years": popia.retention_years(),
            "due": popia.purge_identities(dry_run=True),
            "history": popia.purge_history(),
            "rules": (popia.RULE_FINALISED, popia.RULE_NO_CASE, popia.RULE_UNLINKED),
        },
    )
