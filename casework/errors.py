"""Domain errors that every entry point (web, API, tasks) maps the same way (see api/errors.py)."""

from django.core.exceptions import PermissionDenied  # noqa: F401  (403: re-exported for callers)
from django.utils.translation import gettext as _


class DomainError(Exception):
    pass


class NotAllowed(DomainError):
    """The transition cannot be taken from the object's current state (HTTP 400)."""

    def __init__(self, transition: str, state: str, allowed: list[str]):
        self.transition, self.state, self.allowed = transition, state, allowed
        allowed_text = ", ".join(allowed) or "none"
        super().__init__(f"'{transition}' is not allowed from '{state}'. Allowed now: {allowed_text}.")


class StaleVersion(DomainError):
    """Somebody else changed the object since the caller read it (HTTP 409)."""

    def __init__(self, current: int, given: int):
        self.current, self.given = current, given
        super().__init__(
            _("This record was changed by someone else (version %(current)s, you had %(given)s).")
            % {"current": current, "given": given}
            + " "
            + _("Reload it and try again.")
        )


class AlreadyRecorded(StaleVersion):
    """The same record was already made: a resend, a double submit or a concurrent twin (HTTP 409).

    A StaleVersion, so every entry point answers it the same way (409 and the current version).
    """

    def __init__(self, message: str, current: int):
        self.current, self.given = current, None
        DomainError.__init__(self, message)


class InvalidInput(DomainError):
    """A missing or invalid field (HTTP 422 on a transition, 400 on a create; a form error on the web)."""

    def __init__(self, errors: dict[str, str | list[str]]):
        self.errors = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in self.errors.items()))
