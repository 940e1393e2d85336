"""HTML pages of the intake: capture form, CSV upload, admissions, the SAPS referral queue and the
dead letters. Adapters only: a form or a query string in, one service or selector, a template out."""

import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import csvsafe, transitions
from casework.errors import DomainError, InvalidInput
from casework.inputs import ascii_int
from casework.pagination import older_than
from casework.web_transitions import take_transition

from . import capture as capture_reads
from . import forms, minimise, permissions, selectors, services, wording
from .dead_letters import dead_letter_replay, submission_resend, submission_row_resent
from .intake import receive
from .models import Channel, Referral
from .parsing import CSV_COLUMNS, CSV_HEADER
from .selectors import referral_history
from .subject_access import subject_access_report

PAGE = 50


def _intake_user(request, may=permissions.may_capture):
    if not may(request.user):
        raise PermissionDenied
    return request.user


def _fixing(request):
    """The refused submission (and CSV row) this capture fixes, when ``fix`` names one of the user's."""
    pk = ascii_int(request.POST.get("fix") or request.GET.get("fix") or "")
    if pk is None:
        return None, None
    message = permissions.own_submissions(request.user).filter(pk=pk).first()
    if message is None or not permissions.may_fix_submission(request.user, message):
        raise Http404
    row = ascii_int(request.POST.get("row") or request.GET.get("row") or "")
    return message, (row if message.channel == Channel.CSV else None)


@login_required
def capture(request):
    """One screen for an EC clerk; goes through the same inbox and processing as the feeds. The form
    runs the intake's rules before saving; a visit that exists is updated only once confirmed."""
    _intake_user(request)
    facilities = permissions.submittable_facilities(request.user)
    fixing, row = _fixing(request)
    data = request.POST or None
    if data is None and fixing is not None:  # bound at once: the page shows what was wrong
        data = capture_reads.refused_form_data(fixing, request.user, row)
    form = forms.CaptureForm(data, facilities=facilities)
    context = {"form": form, "fixing": fixing, "row": row}
    if request.method != "POST" or not form.is_valid():
        return render(request, "referrals/capture.html", context)
    rec, decision = form.record, request.POST.get("confirm_update")
    if decision == "no":  # "go back and change": the form as it was filled
        return render(request, "referrals/capture.html", context)
    existing = capture_reads.existing_admission(request.user, rec)
    if existing is not None and decision != "yes":
        context.update(a=existing, changes=capture_reads.changes(existing, rec))
        return render(request, "referrals/capture_confirm.html", context)
    try:
        message = _send_capture(request.user, rec, fixing, row)
    except InvalidInput as e:
        for field, errs in e.errors.items():
            form.add_error(field if field in form.fields else None, errs)
        return render(request, "referrals/capture.html", context)
    messages.success(
        request,
        _("Admission %(visit)s sent. Its status is below: it is not recorded until it says processed.")
        % {"visit": rec.visit_number},
    )
    return redirect(f"{reverse('referrals:my-submissions')}#m{message.pk}")


def _send_capture(user, rec, fixing, row):
    if fixing is not None and fixing.channel == Channel.FORM:
        return submission_resend(message=fixing, actor=user, raw=json.dumps(rec.as_json()))
    message = receive.inbound_receive_form(record=rec, actor=user).message
    if fixing is not None and row is not None:
        submission_row_resent(message=fixing, actor=user, row=row, resent_as=message)
    return message


@login_required
def my_submissions(request):
    """What this clerk sent by form or CSV, with its status in words; refused ones can be fixed."""
    _intake_user(request)
    qs = permissions.own_submissions(request.user).select_related("admission", "facility")
    rows, next_before = older_than(request, qs, PAGE)
    field_words = capture_reads.field_words
    for m in rows:
        m.words = capture_reads.submission_words(m)
        resent = (m.report or {}).get("resent", {})
        m.problems = [
            {**p, "resent_as": resent.get(str(p["row"])), "field_words": field_words(p["field"])}
            for p in (m.report or {}).get("problems", [])
        ]
    return render(
        request,
        "referrals/my_submissions.html",
        {"rows": rows, "next_before": next_before},
    )


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
        report["problems"] = [
            {**p, "field_words": capture_reads.field_words(p["field"])} for p in report.get("problems", [])
        ]
    return render(
        request,
        "referrals/csv_upload.html",
        {
            "form": form,
            "report": report,
            "columns": [(name, req, capture_reads.column_help(text)) for name, req, text in CSV_COLUMNS],
        },
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
    if permissions.sees_repeat_visits(request.user):
        qs = selectors.with_prior_visits(qs)
    rows, next_before = older_than(request, qs, PAGE)
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
            "next_before": next_before,
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
            "referral_words": wording.state_words(admission.referral)
            if hasattr(admission, "referral")
            else "",
            "may_see_referral": hasattr(admission, "referral")
            and selectors.referral_list_for_user(request.user).filter(pk=admission.referral.pk).exists(),
            "shown": minimise.shown(
                admission, full=full, prior_visits=getattr(admission, "prior_visits", None)
            ),
            # The other visits are linked by the pseudonym: shown only where the pseudonym is.
            "repeats": selectors.repeat_admissions(admission, request.user)[:20] if full else [],
        },
    )


def _referral_of(user, admission) -> dict:
    referral = getattr(admission, "referral", None)
    if referral is None:
        return {"referral_words": "", "may_see_referral": False}
    return {
        "referral_words": wording.state_words(referral),
        "may_see_referral": selectors.referral_list_for_user(user).filter(pk=referral.pk).exists(),
    }


