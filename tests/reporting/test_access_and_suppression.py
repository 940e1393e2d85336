"""Who may read reports, and small-cell suppression applied alike on the page, in the API and in the CSV."""

import csv
import io

import pytest

from casework import permissions as roles

from .cohort import MARCH, admissions_cohort, conviction_cohort

REPORT_URLS = [
    "/api/v1/reports/conviction-rate/",
    "/api/v1/reports/attrition/",
    "/api/v1/reports/removals/",
    "/api/v1/reports/re-enrolment/",
    "/api/v1/reports/unknown-to-police/",
    "/api/v1/dashboard/incidents/",
    "/api/v1/dashboard/hotspots/",
]
PAGE_URLS = [
    "/reports/",
    "/reports/conviction-rate/",
    "/reports/attrition/",
    "/reports/removals/",
    "/reports/re-enrolment/",
    "/reports/unknown-to-police/",
    "/reports/dashboard/",
    "/reports/hotspots/",
]
ALLOWED = [
    roles.MANAGER,
    roles.VPU_ANALYST,
    roles.ADMIN,
    roles.COURT_WATCH_SUPERVISOR,
    roles.COMMITTEE_MEMBER,
]
REFUSED = [roles.HEALTH_CAPTURE, roles.SAPS_LIAISON, roles.NPA_LIAISON, roles.COURT_WATCHER]


@pytest.mark.parametrize("role", REFUSED)
def test_roles_without_reports_get_403_on_every_report_page_and_endpoint(db, make_user, api, client, role):
    user = make_user(role)
    client.force_login(user)
    for url in REPORT_URLS:
        assert api(user).get(url).status_code == 403, url
        assert api(user).get(url, {"format": "csv"}).status_code == 403, url
    for url in PAGE_URLS:
        assert client.get(url).status_code == 403, url


def test_a_user_with_no_role_gets_403_and_anonymous_is_refused(db, make_user, api, client):
    assert api(make_user()).get("/api/v1/reports/conviction-rate/").status_code == 403
    assert api().get("/api/v1/reports/conviction-rate/").status_code in (401, 403)
    assert client.get("/reports/conviction-rate/").status_code == 302  # to the sign-in page


@pytest.mark.parametrize("role", ALLOWED)
def test_every_reporting_role_reads_every_report_page_and_endpoint(db, make_user, api, client, role):
    user = make_user(role)
    client.force_login(user)
    for url in REPORT_URLS:
        assert api(user).get(url).status_code == 200, url
        assert api(user).get(url, {"format": "csv"}).status_code == 200, url
    for url in PAGE_URLS:
        assert client.get(url).status_code == 200, url


# Court A in March: convictions 2, acquittals 1, verdicts 3, diverted 1, finalised 4 (all 1-4: suppressed);
# rates over 3 and 4: withheld. Finalised is under 5, so its zero parts are "<5" too (withdrawn,
# provisionally withdrawn: else "the rest are zero" tells); struck off stays 0, as its column total is a
# shown 0. Total: convictions 3, acquittals 1, verdicts 4, withdrawn 1,
# provisionally withdrawn 1, diverted 1 (suppressed), finalised 7 (shown), struck off 0 (zero is shown);
# conviction rate over 4: withheld; outcome conviction rate 3/7: its numerator is suppressed, withheld.
SUPPRESSED_A = {
    "convictions": None,
    "acquittals": None,
    "verdicts": None,
    "withdrawn": None,
    "provisionally_withdrawn": None,
    "struck_off": 0,
    "diverted": None,
    "finalised": None,
    "conviction_rate": None,
    "outcome_conviction_rate": None,
}
SUPPRESSED_TOTAL = {
    "convictions": None,
    "acquittals": None,
    "verdicts": None,
    "withdrawn": None,
    "provisionally_withdrawn": None,
    "struck_off": 0,
    "diverted": None,
    "finalised": 7,
    "conviction_rate": None,
    "outcome_conviction_rate": None,
}
UNSUPPRESSED_A = {
    "convictions": 2,
    "acquittals": 1,
    "verdicts": 3,
    "withdrawn": 0,
    "provisionally_withdrawn": 0,
    "struck_off": 0,
    "diverted": 1,
    "finalised": 4,
    "conviction_rate": 0.6667,
    "outcome_conviction_rate": 0.5,
}

