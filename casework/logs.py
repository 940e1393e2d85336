"""Structured logs (docs/operations.md, "Logs"): a request id on every line of a request, a task id on every
line of a Celery task, and one JSON object per line when ``LOG_FORMAT=json``.

Stdlib only, and no models imported: Django configures logging before the apps are loaded.
A log line carries ids, never identity or health information: the path without its query string, the
user's numeric id, and for an exception its type and stack but not its message (a database error's
message quotes the row's values).
"""

import contextvars
import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from django.core.signals import request_finished

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or client may hand us as a request id: a UUID, a hex string, a trace id. Anything else
# (too long, spaces, control characters) is replaced by our own, so a header cannot forge or break a line.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

# Everything known about the work in hand: request_id, method, path, status, duration_ms, user_id,
# task_id, task. One dict per request or task; the logging filter copies it onto each record.
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("casetrail_log_context", default=None)

FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "task_id", "task")

access_log = logging.getLogger("casetrail.requests")


def current() -> dict:
    """The context of the work in hand (empty outside a request or task)."""
    return _context.get() or {}


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a plausible one, else a new one."""
    if header and _VALID_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _user_id(request) -> int | None:
    """The signed-in user's id, only if authentication already ran (never a query from inside logging)."""
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)  # SimpleLazyObject: look only once it has been evaluated
    if wrapped is None or not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


class ContextFilter(logging.Filter):
    """Puts the request's (or task's) fields on every record passing the handler; "-" where unknown, so a
    plain-text format naming them never fails."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current()
        request = ctx.get("request")
        for field in FIELDS:
            if not hasattr(record, field):
                setattr(record, field, ctx.get(field))
        if getattr(record, "user_id", None) is None and request is not None:
            record.user_id = _user_id(request)
        if record.request_id is None:
            record.request_id = "-"
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context's fields that are known."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None and value != "-":
                line[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            line["exception"] = exc_type.__name__
            line["stack"] = "".join(traceback.format_tb(tb))
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Outermost: takes ``X-Request-ID`` (validated) or makes one, answers with it, puts it on every log
    line of the request and ends with one access line (status and duration; no query string).

    The context lasts until the response is closed (``request_finished``), not until this middleware
    returns: Django logs a 4xx or 5xx after the last middleware, and that line belongs to the request too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        ctx = {"request_id": request_id, "method": request.method, "path": request.path, "request": request}
        _context.set(ctx)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        ctx["status"] = response.status_code
        ctx["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        ctx["user_id"] = _user_id(request)
        access_log.info("%s %s %s", request.method, request.path, response.status_code)
        return response


def _request_ended(**kwargs) -> None:
    _context.set(None)  # the worker's thread serves the next request with nothing of this one


request_finished.connect(_request_ended, dispatch_uid="casetrail-logs-request-ended")


# ---- Celery: every line a task logs carries its id (connected in config/celery.py).
_task_tokens: dict[str, contextvars.Token] = {}


def task_started(task_id=None, task=None, **kwargs) -> None:
    """Signal ``task_prerun``: the task's id and name join the context (a request's id stays, for a task
    run in-process by a request)."""
    if task_id is None:
        return
    ctx = {**current(), "task_id": task_id, "task": getattr(task, "name", None)}
    _task_tokens[task_id] = _context.set(ctx)


def task_finished(task_id=None, **kwargs) -> None:
    """Signal ``task_postrun``: back to the context from before the task."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (a thread pool): nothing of ours to undo here
            _context.set(None)


def logging_config(*, log_format: str, level: str) -> dict:
    """settings.LOGGING: the one console handler, JSON or plain text, with the context filter."""
    plain = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "casework.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "casework.logs.JSONFormatter"},
            "text": {"format": plain},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["context"],
                "formatter": "json" if log_format == "json" else "text",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # "Task … succeeded" for every in-process task drowns what matters; failures still show.
        # django-axes logs every sign-in at INFO (each is also in its access log table); failures and
        # lockouts are WARNING and still show. Django's runserver has its own access line.
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "celery.app.trace": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
        },
    }
