"""THE PERMISSION MATRIX: every role x every URL of the project x scope A and scope B -> the answer.

One table, read by ``test_permission_matrix.py``, which fails when the project has a URL pattern
this table does not cover. The world (``world.py``) has one of everything in scope A and in scope
B; every role's user is granted scope A (its facility, station, court, brief, meeting).

How to read a row: ``"route": [Case(...), ...]``, the route as the resolver spells it (DRF's
regexes and Django's converters normalised to ``<pk>``, ``<code>``, ``<name>``; the ``.json``
format-suffix twins of a DRF route share its row). A case names the method, the object of each
scope that fills the URL (``obj``: an attribute of the scope, e.g. ``prosecution``), and per role:

- reads of one object: ``"AB"`` both answer 200; ``"A"`` own 200, other 404 (hidden = missing);
  ``"-"`` both 404; a number (or tuple of numbers) is the status for both.
- lists (``listed=obj``): ``"AB"`` / ``"A"`` / ``"-"`` say which of the two objects appear in a
  200 answer; a number is the status instead.
- writes: ``"AB"`` both allowed, ``"A"`` own allowed and other refused, ``"-"`` both refused; a
  number is the status for both. Allowed = a 2xx, 3xx, or a 4xx that is not 401/403/404 (a bad
  state or field still proves the door was open). Refused = 403 or 404 (or ``refused`` of the case:
  a create naming a hidden object answers 400 naming the field, as for a missing one), and the
  database is unchanged (``fingerprint``).

Admin URLs are covered per registered model by ``ADMIN_READ_ONLY`` / ``ADMIN_EDITABLE`` below.
"""

from dataclasses import dataclass, field

ROLES = (
    "health_capture",
    "vpu_analyst",
    "saps_liaison",
    "npa_liaison",
    "court_watcher",
    "court_watch_supervisor",
    "committee_member",
    "manager",
    "admin",
    "integration",
    "anonymous",
)
SIGNED_IN = ROLES[:-1]
API_ANON = (401, 403)  # DRF: 401 with a token scheme first, 403 with session auth
PAGE_ANON = 302  # to the login page
REFUSED = (403, 404)


def by_role(default, anonymous, **roles):
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return {r: (anonymous if r == "anonymous" else roles.get(r, default)) for r in ROLES}


def api(default, **roles):
    return by_role(default, API_ANON, **roles)


def page(default, **roles):
    return by_role(default, PAGE_ANON, **roles)


@dataclass
class Case:
    method: str
    expect: dict
    obj: str = ""  # the scope attribute that fills <pk> / <code>
    listed: str = ""  # a list: which scope attribute to look for in the answer
    marker: str = ""  # pages: the text that shows ``listed`` (``{pk}`` filled in)
    name: str = ""  # fills <name> (a transition)
    body: object = None  # callable(world, side) -> dict; or a dict
    query: dict = field(default_factory=dict)
    refused: tuple = REFUSED
    json: bool = True  # API bodies as JSON; pages as form posts
    inbox: bool = True  # False: the intake keeps a refused message by design (stored as rejected)
    fresh_client: bool = False  # the case ends its session (logout): not the role's shared client


# ---------------------------------------------------------------- who sees what (the access layer)

REF = api(200)  # reference data: every signed-in user

SEES_INCIDENT = api(
    "-",
    admin="AB",
    vpu_analyst="AB",
    saps_liaison="A",
    npa_liaison="A",
    health_capture="A",
    court_watcher="A",
    court_watch_supervisor="AB",
    committee_member="AB",
)
SEES_REFERRED_DOCKET = api("-", admin="AB", saps_liaison="A", npa_liaison="A")
SEES_ENROLLED_DOCKET = api(
    "-",
    admin="AB",
    saps_liaison="A",
    npa_liaison="A",
    court_watcher="A",
    court_watch_supervisor="AB",
    committee_member="AB",
)
SEES_PROSECUTION = api(
    "-", admin="AB", saps_liaison="A", npa_liaison="A", court_watcher="A", court_watch_supervisor="AB"
)
SEES_ADMISSION = api("-", admin="AB", vpu_analyst="AB", health_capture="A", saps_liaison="A")
SEES_REFERRAL = api("-", admin="AB", health_capture="A", saps_liaison="A")
SEES_DEAD_LETTER = api("-", admin="AB")
SEES_BRIEF = api("-", admin="AB", court_watch_supervisor="AB", court_watcher="A")
SEES_REVIEW = api(
    "-",
    admin="AB",
    committee_member="AB",
    court_watch_supervisor="AB",
    npa_liaison="A",
    saps_liaison="A",
)
SEES_MEETING = api("-", admin="AB", committee_member="AB", court_watch_supervisor="AB")
SEES_NOTIFICATION = api("-", court_watcher="A")
REPORT_READERS = api(
    403, manager=200, vpu_analyst=200, admin=200, court_watch_supervisor=200, committee_member=200
)


