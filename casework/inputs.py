"""Input refused at the door (docs/security.md, "Refused at the door"): one check per kind of input.

PostgreSQL refuses NUL in text and Python's ``str.isdigit()`` says yes to "²" and "١", so every parameter,
path and JSON body is checked here before any query runs; the answer is a 4xx naming the field.

- ``RefuseControlCharactersMiddleware``: no control character in the path, a query parameter or a form
  field (tab, line feed and carriage return are allowed in form fields: a note has lines).
- ``JSONParser``: the API's JSON, at most ``JSON_MAX_BYTES`` and ``JSON_MAX_DEPTH`` levels deep, no control
  character in a string, no number too large to be finite (``1e999``).
- ``ascii_int``, ``bounded_date``: digits as ASCII, dates within stated bounds.
"""

import json
import math
import re
from datetime import date

from django.http import HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

# Anything a person cannot type in a parameter: C0 controls (NUL included), DEL and C1 controls.
PARAM_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In free text a tab, a line feed and a carriage return are ordinary; every other control is refused.
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ASCII_DIGITS = re.compile(r"[0-9]+")

JSON_MAX_BYTES = 1024 * 1024  # larger than any record this API takes; a bigger body is refused unread
JSON_MAX_DEPTH = 32  # the deepest body the API takes is three levels; 32 leaves room and bounds recursion

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")  # file contents are the intake's
CONTROL_MESSAGE = "Control characters (such as NUL) are not allowed."


def ascii_int(value) -> int | None:
    """A whole number written in ASCII digits (``"12"``), else None: "²", "١٢", "-1", "1e3" are not ids."""
    if isinstance(value, str) and ASCII_DIGITS.fullmatch(value) and len(value) <= 18:
        return int(value)
    return None


def bounded_date(value: str, lowest: date, highest: date) -> date | None:
    """An ISO date (YYYY-MM-DD) from ``lowest`` to ``highest`` inclusive, else None."""
    try:
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if lowest <= parsed <= highest else None


def has_control(value: str, *, text: bool = False) -> bool:
    return bool((TEXT_CONTROL if text else PARAM_CONTROL).search(value))


def _refused(request, errors: dict[str, str]):
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"detail": f"Invalid input: {', '.join(errors)}.", "errors": {k: [v] for k, v in errors.items()}},
            status=400,
        )
    # No request context: this answer comes before sessions and the user are loaded.
    return HttpResponseBadRequest(render_to_string("400.html", {"errors": errors}))


class RefuseControlCharactersMiddleware:
    """400 naming the parameter for a control character in the path, a query parameter or a form field."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        errors = {}
        if has_control(request.path_info):
            errors["path"] = CONTROL_MESSAGE
        for key, values in request.GET.lists():
            if has_control(key) or any(has_control(v) for v in values):
                errors[PARAM_CONTROL.sub("?", key)] = CONTROL_MESSAGE
        if request.method == "POST" and request.content_type in FORM_TYPES:
            try:
                fields = list(request.POST.lists())
            except MultiPartParserError:
                return _refused(request, {"body": "The form data cannot be read."})
            for key, values in fields:
                if has_control(key) or any(has_control(v, text=True) for v in values):
                    errors[PARAM_CONTROL.sub("?", key)] = CONTROL_MESSAGE
        if errors:
            return _refused(request, errors)
        return self.get_response(request)


def _check(value, where: str, depth: int) -> None:
    """Walk a parsed body: bounded depth, no control characters in strings or keys, finite numbers."""
    if depth > JSON_MAX_DEPTH:
        raise ParseError(f"JSON nested deeper than {JSON_MAX_DEPTH} levels.")
    name = where or "non_field_errors"
    if isinstance(value, str):
        if has_control(value, text=True):
            raise ValidationError({name: [CONTROL_MESSAGE]})
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError({name: ["A number too large to be finite."]})
    elif isinstance(value, dict):
        for key, item in value.items():
            if has_control(key):
                raise ValidationError(
                    {"non_field_errors": [f"A field name has control characters. {CONTROL_MESSAGE}"]}
                )
            _check(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]" if where else f"[{i}]", depth + 1)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number.")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size and depth limit and the checks above; errors name the field.

    A ``ValidationError`` raised here reaches the view's exception handler as any invalid field does (422 on
    a transition, 400 elsewhere); malformed, oversized or too deeply nested JSON is a 400 parse error.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        raw = stream.read(JSON_MAX_BYTES + 1)
        if len(raw) > JSON_MAX_BYTES:
            raise ParseError(f"The JSON body is larger than {JSON_MAX_BYTES} bytes.")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {JSON_MAX_DEPTH} levels.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        _check(data, "", 0)
        return data
