"""The API of accounts: a token for a username, password (and code), and the caller's tokens.

``POST /api/v1/auth/token/`` goes through ``django.contrib.auth.authenticate`` with the request, so
django-axes counts its failures and locks it out like the sign-in page (429).
"""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import permissions
from ..errors import InvalidInput
from . import selectors, services


class TokenIssueInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    code = serializers.CharField(
        max_length=12, required=False, allow_blank=True, help_text="The TOTP code, for two-factor accounts."
    )


class TokenIssueOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as 'Authorization: Token <token>'. Shown only this once.")
    id = serializers.CharField(help_text="The token's public id, for listing and revoking.")
    expiry = serializers.DateTimeField()


class TokenOutput(serializers.Serializer):
    id = serializers.CharField(source="token_key")
    user = serializers.CharField(source="user.username")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()


class TokenIssueView(APIView):
    """A new API token for a username and password (and, for two-factor accounts, the current code)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenIssueInput, responses={200: TokenIssueOutput})
    def post(self, request):
        data = TokenIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        # The Django request, not DRF's: django-axes marks a lockout on it for its middleware to answer 429.
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            raise InvalidInput({"password": _("The username or password is not right.")})
        if permissions.must_use_two_factor(user) or selectors.has_confirmed_device(user):
            self._check_code(request, user, data.validated_data.get("code", ""))
        instance, token = services.token_issue(user=user)
        # As a sign-in: last_login, django-axes' access log, and its failure count reset.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        body = TokenIssueOutput({"token": token, "id": instance.token_key, "expiry": instance.expiry}).data
        return Response(body, status=status.HTTP_200_OK, headers={"Cache-Control": "no-store"})

    @staticmethod
    def _check_code(request, user, code: str) -> None:
        if not selectors.has_confirmed_device(user):
            raise InvalidInput(
                {"code": _("Set up two-factor on the web first (/accounts/two-factor/setup/).")}
            )
        if not code:
            raise InvalidInput({"code": _("This account uses two-factor: send the code from your app.")})
        try:
            services.two_factor_verify(user=user, code=code)
        except InvalidInput:
            # A wrong code counts towards the lockout like a wrong password.
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=request._request
            )
            raise


class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's live API tokens (an admin's: everyone's); DELETE revokes one."""

    serializer_class = TokenOutput
    lookup_field = "token_key"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return selectors.api_token_list_for_user(self.request.user)

    def get_object(self):
        return get_object_or_404(
            permissions.visible_api_tokens(self.request.user), token_key=self.kwargs["id"]
        )

    def perform_destroy(self, instance):
        services.token_revoke(token=instance, actor=self.request.user)