def as_page(expect: dict) -> dict:
    return {r: (PAGE_ANON if r == "anonymous" else v) for r, v in expect.items()}


def _hidden_as_list(expect: dict) -> dict:
    return expect


# ---------------------------------------------------------------- bodies of the writes


def _days_ago(n):
    from .world import days_ago

    return days_ago(n).isoformat()


def incident_body(w, s):
    return {"occurred_at": "2025-04-19T22:10:00+02:00", "suburb": s.suburb.code, "mechanism": "sharp"}


def police_case_body(w, s):
    return {
        "station": s.station.code,
        "cas_number": f"90/01/{_days_ago(30)[:4]}",
        "offence": "attempted_murder",
        "opened_on": _days_ago(30),
        "incidents": [s.incident.pk],
    }


def prosecution_body(w, s):
    return {
        "police_case": s.police_case.pk,
        "court": s.court.code,
        "case_number": f"RC 90/{s.tag}",
        "enrolled_on": _days_ago(10),
        "accused": [{"name": "Matrix Accused"}],
    }


def version_of(obj):
    return type(obj).objects.get(pk=obj.pk).version


def return_docket_body(w, s):
    return {"version": version_of(s.police_case), "reason": "statements missing"}


def remand_body(w, s):
    return {"version": version_of(s.prosecution), "reason": "witness_absent", "next_date": _days_ago(-30)}


def send_referral_body(w, s):
    return {"version": version_of(s.referral)}


def open_docket_body(w, s):
    from django.utils import timezone

    today = timezone.localdate()
    return {
        "version": version_of(s.referral), "cas_serial": 901 if s is w.a else 902, "cas_month": today.month,
        "cas_year": today.year, "offence": "murder", "opened_on": today.isoformat(),
    }  # fmt: skip


def assign_body(w, s):
    return {"version": version_of(s.brief), "officer": w.users["court_watcher"].username}


def schedule_body(w, s):
    return {"version": version_of(s.review), "meeting": w.a.meeting.pk}


def hearing_body(w, s):
    return {
        "prosecution": s.prosecution.pk,
        "date": _days_ago(1),
        "type": "remand",
        "outcome": "postponed",
        "reason": "witness_absent",
        "next_date": _days_ago(-30),
    }


def meeting_body(w, s):
    return {"date": _days_ago(-20), "members": [w.users["committee_member"].username]}


def bulk_assign_body(w, s):
    return {"court": s.court.code, "officer": w.users["court_watcher"].username}


def response_body(w, s):
    return {"response": "Statements added to the docket."}


def refer_body(w, s):
    return {"admission": s.admission.pk}


def capture_body(w, s):
    """The one-screen capture for a facility of scope A or B (an EC clerk holds A only)."""
    return {
        "facility": s.facility.code,
        "visit_number": f"MATRIX-{s.tag}",
        "arrival_at": "2025-04-19 22:10",
        "mechanism": "sharp",
        "patient_id": "F123",
        "patient_id_type": "MR",
        "sex": "female",
        "role": "victim",
        "suburb": s.suburb.code,
    }


def subscription_body(w, s):
    return {"report": "conviction_rate", "frequency": "monthly", "group_by": "court"}


def bad_login_body(w, s):
    return {"username": w.users["court_watcher"].username, "password": "not the password"}


def fhir_body(w, s):
    return {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {
                "resource": {
                    "resourceType": "Organization",
                    "id": "org",
                    "identifier": [{"value": s.facility.code}],
                }
            }
        ],
    }


