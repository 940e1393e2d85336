"""``manage.py issue_token USERNAME``: the token a script or a hospital system uses on the API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def issue(username: str) -> str:
    out = StringIO()
    call_command("issue_token", username, stdout=out)
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


def test_asking_twice_prints_the_same_token(make_user):
    make_user("manager", username="boss")

    assert issue("boss") == issue("boss")


def test_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        issue("nobody")


def test_an_inactive_user_gets_no_token(make_user):
    make_user("manager", username="gone", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        issue("gone")
