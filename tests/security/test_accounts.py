"""Accounts (issue 10, item 6): password rules, lockout, two-factor, API tokens — each end to end, through
the real sign-in page, the admin's login, the token endpoint and the API, as an attacker or a user would."""

import hashlib
from base64 import b32decode
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from casework import permissions

pytestmark = pytest.mark.django_db

PASSWORD = "Harbour-Lights-Orange-42"  # noqa: S105
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
TOKEN_ISSUE = "/api/v1/auth/token/"
TOKENS = "/api/v1/tokens/"


@pytest.fixture
def person(make_user):
    """``person("manager", username="nomsa")``: a user with the known PASSWORD."""

    def make(*roles, **kwargs):
        return make_user(*roles, password=PASSWORD, **kwargs)

    return make


def sign_in(client, username, password=PASSWORD, url=LOGIN):
    return client.post(url, {"username": username, "password": password})


def signed_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


def token_for(username, password=PASSWORD, code=None):
    data = {"username": username, "password": password}
    if code is not None:
        data["code"] = code
    return APIClient().post(TOKEN_ISSUE, data, format="json")


def with_token(token) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return c


def code_now(device_or_key, steps_ahead=0) -> str:
    """The app's current code; ``steps_ahead=5`` gives one 150 s off, which the device refuses."""
    key = getattr(device_or_key, "bin_key", device_or_key)
    return f"{totp(key, drift=steps_ahead):06d}"


# -------------------------------------------------------------------- password rules


@pytest.mark.parametrize("weak", ["1", "password1234", "12345678901234"])
def test_a_weak_password_is_refused_when_a_user_changes_theirs(client, person, weak):
    user = person(permissions.MANAGER, username="nomsa")
    client.force_login(user)

    r = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
    )

    assert r.status_code == 200
    assert r.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_long_uncommon_password_is_accepted(client, person):
    user = person(permissions.MANAGER, username="nomsa")
    client.force_login(user)

    r = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Kloof-Nek-Sunrise-77",
            "new_password2": "Kloof-Nek-Sunrise-77",
        },
    )

    assert r.status_code == 302 and r["Location"] == reverse("accounts:password-change-done")
    user.refresh_from_db()
    assert user.check_password("Kloof-Nek-Sunrise-77")


def test_a_password_like_the_username_is_refused(client, person):
    user = person(permissions.MANAGER, username="thandeka.mokoena")
    client.force_login(user)

    r = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "thandeka.mokoena1",
            "new_password2": "thandeka.mokoena1",
        },
    )

    assert "too similar to the username" in str(r.context["form"].errors)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# -------------------------------------------------------------------- lockout


def test_five_wrong_passwords_lock_the_sign_in_page_even_for_the_right_one(person):
    person(permissions.MANAGER, username="nomsa")
    client = Client()

    answers = [sign_in(client, "nomsa", "wrong-guess").status_code for _ in range(5)]
    locked = sign_in(client, "nomsa")

    assert answers == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "locked for 30 minutes, even with the right password" in locked.content.decode()
    assert locked["Retry-After"] == "1800"
    assert signed_in_as(client) is None


def test_a_lockout_ends_after_the_cool_off(person):
    user = person(permissions.MANAGER, username="nomsa")
    client = Client()
    for _ in range(5):
        sign_in(client, "nomsa", "wrong-guess")
    assert sign_in(client, "nomsa").status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))

    assert sign_in(client, "nomsa").status_code == 302
    assert signed_in_as(client) == str(user.pk)


