"""``manage.py issue_token USERNAME [--hours N]``: print a new API token for the user, once.

Only a hash of the token is stored (django-rest-knox), so it cannot be shown again: each run issues a new
one. It expires after the default lifetime (API_TOKEN_TTL_HOURS) or ``--hours``; revoke it on the user's
"API tokens" page, with ``DELETE /api/v1/tokens/<id>/``, or by changing the user's password.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from casework.accounts import services
from casework.errors import InvalidInput


class Command(BaseCommand):
    help = "Issue and print a new API token for a user (Authorization: Token <key>); shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--hours", type=int, default=None, help="lifetime in hours (default: the setting)"
        )

    def handle(self, *args, username, hours, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as e:
            raise CommandError(f"No user named '{username}'.") from e
        if not user.is_active:
            raise CommandError(f"User '{username}' is inactive: a token would not authenticate.")
        try:
            instance, token = services.token_issue(user=user, hours=hours)
        except InvalidInput as e:
            raise CommandError(str(e)) from e
        self.stderr.write(
            f"Token {instance.token_key}… for {username}, expires {instance.expiry:%Y-%m-%d %H:%M %Z}."
        )
        self.stdout.write(token)
