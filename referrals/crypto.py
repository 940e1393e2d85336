"""Identity encryption at rest (Fernet) and the keyed pseudonym that links repeat victims.

Keys come from the environment through settings: ``IDENTITY_ENCRYPTION_KEY`` (one or more
comma-separated Fernet keys, newest first: MultiFernet decrypts with any and encrypts with the
first, so keys rotate) and ``PSEUDONYM_KEY`` (the HMAC key). Neither is ever derived from another
key. Under DEBUG the settings fill in fixed, public development values; outside DEBUG every process
refuses to start without the deployment's own (``config/startup.py``), which also calls ``check_keys``
to prove the Fernet keys well-formed at start-up.
"""

import hashlib
import hmac
import json
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key"
DEV_IDENTITY_ENCRYPTION_KEY = "yWKoP4FQqrANyHZy4gLS9Y4T636VybPFaORniDdtcxg="  # = settings.DEV_KEYS


def check_keys() -> None:
    """Refuse to run outside DEBUG without the deployment's own identity and pseudonym keys."""
    if not settings.DEBUG:
        identity = {k.strip() for k in settings.IDENTITY_ENCRYPTION_KEY.split(",") if k.strip()}
        if not identity:
            raise ImproperlyConfigured("Set IDENTITY_ENCRYPTION_KEY: patient identity is encrypted at rest.")
        if DEV_IDENTITY_ENCRYPTION_KEY in identity:
            raise ImproperlyConfigured(
                "Set IDENTITY_ENCRYPTION_KEY: the development identity key is refused outside DEBUG."
            )
        if not settings.PSEUDONYM_KEY or settings.PSEUDONYM_KEY == DEV_PSEUDONYM_KEY:
            raise ImproperlyConfigured(
                "Set PSEUDONYM_KEY: the development pseudonym key is refused outside DEBUG."
            )
    _fernet_for.cache_clear()
    _fernet()  # a malformed key fails now, at start-up, not at the first admission


@lru_cache(maxsize=4)
def _fernet_for(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise ImproperlyConfigured("Set IDENTITY_ENCRYPTION_KEY: patient identity is encrypted at rest.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except ValueError as e:
        raise ImproperlyConfigured(f"IDENTITY_ENCRYPTION_KEY is not a Fernet key: {e}") from e


def _fernet() -> MultiFernet:
    return _fernet_for(settings.IDENTITY_ENCRYPTION_KEY)


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as e:
        raise ImproperlyConfigured("Cannot decrypt identity: wrong IDENTITY_ENCRYPTION_KEY?") from e


_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def normalise_identifier(value: str) -> str:
    """ID numbers and folder numbers compare without spaces, dashes or case."""
    return _NON_ALNUM.sub("", (value or "").upper())


def pseudonym(identifier: str, *, authority: str = "") -> str:
    """HMAC-SHA256 of the normalised identifier (hex). Empty when there is no identifier.

    A national ID number links across facilities; a folder number is only unique at its
    facility, so the facility (authority) is part of what is hashed for those.
    """
    norm = normalise_identifier(identifier)
    if not norm:
        return ""
    material = f"{authority.upper()}|{norm}" if authority else norm
    if not settings.PSEUDONYM_KEY:  # never an HMAC under an empty key, however the process was started
        raise ImproperlyConfigured("Set PSEUDONYM_KEY: patients are linked by a keyed pseudonym.")
    return hmac.new(settings.PSEUDONYM_KEY.encode(), material.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python sees the plain text. Not searchable, by design."""

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON value stored as one Fernet token."""

    def get_prep_value(self, value):
        if value is None:
            return value
        return encrypt(json.dumps(value, sort_keys=True))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return json.loads(decrypt(value))

    def to_python(self, value):
        return value
