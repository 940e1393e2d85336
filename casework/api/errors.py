"""One exception handler: domain errors to the HTTP contract in DESIGN.md.

not allowed from this state → 400 naming the allowed transitions; permission → 403;
hidden or missing → 404; stale version → 409; missing or invalid field → 422 on a transition
(views set ``invalid_input_status``), 400 on a create; over a rate limit → 429 with Retry-After.
"""

from django.core.exceptions import PermissionDenied
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import InvalidInput, NotAllowed, StaleVersion


def exception_handler(exc, context):
    view = context.get("view")
    if isinstance(exc, NotAllowed):
        return Response(
            {"detail": str(exc), "transition": exc.transition, "state": exc.state, "allowed": exc.allowed},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, StaleVersion):
        return Response({"detail": str(exc), "current_version": exc.current}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, InvalidInput):
        code = getattr(view, "invalid_input_status", status.HTTP_400_BAD_REQUEST)
        return Response({"detail": str(exc), "errors": exc.errors}, status=code)
    if isinstance(exc, ValidationError):
        # One shape for every input error: {"detail": ..., "errors": {field: [messages]}}.
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        names = ", ".join(errors)
        code = getattr(view, "invalid_input_status", status.HTTP_400_BAD_REQUEST)
        return Response({"detail": f"Invalid input: {names}.", "errors": errors}, status=code)
    if isinstance(exc, Throttled):
        # Over a rate limit (casework/throttling.py): 429, when to come back in words and in Retry-After.
        wait = max(1, int(exc.wait or 1))
        response = Response(
            {"detail": f"Too many requests: try again in {wait} seconds.", "retry_after": wait},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "You do not have permission to do this."}, status=403)
    return drf_exception_handler(exc, context)