def hl7_body(w, s):
    return "MSH|^~\\&|X|" + s.facility.code + "|CASETRAIL|WCG|20250614231502||ADT^A04^ADT_A01|M1|P|2.5\r"


# Who writes what (DESIGN.md roles); refused ones must leave the database unchanged.
CREATE_INCIDENT = api("-", admin="AB", health_capture="AB", saps_liaison="A", npa_liaison="A")
OPEN_DOCKET = api("-", admin="AB", saps_liaison="A")
ENROL = api("-", admin="AB", npa_liaison="A")
# The prosecutor's decisions on a referred docket (return, decline): NPA of a serving court only.
DECIDE_DOCKET = api("-", admin="AB", npa_liaison="A")
MOVE_PROSECUTION = api("-", admin="AB", npa_liaison="A", court_watcher="A")
SEND_REFERRAL = api("-", admin="AB", health_capture="A")
ASSIGN_BRIEF = api("-", admin="AB", court_watch_supervisor="AB")
SCHEDULE_REVIEW = api("-", admin="AB", committee_member="AB")
RECORD_HEARING = api("-", admin="AB", court_watcher="A")
CALL_MEETING = api("-", admin="AB", committee_member="AB")
RESPOND_FEEDBACK = api("-", admin="AB", court_watcher="A")
READ_NOTIFICATION = api("-", court_watcher="A")
REPLAY = api("-", admin="AB")
REFER = api("-", admin="AB", health_capture="A")
OPEN_DOCKET = api("-", admin="AB", saps_liaison="A")
# Intake: registered senders for their facilities, EC clerks for theirs (the capture and CSV paths),
# admins; nobody else reaches it (H3's intake_auth decides the details of what is accepted).
# Only a registered sending system sends messages (H3): an admin uses the capture form or CSV.
SEND_HL7 = api("-", integration="A")


def transitions_read(expect):
    """GET .../transitions/ and .../history/ answer like the object's detail."""
    return expect


# ---------------------------------------------------------------- the table: API