# role, asks for unsuppressed?, gets suppressed figures?
CASES = [
    (roles.MANAGER, False, True),
    (roles.MANAGER, True, True),  # a manager may not lift suppression
    (roles.VPU_ANALYST, False, True),
    (roles.VPU_ANALYST, True, False),
    (roles.ADMIN, True, False),
    (roles.COMMITTEE_MEMBER, True, True),
    (roles.COURT_WATCH_SUPERVISOR, True, True),
]


@pytest.fixture
def cohort(db):
    return conviction_cohort()


def _params(unsuppressed, **extra):
    return {**MARCH, "group_by": "court", **({"unsuppressed": "1"} if unsuppressed else {}), **extra}


@pytest.mark.parametrize("role, asks, suppressed", CASES)
def test_suppression_in_the_api(cohort, make_user, api, role, asks, suppressed):
    body = api(make_user(role)).get("/api/v1/reports/conviction-rate/", _params(asks)).json()
    a = next(r for r in body["rows"] if r["group"] == "court-a")
    if suppressed:
        assert {k: a[k] for k in SUPPRESSED_A} == SUPPRESSED_A
        assert sorted(a["suppressed"]) == sorted(
            [
                "convictions",
                "acquittals",
                "verdicts",
                "withdrawn",
                "provisionally_withdrawn",
                "diverted",
                "finalised",
                "conviction_rate",
                "outcome_conviction_rate",
            ]
        )
        assert {k: body["total"][k] for k in SUPPRESSED_TOTAL} == SUPPRESSED_TOTAL
    else:
        assert {k: a[k] for k in UNSUPPRESSED_A} == UNSUPPRESSED_A
        assert "suppressed" not in a


@pytest.mark.parametrize("role, asks, suppressed", CASES)
def test_suppression_in_the_csv(cohort, make_user, api, role, asks, suppressed):
    r = api(make_user(role)).get("/api/v1/reports/conviction-rate/", _params(asks, format="csv"))
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(r.content.decode()))}
    if suppressed:
        assert rows["court-a"]["convictions"] == "" and rows["court-a"]["conviction_rate"] == ""
        assert "convictions" in rows["court-a"]["suppressed"].split(";")
        assert rows["total"]["finalised"] == "7" and rows["total"]["struck_off"] == "0"
    else:
        assert rows["court-a"]["convictions"] == "2" and rows["court-a"]["conviction_rate"] == "0.6667"
        assert rows["court-a"]["suppressed"] == ""


@pytest.mark.parametrize("role, asks, suppressed", CASES)
def test_suppression_on_the_page(cohort, make_user, client, role, asks, suppressed):
    client.force_login(make_user(role))
    r = client.get("/reports/conviction-rate/", _params(asks))
    assert r.status_code == 200
    row = next(x for x in r.context["rows"] if x["group"] == "court-a")
    html = r.content.decode()
    table = html[html.index('id="conviction-table"') : html.index("</table>")]
    if suppressed:
        assert row["convictions"] is None
        assert "&lt;5" in table and "Small cells suppressed" in html
    else:
        assert row["convictions"] == 2
        assert "&lt;5" not in table and "Small cells suppressed" not in html


def test_the_dashboard_suppresses_small_counts_for_a_manager_in_api_and_csv(db, make_user, api):
    admissions_cohort()
    manager, analyst = make_user(roles.MANAGER), make_user(roles.VPU_ANALYST)
    q = {**MARCH, "group_by": "facility"}
    body = api(manager).get("/api/v1/dashboard/incidents/", q).json()
    assert body == {
        "rows": [
            {"key": "fac-1", "count": None, "suppressed": ["count"]},
            {"key": "fac-2", "count": None, "suppressed": ["count"]},
        ],
        "total": None,
    }
    body = api(analyst).get("/api/v1/dashboard/incidents/", {**q, "unsuppressed": "1"}).json()
    assert body == {"rows": [{"key": "fac-1", "count": 3}, {"key": "fac-2", "count": 1}], "total": 4}
    text = api(manager).get("/api/v1/dashboard/incidents/", {**q, "format": "csv"}).content.decode()
    # Each code has its words beside it (the facility's name; "Total" for the total row).
    assert text.splitlines() == [
        "key,label,count,suppressed",
        "fac-1,Facility One,,count",
        "fac-2,Facility Two,,count",
        "total,Total,,count",
    ]
