"""The one gate every process passes before it serves: outside DEBUG, the deployment's own keys.

Called by manage.py, the WSGI application and Celery's worker and beat (docs/security.md, "Settings and
hardening"). The settings list what is wrong (``KEY_PROBLEMS``); this refuses to start and names the
variables, then proves the identity keys usable (a malformed Fernet key fails now, not at the first
admission).
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_to_start_without_own_keys() -> None:
    if settings.KEY_PROBLEMS:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off: "
            + "; ".join(settings.KEY_PROBLEMS)
            + ". Give each its own secret value (docs/security.md); "
            "for development set DEBUG=true, as make run does."
        )
    from referrals import crypto

    crypto.check_keys()