API_ROUTES = {
    "api/v1/": [Case("GET", api(200))],
    # reference data
    **{
        f"api/v1/{kind}/": [Case("GET", REF)]
        for kind in ("facilities", "stations", "courts", "suburbs", "offences")
    },
    "api/v1/facilities/<code>/": [Case("GET", api("AB"), obj="facility")],
    "api/v1/stations/<code>/": [Case("GET", api("AB"), obj="station")],
    "api/v1/courts/<code>/": [Case("GET", api("AB"), obj="court")],
    "api/v1/suburbs/<code>/": [Case("GET", api("AB"), obj="suburb")],
    "api/v1/offences/<code>/": [Case("GET", api(200), obj="offence")],
    # incidents
    "api/v1/incidents/": [
        Case("GET", SEES_INCIDENT, listed="incident"),
        Case("POST", CREATE_INCIDENT, body=incident_body, refused=(400, 403, 404)),
    ],
    "api/v1/incidents/<pk>/": [Case("GET", SEES_INCIDENT, obj="incident")],
    # dockets
    "api/v1/police-cases/": [
        Case("GET", SEES_REFERRED_DOCKET, listed="police_case"),
        Case("GET", SEES_ENROLLED_DOCKET, listed="enrolled_case"),
        Case("POST", OPEN_DOCKET, body=police_case_body, refused=(400, 403, 404)),
    ],
    "api/v1/police-cases/<pk>/": [
        Case("GET", SEES_REFERRED_DOCKET, obj="police_case"),
        Case("GET", SEES_ENROLLED_DOCKET, obj="enrolled_case"),
    ],
    "api/v1/police-cases/<pk>/history/": [Case("GET", SEES_REFERRED_DOCKET, obj="police_case")],
    "api/v1/police-cases/<pk>/transitions/": [Case("GET", SEES_REFERRED_DOCKET, obj="police_case")],
    "api/v1/police-cases/<pk>/transitions/<name>/": [
        Case(
            "POST",
            DECIDE_DOCKET,
            obj="police_case",
            name="return_for_investigation",
            body=return_docket_body,
        )
    ],
    # prosecutions
    "api/v1/prosecutions/": [
        Case("GET", SEES_PROSECUTION, listed="prosecution"),
        Case("POST", ENROL, body=prosecution_body, refused=(400, 403, 404)),
    ],
    "api/v1/prosecutions/<pk>/": [Case("GET", SEES_PROSECUTION, obj="prosecution")],
    "api/v1/prosecutions/<pk>/history/": [Case("GET", SEES_PROSECUTION, obj="prosecution")],
    "api/v1/prosecutions/<pk>/transitions/": [Case("GET", SEES_PROSECUTION, obj="prosecution")],
    "api/v1/prosecutions/<pk>/transitions/<name>/": [
        Case("POST", MOVE_PROSECUTION, obj="prosecution", name="remand", body=remand_body)
    ],
    # hospital data
    # A sender's message for a facility not its own is refused (AR / 422) and kept as rejected.
    "api/v1/intake/hl7/": [
        Case("POST", SEND_HL7, body=hl7_body, json=False, inbox=False, refused=(403, 422))
    ],
    "api/v1/intake/fhir/": [Case("POST", SEND_HL7, body=fhir_body, inbox=False, refused=(403, 422))],
    "api/v1/intake/csv/": [
        Case("POST", api("-", admin="AB", integration="AB", health_capture="AB"), body={"file": ""})
    ],
    "api/v1/admissions/": [Case("GET", SEES_ADMISSION, listed="admission")],
    "api/v1/admissions/<pk>/": [Case("GET", SEES_ADMISSION, obj="admission")],
    "api/v1/referrals/": [
        Case("GET", SEES_REFERRAL, listed="referral"),
        Case("POST", REFER, body=refer_body, refused=(400, 403, 404)),
    ],
    "api/v1/referrals/<pk>/": [Case("GET", SEES_REFERRAL, obj="referral")],
    "api/v1/referrals/<pk>/history/": [Case("GET", SEES_REFERRAL, obj="referral")],
    "api/v1/referrals/<pk>/transitions/": [Case("GET", SEES_REFERRAL, obj="referral")],
    "api/v1/referrals/<pk>/transitions/<name>/": [
        Case("POST", SEND_REFERRAL, obj="referral", name="send", body=send_referral_body)
    ],
    "api/v1/dead-letters/": [Case("GET", SEES_DEAD_LETTER, listed="message")],
    "api/v1/dead-letters/<pk>/": [Case("GET", api(REFUSED, admin="AB"), obj="message")],
    "api/v1/dead-letters/<pk>/replay/": [Case("POST", REPLAY, obj="message", body={})],
    # court watching
    "api/v1/briefs/": [Case("GET", SEES_BRIEF, listed="brief")],
    "api/v1/briefs/bulk-assign/": [Case("POST", ASSIGN_BRIEF, body=bulk_assign_body)],
    "api/v1/briefs/<pk>/": [Case("GET", SEES_BRIEF, obj="brief")],
    "api/v1/briefs/<pk>/history/": [Case("GET", SEES_BRIEF, obj="brief")],
    "api/v1/briefs/<pk>/transitions/": [Case("GET", SEES_BRIEF, obj="brief")],
    "api/v1/briefs/<pk>/transitions/<name>/": [
        Case("POST", ASSIGN_BRIEF, obj="brief", name="assign", body=assign_body)
    ],
    "api/v1/hearings/": [
        Case("GET", SEES_BRIEF, listed="hearing"),
        Case("POST", RECORD_HEARING, body=hearing_body, refused=(400, 403, 404)),
    ],
    "api/v1/hearings/<pk>/": [Case("GET", SEES_BRIEF, obj="hearing")],
    "api/v1/feedback/": [Case("GET", SEES_BRIEF, listed="feedback")],
    "api/v1/feedback/<pk>/": [Case("GET", SEES_BRIEF, obj="feedback")],
    "api/v1/feedback/<pk>/response/": [Case("POST", RESPOND_FEEDBACK, obj="feedback", body=response_body)],
    "api/v1/reviews/": [Case("GET", SEES_REVIEW, listed="review")],
    "api/v1/reviews/<pk>/": [Case("GET", SEES_REVIEW, obj="review")],
    "api/v1/reviews/<pk>/history/": [Case("GET", SEES_REVIEW, obj="review")],
    "api/v1/reviews/<pk>/transitions/": [Case("GET", SEES_REVIEW, obj="review")],
    "api/v1/reviews/<pk>/transitions/<name>/": [
        Case("POST", SCHEDULE_REVIEW, obj="review", name="schedule", body=schedule_body)
    ],
    "api/v1/meetings/": [
        Case("GET", SEES_MEETING, listed="meeting"),
        Case("POST", CALL_MEETING, body=meeting_body),
    ],
    "api/v1/meetings/<pk>/": [Case("GET", SEES_MEETING, obj="meeting")],
    "api/v1/notifications/": [Case("GET", SEES_NOTIFICATION, listed="notification")],
    "api/v1/notifications/<pk>/": [Case("GET", SEES_NOTIFICATION, obj="notification")],
    "api/v1/notifications/<pk>/read/": [Case("POST", READ_NOTIFICATION, obj="notification", body={})],
    # accounts: tokens are hashed, listed and revoked by their owner and admins (casework.accounts)
    "api/v1/auth/token/": [Case("POST", by_role((400, 401, 403), (400, 401, 403)), body=bad_login_body)],
    "api/v1/tokens/": [Case("GET", api(200))],
    "api/v1/tokens/<id>/": [Case("DELETE", api("-", admin="AB", court_watcher="A"), obj="token")],
    # POPIA: subject access, admins only
    "api/v1/subject-access/": [Case("POST", api(403, admin=400), body={})],
    # reports
    **{
        f"api/v1/{path}": [Case("GET", REPORT_READERS)]
        for path in (
            "reports/conviction-rate/",
            "reports/attrition/",
            "reports/removals/",
            "reports/re-enrolment/",
            "reports/unknown-to-police/",
            "dashboard/incidents/",
            "dashboard/hotspots/",
        )
    },
    # the API's own description
    "api/schema/": [Case("GET", api(200))],
    "api/docs/": [Case("GET", api(200))],
}

