"""``manage.py issue_token USERNAME``: a new token, printed once, that a script uses on the API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def issue(username: str) -> str:
    out = StringIO()
    call_command("issue_token", username, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_printed_token_signs_the_user_in_to_the_api(make_user):
    make_user("vpu_analyst", username="analyst")
    key = issue("analyst")

    response = token_client(key).get("/api/v1/offences/")

    assert response.status_code == 200


def test_each_run_prints_a_new_token_and_both_sign_in(make_user):
    # Only a hash is kept, so a token cannot be printed twice: each run issues another one.
    make_user("manager", username="boss")

    first, second = issue("boss"), issue("boss")

    assert first != second
    assert token_client(first).get("/api/v1/offences/").status_code == 200
    assert token_client(second).get("/api/v1/offences/").status_code == 200


def test_a_lifetime_beyond_the_limit_is_a_clear_error(make_user):
    make_user("manager", username="boss")

    with pytest.raises(CommandError, match="hours"):
        call_command("issue_token", "boss", "--hours", "100000", stdout=StringIO(), stderr=StringIO())


def test_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        issue("nobody")


def test_an_inactive_user_gets_no_token(make_user):
    make_user("manager", username="gone", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        issue("gone")