@login_required
@require_POST
def admission_refer(request, pk):
    """The clerk's one action: the referral is made and sent to the station."""
    admission = selectors.admission_list_for_user(request.user).filter(pk=pk).first()
    if admission is None:
        raise Http404
    try:
        referral = services.referral_refer(admission=admission, actor=request.user)
    except DomainError as e:
        messages.error(request, " ".join(_words(e)))
    else:
        messages.success(request, wording.state_words(referral))
    return redirect("referrals:admission-detail", pk=pk)


def _words(e: DomainError) -> list[str]:
    errors = getattr(e, "errors", None)
    if not errors:
        return [str(e)]
    # Messages may be lazy (marked for translation): str() each before joining.
    return [" ".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for v in errors.values()]


@login_required
def referral_queue(request):
    state = request.GET.get("state", "")
    qs = selectors.referral_list_for_user(request.user, state=state).select_related(
        "station", "police_case", "admission__facility", "admission__suburb"
    )
    referrals, next_before = older_than(request, qs, PAGE)
    for r in referrals:
        r.shown = minimise.shown(
            r.admission, full=permissions.sees_quasi_identifiers(request.user, r.admission)
        )
        r.words = wording.state_words(r)
    return render(
        request,
        "referrals/referral_queue.html",
        {
            "referrals": referrals,
            "state": state,
            "states": Referral.State.choices,
            "next_before": next_before,
        },
    )


def _visible_referral(request, pk) -> Referral:
    referral = (
        selectors.referral_list_for_user(request.user)
        .select_related("station", "police_case", "admission__facility", "admission__suburb")
        .filter(pk=pk)
        .first()
    )
    if referral is None:
        raise Http404
    return referral


@login_required
def referral_detail(request, pk):
    """One referral: its state in words and the actions this user may take, "Open docket" among them."""
    referral = _visible_referral(request, pk)
    names = [spec.name for spec in transitions.available(referral, request.user)]
    may_open = "open_case" in names or ("acknowledge" in names and permissions.may_transition(
        request.user, referral, "open_case"))  # fmt: skip
    docket_form = forms.OpenDocketForm(initial={"version": referral.version}) if may_open else None
    return _render_referral(request, referral, names, docket_form)


def _render_referral(request, referral, names, docket_form, decline_form=None, status=200):
    actions = [(n, wording.action_words(n)) for n in names if n not in ("open_case", "decline")]
    return render(
        request,
        "referrals/referral_detail.html",
        {
            "r": referral,
            "words": wording.state_words(referral),
            "shown": minimise.shown(
                referral.admission, full=permissions.sees_quasi_identifiers(request.user, referral.admission)
            ),
            "actions": actions,
            "docket_form": docket_form,
            "decline_form": decline_form or (forms.DeclineForm() if "decline" in names else None),
            "history": [
                (h.at, h.actor, wording.done_words(h.transition)) for h in referral_history(referral)
            ],
        },
        status=status,
    )


@login_required
@require_POST
def referral_open_docket(request, pk):
    referral = _visible_referral(request, pk)
    if not permissions.may_transition(request.user, referral, "open_case"):
        raise PermissionDenied
    form = forms.OpenDocketForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            referral, docket, opened = services.referral_open_docket(
                referral, actor=request.user, version=d["version"], cas_number=form.cas_number(),
                offence=d["offence"], opened_on=d["opened_on"],
            )  # fmt: skip
        except DomainError as e:
            _form_errors(form, e)
        else:
            text = (
                _("Docket CAS %(cas)s opened and linked.")
                if opened
                else _("Docket CAS %(cas)s was already open at this station: the referral is linked to it.")
            )
            messages.success(request, text % {"cas": docket.cas_number})
            return redirect("referrals:referral-detail", pk=pk)
    names = [spec.name for spec in transitions.available(referral, request.user)]
    return _render_referral(request, referral, names, form, status=422)


def _form_errors(form, e: DomainError) -> None:
    errors = getattr(e, "errors", None) or {None: [str(e)]}
    for field, errs in errors.items():
        where = "cas_serial" if field == "cas_number" else field
        form.add_error(where if where in form.fields else None, errs)


@login_required
@require_POST
def referral_transition(request, pk, name):
    referral = _visible_referral(request, pk)
    taken = take_transition(request, referral, name)
    if taken.ok:
        referral.refresh_from_db()
        messages.success(request, wording.state_words(referral))
    else:
        for errs in taken.form.errors.values():
            messages.error(request, " ".join(errs))
    return redirect("referrals:referral-detail", pk=pk)


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

    history = list(popia.purge_history())
    words = {
        popia.RULE_FINALISED: _("all matters finalised"),
        popia.RULE_NO_CASE: _("no police case"),
        popia.RULE_UNLINKED: _("messages naming no kept identity"),
        "with_identity_purged": _("messages of purged identities"),
    }
    for r in history:  # the log keeps the rules' codes; the page says them in words
        r.purpose_words = r.purpose
        for code, text in words.items():
            r.purpose_words = r.purpose_words.replace(code, str(text))
    return render(
        request,
        "referrals/retention.html",
        {
            "years": popia.retention_years(),
            "due": popia.purge_identities(dry_run=True),
            "history": history,
            "rules": (popia.RULE_FINALISED, popia.RULE_NO_CASE, popia.RULE_UNLINKED),
        },
    )