# ---------------------------------------------------------------- the table: pages

SIGNED_IN_PAGE = page(200)
BRIEF_MANAGER_PAGE = page(404, admin=200, court_watch_supervisor=200)
QUEUE_PAGE = page(404, admin=200, committee_member=200, court_watch_supervisor=200)

PAGE_ROUTES = {
    # For the load balancer: anyone, no sign-in; they say nothing about anyone (tests/test_operations.py).
    "health/": [Case("GET", by_role(200, 200))],
    "ready/": [Case("GET", by_role(200, 200))],
    "accounts/login/": [Case("GET", by_role(200, 200))],
    "accounts/logout/": [Case("POST", by_role(302, 302), body={}, json=False, fresh_client=True)],
    "i18n/setlang/": [Case("POST", by_role(302, 302), body={"language": "en"}, json=False)],
    "": [Case("GET", page((200, 302)))],
    "cases/": [Case("GET", page((200, 403)))],
    "dockets/<pk>/": [
        Case("GET", as_page(SEES_REFERRED_DOCKET), obj="police_case"),
        Case("GET", as_page(SEES_ENROLLED_DOCKET), obj="enrolled_case"),
    ],
    "dockets/<pk>/transitions/<name>/": [
        Case(
            "POST",
            as_page(DECIDE_DOCKET),
            obj="police_case",
            name="return_for_investigation",
            body=return_docket_body,
            json=False,
        )
    ],
    "prosecutions/<pk>/": [Case("GET", as_page(SEES_PROSECUTION), obj="prosecution")],
    "prosecutions/<pk>/transitions/<name>/": [
        Case(
            "POST",
            as_page(MOVE_PROSECUTION),
            obj="prosecution",
            name="remand",
            body=remand_body,
            json=False,
        )
    ],
    "incidents/<pk>/": [Case("GET", as_page(SEES_INCIDENT), obj="incident")],
    # accounts
    "accounts/": [Case("GET", page(200))],
    "accounts/password/": [Case("GET", page(200))],
    "accounts/password/done/": [Case("GET", page(200))],
    "accounts/two-factor/setup/": [Case("GET", page((200, 302)))],
    "accounts/two-factor/verify/": [Case("GET", page((200, 302)))],
    "accounts/tokens/": [Case("GET", page(200))],
    "accounts/tokens/<token_key>/revoke/": [
        Case("POST", page("-", admin="AB", court_watcher="A"), obj="token", body={}, json=False)
    ],
    # POPIA (admins)
    "intake/subject-access/": [Case("GET", page(403, admin=200))],
    "intake/retention/": [Case("GET", page(403, admin=200))],
    # hospital data
    "intake/new/": [
        Case("GET", page(403, admin=200, health_capture=200)),
        # A clerk captures for its own facility; for another the form refuses the facility
        # (a form error, not a 403) and nothing is stored.
        Case(
            "POST",
            page("-", admin="AB", health_capture="A"),
            body=capture_body,
            json=False,
            refused=(200, 400, 403),
        ),
    ],
    "intake/csv/": [
        Case("GET", page(403, admin=200, health_capture=200, integration=200)),
        Case("POST", page("-", admin="AB", health_capture="AB", integration="AB"), body={}, json=False),
    ],
    "intake/csv/template.csv": [Case("GET", page(200))],
    "intake/admissions/": [
        Case(
            "GET",
            as_page(SEES_ADMISSION),
            listed="admission",
            marker="/intake/admissions/{pk}/",
        )
    ],
    "intake/admissions/<pk>/": [Case("GET", as_page(SEES_ADMISSION), obj="admission")],
    "intake/admissions/<pk>/refer/": [Case("POST", as_page(REFER), obj="admission", body={}, json=False)],
    "intake/referrals/": [
        Case("GET", as_page(SEES_REFERRAL), listed="referral", marker="/intake/referrals/{pk}/")
    ],
    "intake/referrals/<pk>/": [Case("GET", as_page(SEES_REFERRAL), obj="referral")],
    # The station's liaison opens the docket (scope A); the clerk who sees the referral may not (403).
    "intake/referrals/<pk>/open-docket/": [
        Case("POST", as_page(OPEN_DOCKET), obj="referral", body=open_docket_body, json=False)
    ],
    "intake/mine/": [Case("GET", page(403, admin=200, health_capture=200))],
    "intake/referrals/<pk>/transitions/<name>/": [
        Case(
            "POST",
            as_page(SEND_REFERRAL),
            obj="referral",
            name="send",
            body=send_referral_body,
            json=False,
        )
    ],
    "intake/dead-letters/": [Case("GET", page(403, admin=200))],
    "intake/dead-letters/<pk>/": [
        Case("GET", page(403, admin="AB"), obj="message"),
        Case("POST", page("-", admin="AB"), obj="message", body={"raw": ""}, json=False),
    ],
    # court watching
    "courtwatch/": [
        Case(
            "GET",
            page(404, admin=302, court_watch_supervisor=302, court_watcher=302, committee_member=302),
        )
    ],
    "courtwatch/briefs/": [
        Case("GET", as_page(SEES_BRIEF), listed="brief", marker="/courtwatch/briefs/{pk}/")
    ],
    "courtwatch/briefs/<pk>/": [Case("GET", as_page(SEES_BRIEF), obj="brief")],
    "courtwatch/briefs/<pk>/hearings/": [
        Case("POST", as_page(RECORD_HEARING), obj="brief", body=hearing_body, json=False)
    ],
    "courtwatch/briefs/<pk>/feedback/": [
        Case(
            "POST",
            as_page(RECORD_HEARING),
            obj="brief",
            body={"category": "docket_incomplete", "text": "No statements", "recipient": "saps"},
            json=False,
        )
    ],
    "courtwatch/briefs/<pk>/transitions/<name>/": [
        Case("POST", as_page(ASSIGN_BRIEF), obj="brief", name="assign", body=assign_body, json=False)
    ],
    "courtwatch/feedback/<pk>/response/": [
        Case("POST", as_page(RESPOND_FEEDBACK), obj="feedback", body=response_body, json=False)
    ],
    "courtwatch/roll/": [Case("GET", page(404, admin=200, court_watch_supervisor=200, court_watcher=200))],
    "courtwatch/supervisor/": [Case("GET", BRIEF_MANAGER_PAGE)],
    "courtwatch/supervisor/assign/": [Case("POST", as_page(ASSIGN_BRIEF), body=bulk_assign_body, json=False)],
    "courtwatch/reviews/": [
        Case("GET", QUEUE_PAGE, listed="review", marker="/courtwatch/reviews/{pk}/"),
    ],
    "courtwatch/reviews/<pk>/": [Case("GET", as_page(SEES_REVIEW), obj="review")],
    "courtwatch/reviews/<pk>/transitions/<name>/": [
        Case(
            "POST",
            as_page(SCHEDULE_REVIEW),
            obj="review",
            name="schedule",
            body=schedule_body,
            json=False,
        )
    ],
    "courtwatch/meetings/": [
        Case("GET", QUEUE_PAGE),
        Case("POST", as_page(CALL_MEETING), body=meeting_body, json=False),
    ],
    "courtwatch/meetings/<pk>/": [Case("GET", as_page(SEES_MEETING), obj="meeting")],
    "courtwatch/meetings/<pk>/agenda.csv": [Case("GET", as_page(SEES_MEETING), obj="meeting")],
    "courtwatch/notifications/": [Case("GET", page(200))],
    "courtwatch/notifications/<pk>/read/": [
        Case("POST", as_page(READ_NOTIFICATION), obj="notification", body={}, json=False)
    ],
    # reports
    **{
        f"reports/{path}": [Case("GET", as_page(REPORT_READERS))]
        for path in (
            "",
            "conviction-rate/",
            "removals/",
            "re-enrolment/",
            "attrition/",
            "unknown-to-police/",
            "dashboard/",
            "dashboard/chart.csv",
            "hotspots/",
            "map/",
        )
    },
    "reports/conviction-rate/prosecutions/": [
        Case(
            "GET",
            page(403, admin=200, court_watch_supervisor=200, committee_member=200),
            query={"from": "2025-01-01", "to": "2025-12-31", "group_by": "court", "group": "court-a"},
        )
    ],
    "reports/extract/": [Case("GET", page(403, admin=200, vpu_analyst=200))],
    "reports/subscriptions/": [
        Case("GET", page(403, admin=200, vpu_analyst=200, manager=200)),
        Case(
            "POST",
            page("-", admin="AB", vpu_analyst="AB", manager="AB"),
            body=subscription_body,
            json=False,
        ),
    ],
}

