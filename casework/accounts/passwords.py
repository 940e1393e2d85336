"""A hook in the password-validator list: Django calls ``password_changed`` after every password change
(our page, the admin, ``manage.py changepassword``, a reset), so API tokens never outlive the password."""

from django.utils.translation import gettext as _


class ApiTokensRevokedOnPasswordChange:
    """Not a rule (it accepts every password); its help text tells the user what a change does."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            from .services import tokens_revoke_all  # validators load before the app registry is ready

            tokens_revoke_all(user=user)

    def get_help_text(self) -> str:
        return _("Changing your password revokes every API token you hold.")