def test_an_administrator_unlocks_a_locked_account_with_axes_reset(person):
    user = person(permissions.MANAGER, username="nomsa")
    client = Client()
    for _ in range(6):
        sign_in(client, "nomsa", "wrong-guess")

    call_command("axes_reset_username", "nomsa")

    assert sign_in(client, "nomsa").status_code == 302
    assert signed_in_as(client) == str(user.pk)


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(person):
    person(permissions.MANAGER, username="nomsa")
    client = Client()

    for n in range(5):
        client.post(LOGIN, {"username": "nomsa", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    r = client.post(LOGIN, {"username": "nomsa", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.9")

    assert r.status_code == 429


def test_a_lockout_of_one_user_leaves_another_user_at_the_same_address_alone(person):
    person(permissions.MANAGER, username="nomsa")
    other = person(permissions.MANAGER, username="sipho")
    client = Client()
    for _ in range(5):
        sign_in(client, "nomsa", "wrong-guess")

    assert sign_in(client, "sipho").status_code == 302
    assert signed_in_as(client) == str(other.pk)


def test_five_wrong_passwords_lock_the_admin_login_even_for_the_right_one(person):
    person(permissions.ADMIN, username="root", is_staff=True)
    client = Client()

    answers = [sign_in(client, "root", "wrong-guess", url=ADMIN_LOGIN).status_code for _ in range(5)]
    locked = sign_in(client, "root", url=ADMIN_LOGIN)

    assert answers == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "Signing in is locked" in locked.content.decode()
    assert signed_in_as(client) is None


def test_five_wrong_passwords_lock_token_issue_even_for_the_right_one(person):
    person(permissions.MANAGER, username="nomsa")

    answers = [token_for("nomsa", "wrong-guess").status_code for _ in range(5)]
    locked = token_for("nomsa")

    assert answers == [400, 400, 400, 400, 429]
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert "token" not in locked.json()
    assert not AuthToken.objects.exists()


def test_a_wrong_password_on_token_issue_names_the_field(person):
    person(permissions.MANAGER, username="nomsa")

    r = token_for("nomsa", "wrong-guess")

    assert r.status_code == 400
    assert r.json()["errors"] == {"password": ["The username or password is not right."]}


# -------------------------------------------------------------------- two-factor


def test_a_health_capture_user_sets_up_two_factor_at_first_sign_in_and_then_reaches_their_page(
    person, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code then a right one, without waiting a second
    clerk = person(permissions.HEALTH_CAPTURE, username="ec.clerk")
    client = Client()
    admissions = reverse("referrals:admission-list")

    assert sign_in(client, "ec.clerk").status_code == 302
    stopped = client.get(admissions)
    assert stopped.status_code == 302
    assert stopped["Location"].startswith(reverse("accounts:two-factor-setup") + "?next=")

    setup = client.get(stopped["Location"])
    secret = setup.content.decode().split('id="totp-secret" class="secret">')[1].split("<")[0]
    key = b32decode(secret.replace(" ", ""))
    assert key == TOTPDevice.objects.get(user=clerk).bin_key
    assert "otpauth://totp/Casetrail%3Aec.clerk?secret=" in setup.content.decode()

    wrong = client.post(stopped["Location"], {"code": code_now(key, steps_ahead=5)})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get(admissions).status_code == 302

    right = client.post(stopped["Location"], {"code": code_now(key), "next": admissions})
    assert right.status_code == 302 and right["Location"] == admissions
    assert client.get(admissions).status_code == 200
    assert TOTPDevice.objects.get(user=clerk).confirmed


def test_at_the_next_sign_in_the_code_is_asked_for_and_a_wrong_one_keeps_the_door_shut(person, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin = person(permissions.ADMIN, username="root")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client = Client()

    sign_in(client, "root")
    stopped = client.get(reverse("referrals:dead-letters"))
    assert stopped["Location"].startswith(reverse("accounts:two-factor-verify"))
    assert client.get(reverse("accounts:two-factor-setup"))["Location"].startswith(
        reverse("accounts:two-factor-verify")
    ), "with a device confirmed, a password alone cannot set up another"

    wrong = client.post(reverse("accounts:two-factor-verify"), {"code": code_now(device, steps_ahead=5)})
    assert "That code is not right" in wrong.content.decode()
    assert client.get(reverse("referrals:dead-letters")).status_code == 302

    client.post(reverse("accounts:two-factor-verify"), {"code": code_now(device)})
    assert client.get(reverse("referrals:dead-letters")).status_code == 200


def test_the_django_admin_is_closed_to_an_admin_who_signed_in_with_a_password_only(person):
    admin = person(permissions.ADMIN, username="root", is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client = Client()

    assert sign_in(client, "root", url=ADMIN_LOGIN).status_code == 302
    for url in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{admin.pk}/change/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("accounts:two-factor-verify")), url


def test_session_api_calls_of_an_unverified_admin_answer_403_naming_two_factor(person):
    person(permissions.ADMIN, username="root")
    client = Client()
    sign_in(client, "root")

    r = client.get("/api/v1/offences/")

    assert r.status_code == 403
    assert "two-factor" in r.json()["detail"]


def test_a_manager_signs_in_with_a_password_alone(person):
    manager = person(permissions.MANAGER, username="boss")
    client = Client()

    sign_in(client, "boss")

    assert signed_in_as(client) == str(manager.pk)
    assert client.get(reverse("reporting:dashboard")).status_code == 200
    assert client.get("/api/v1/offences/").status_code == 200
    assert not permissions.must_use_two_factor(manager)


@pytest.mark.parametrize(
    "roles, staff, expected",
    [
        ((permissions.ADMIN,), False, True),
        ((permissions.HEALTH_CAPTURE,), False, True),
        ((), True, True),
        ((permissions.MANAGER,), False, False),
        ((permissions.VPU_ANALYST,), False, False),
        ((permissions.SAPS_LIAISON,), False, False),
        ((permissions.COURT_WATCHER,), False, False),
    ],
)
def test_two_factor_is_required_for_admins_staff_and_roles_that_read_identity(
    make_user, roles, staff, expected
):
    assert permissions.must_use_two_factor(make_user(*roles, is_staff=staff)) is expected


def test_a_manager_may_turn_two_factor_on_and_is_asked_for_a_code_from_then_on(person):
    manager = person(permissions.MANAGER, username="boss")
    client = Client()
    sign_in(client, "boss")

    setup = client.get(reverse("accounts:two-factor-setup"))
    assert "Optional for your role" in setup.content.decode()
    device = TOTPDevice.objects.get(user=manager)
    client.post(reverse("accounts:two-factor-setup"), {"code": code_now(device)})
    client.post(reverse("logout"))
    sign_in(client, "boss")

    r = client.get(reverse("reporting:dashboard"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("accounts:two-factor-verify"))


def test_a_two_factor_user_gets_an_api_token_only_with_a_right_code(person, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    clerk = person(permissions.HEALTH_CAPTURE, username="ec.clerk")
    device = TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)

    without = token_for("ec.clerk")
    wrong = token_for("ec.clerk", code=code_now(device, steps_ahead=5))
    right = token_for("ec.clerk", code=code_now(device))

    assert without.status_code == 400 and "code" in without.json()["errors"]
    assert wrong.status_code == 400 and "code" in wrong.json()["errors"]
    assert right.status_code == 200
    assert with_token(right.json()["token"]).get("/api/v1/offences/").status_code == 200


def test_a_two_factor_user_without_a_device_gets_no_api_token(person):
    person(permissions.HEALTH_CAPTURE, username="ec.clerk")

    r = token_for("ec.clerk", code="123456")

    assert r.status_code == 400
    assert "Set up two-factor" in r.json()["errors"]["code"][0]


# -------------------------------------------------------------------- API tokens


def test_a_token_is_stored_only_as_a_hash_and_expires_after_ten_hours(person):
    person(permissions.MANAGER, username="boss")

    r = token_for("boss")

    token = r.json()["token"]
    row = AuthToken.objects.get()
    stored = [
        str(v) for v in AuthToken.objects.values_list(*[f.attname for f in AuthToken._meta.fields]).get()
    ]
    assert token not in " ".join(stored)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    assert abs(row.expiry - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert "no-store" in r["Cache-Control"]


def test_an_expired_token_is_refused_with_401(person):
    person(permissions.MANAGER, username="boss")
    token = token_for("boss").json()["token"]
    assert with_token(token).get("/api/v1/offences/").status_code == 200

    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))

    assert with_token(token).get("/api/v1/offences/").status_code == 401


def test_a_revoked_token_is_refused_with_401(person):
    person(permissions.MANAGER, username="boss")
    issued = token_for("boss").json()
    client = with_token(issued["token"])

    assert client.delete(f"{TOKENS}{issued['id']}/").status_code == 204
    assert client.get("/api/v1/offences/").status_code == 401


def test_changing_the_password_on_the_page_revokes_every_token(client, person):
    user = person(permissions.MANAGER, username="boss")
    tokens = [token_for("boss").json()["token"] for _ in range(2)]
    client.force_login(user)

    client.post(
        reverse("accounts:password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Kloof-Nek-Sunrise-77",
            "new_password2": "Kloof-Nek-Sunrise-77",
        },
    )

    assert [with_token(t).get("/api/v1/offences/").status_code for t in tokens] == [401, 401]
    assert client.get(reverse("accounts:account")).status_code == 200, "this session stays signed in"


def test_an_admin_setting_a_users_password_in_the_django_admin_revokes_their_tokens(client, person):
    person(permissions.MANAGER, username="boss")
    token = token_for("boss").json()["token"]
    boss = AuthToken.objects.get().user
    client.force_login(person(permissions.ADMIN, username="root", is_staff=True, is_superuser=True))

    r = client.post(
        f"/admin/auth/user/{boss.pk}/password/",
        {"password1": "Kloof-Nek-Sunrise-77", "password2": "Kloof-Nek-Sunrise-77", "usable_password": "true"},
    )

    assert r.status_code == 302
    assert with_token(token).get("/api/v1/offences/").status_code == 401


def test_changepassword_and_set_password_revoke_tokens_too(person):
    user = person(permissions.MANAGER, username="boss")
    token = token_for("boss").json()["token"]

    user.set_password("Kloof-Nek-Sunrise-77")
    user.save()

    assert with_token(token).get("/api/v1/offences/").status_code == 401


def test_an_owner_lists_and_revokes_their_tokens_but_not_anothers(person):
    person(permissions.MANAGER, username="boss")
    person(permissions.VPU_ANALYST, username="analyst")
    mine = token_for("boss").json()
    theirs = token_for("analyst").json()
    client = with_token(mine["token"])

    listed = client.get(TOKENS).json()["results"]
    refused = client.delete(f"{TOKENS}{theirs['id']}/")

    assert [(t["id"], t["user"]) for t in listed] == [(mine["id"], "boss")]
    assert refused.status_code == 404
    assert with_token(theirs["token"]).get("/api/v1/offences/").status_code == 200


def test_an_admin_lists_and_revokes_anyones_token(api, person, admin_user):
    person(permissions.MANAGER, username="boss")
    theirs = token_for("boss").json()

    listed = api(admin_user).get(TOKENS).json()["results"]
    revoked = api(admin_user).delete(f"{TOKENS}{theirs['id']}/")

    assert [t["user"] for t in listed] == ["boss"]
    assert revoked.status_code == 204
    assert with_token(theirs["token"]).get("/api/v1/offences/").status_code == 401


def test_the_tokens_page_shows_a_new_token_once_and_revokes_it(client, person):
    user = person(permissions.MANAGER, username="boss")
    client.force_login(user)

    created = client.post(reverse("accounts:api-tokens"))
    token = created.content.decode().split('<code id="new-token" class="break">')[1].split("<")[0]
    row = AuthToken.objects.get(user=user)
    listed = client.get(reverse("accounts:api-tokens")).content.decode()

    assert with_token(token).get("/api/v1/offences/").status_code == 200
    assert row.token_key in listed and token not in listed
    client.post(reverse("accounts:api-token-revoke", args=[row.token_key]))
    assert with_token(token).get("/api/v1/offences/").status_code == 401


def test_a_user_cannot_revoke_anothers_token_on_the_page(client, person):
    person(permissions.MANAGER, username="boss")
    other = person(permissions.MANAGER, username="other")
    theirs = token_for("boss").json()
    client.force_login(other)

    r = client.post(reverse("accounts:api-token-revoke", args=[theirs["id"]]))

    assert r.status_code == 404
    assert with_token(theirs["token"]).get("/api/v1/offences/").status_code == 200