ROUTES = {**API_ROUTES, **PAGE_ROUTES}

# ---------------------------------------------------------------- the admin

# Records that change only through services: readable by admins, never added, changed or deleted.
ADMIN_READ_ONLY = {
    "casework.incident",
    "casework.policecase",
    "casework.prosecution",
    "casework.transitionlog",
    "referrals.admission",
    "referrals.referral",
    "referrals.inboundmessage",
    "referrals.identityread",
    "courtwatch.brief",
    "courtwatch.hearing",
    "courtwatch.feedback",
    "courtwatch.withdrawalreview",
    "courtwatch.committeemeeting",
    "courtwatch.notification",
}
# Reference data and accounts: admins edit them here.
ADMIN_EDITABLE = {
    "casework.district",
    "casework.facility",
    "casework.station",
    "casework.court",
    "casework.suburb",
    "casework.offence",
    "auth.user",
    "auth.group",
    "referrals.sendingsystem",
    # the beat schedule (operations configuration)
    "django_celery_beat.clockedschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.periodictask",
    "django_celery_beat.solarschedule",
}
# The admin's own pages (not of a model): an admin reaches them; everyone else is sent to its login.
ADMIN_PAGES = {
    "admin/": 200,
    "admin/password_change/": 200,
    "admin/password_change/done/": 200,
    "admin/jsi18n/": 200,
}
ADMIN_OPEN_PAGES = {"admin/login/": (200, 302), "admin/logout/": (200, 302, 405)}
# Answer depends on query parameters a browser widget sends; any role: never a 2xx without staff.
ADMIN_ODD = {
    "admin/autocomplete/",
    "admin/r/<content_type_id>/<object_id>/",
    "admin/<app_label>/",
    "admin/<url>",
}
# Security records of the libraries (tokens, lockouts, second factors): H2's; an admin reads them
# and may remove one (revoke a token, lift a lockout), so add/delete answer 200 or 403.
ADMIN_OTHER = {
    "knox.authtoken",
    "otp_totp.totpdevice",
    "axes.accessattempt",
    "axes.accessfailurelog",
    "axes.accesslog",
}
