"""``manage.py issue_token USERNAME``: print the user's API token (created when missing)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print the API token of a user, creating it if the user has none (Authorization: Token <key>)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as e:
            raise CommandError(f"No user named '{username}'.") from e
        if not user.is_active:
            raise CommandError(f"User '{username}' is inactive: a token would not authenticate.")
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
