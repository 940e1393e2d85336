"""Operations (docs/operations.md): task queues, liveness and readiness, and the supervision we ship."""

import configparser
import os
import shlex
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from casework import health, permissions
from config.celery import app
from referrals import tasks as intake_tasks
from referrals.models import InboundMessage
from reporting import tasks as reporting_tasks

from .referrals.helpers import adt

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")

ROUTES = [
    ("referrals.tasks.process_inbound", "intake"),
    ("referrals.tasks.sweep_inbound", "intake"),
    ("referrals.tasks.purge_identities", "intake"),
    ("reporting.tasks.refresh_rollups", "reporting"),
    ("reporting.tasks.refresh_funnel", "reporting"),
    ("reporting.tasks.refresh_outcomes", "reporting"),
    ("reporting.tasks.refresh_prosecution_facts", "reporting"),
    ("reporting.tasks.rebuild_prosecution_facts", "reporting"),
    ("reporting.tasks.sweep_rollups", "reporting"),
    ("reporting.tasks.send_scheduled_reports", "default"),
    ("courtwatch.tasks.send_hearing_reminders", "default"),
    ("courtwatch.tasks.send_stale_brief_digest", "default"),
    ("courtwatch.tasks.send_overdue_review_notices", "default"),
]


# ------------------------------------------------------------------ queues


@pytest.mark.parametrize(("task", "queue"), ROUTES)
def test_each_task_is_routed_to_its_queue(task, queue):
    assert task in app.tasks
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_periodic_job_has_a_queue_some_worker_of_the_procfile_consumes():
    consumed = {q for line in _procfile().values() for q in _option(line, "--queues").split(",") if q}
    for job in settings.CELERY_BEAT_SCHEDULE.values():
        assert app.amqp.router.route({}, job["task"])["queue"].name in consumed


@pytest.fixture
def broker():
    """The app pointed at the real Redis (TEST_REDIS_URL) instead of running tasks in-process."""
    import redis

    conf = app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = REDIS_URL, False
    app._after_fork()  # connection pools made for the old URL
    health.forget_workers()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    conf.broker_url, conf.task_always_eager = saved
    app._after_fork()
    health.forget_workers()


@pytest.mark.redis
def test_a_task_sent_to_the_real_broker_waits_on_its_own_queue(broker):
    intake_tasks.process_inbound.apply_async((1,))
    reporting_tasks.refresh_rollups.apply_async((["2026-01-01"],))
    reporting_tasks.send_scheduled_reports.apply_async()
    assert [broker.llen(q) for q in ("intake", "reporting", "default", "celery")] == [1, 1, 1, 0]


def test_in_process_tasks_still_run_at_once_whatever_their_queue(db):
    assert app.conf.task_always_eager
    assert intake_tasks.sweep_inbound.apply_async().successful()


# ------------------------------------------------------------------ liveness


def test_health_answers_200_without_touching_the_database(client):
    # No db fixture: pytest-django raises at the first query or connection this request would make.
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_200_and_ready_503_naming_the_database_when_the_database_is_unreachable():
    """A real process whose DATABASE_URL names a port nobody listens on."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "print(c.get('/health/').status_code)\n"
        "r = c.get('/ready/'); print(r.status_code, ','.join(r.json()['failing']))\n"
    )
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:9/casetrail", "DEBUG": "true"}
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split("\n")[:2] == ["200", "503 database,intake_backlog"], result.stderr


# ------------------------------------------------------------------ readiness


def _ready(client):
    response = client.get("/ready/")
    return response.status_code, response.json()


@pytest.mark.postgres
def test_without_a_broker_ready_asks_only_the_database_and_the_intake_backlog(client, db):
    status, body = _ready(client)
    assert status == 200
    assert body["failing"] == []
    assert body["checks"]["broker"] == {"ok": True, "configured": False}
    assert body["checks"]["intake_worker"] == {"ok": True, "configured": False}


@pytest.mark.postgres
def test_an_intake_message_waiting_past_the_limit_makes_ready_503_with_its_age_only(client, db, settings):
    settings.READY_INTAKE_MAX_AGE_SECONDS = 300
    message = InboundMessage.objects.create(channel="hl7_mllp", sender="x", control_id="OLD1", raw=adt())
    assert _ready(client)[0] == 200
    InboundMessage.objects.filter(pk=message.pk).update(received_at=timezone.now() - timedelta(seconds=400))
    status, body = _ready(client)
    assert status == 503
    assert body["failing"] == ["intake_backlog"]
    assert body["checks"]["intake_backlog"] == {"ok": False, "oldest_seconds": 400, "limit_seconds": 300}
    InboundMessage.objects.filter(pk=message.pk).update(status="processed")
    assert _ready(client)[0] == 200  # a finished message, however old, is not a backlog


def _worker(settings, queues):
    """A real worker thread on these queues (NOTES.md). Pytest runs with DEBUG off, and a worker outside
    DEBUG refuses the development keys; this one is development, as make worker is."""
    settings.DEBUG = True
    return start_worker(app, queues=queues, perform_ping_check=False, shutdown_timeout=20)


def _wait_for_ready(client, want: int, seconds: float = 8.0):
    deadline = time.monotonic() + seconds
    while True:
        health.forget_workers()
        status, body = _ready(client)
        if status == want or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ready_is_200_with_a_real_worker_consuming_intake(client, broker, settings):
    with _worker(settings, ["intake"]):
        status, body = _wait_for_ready(client, 200)
    assert status == 200, body
    assert body["checks"]["broker"] == {"ok": True, "configured": True}
    assert body["checks"]["intake_worker"] == {"ok": True, "queue": "intake"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ready_is_503_naming_the_intake_worker_when_no_worker_consumes_intake(client, broker, settings):
    status, body = _ready(client)
    assert status == 503
    assert body["failing"] == ["intake_worker"]
    with _worker(settings, ["reporting", "default"]):
        time.sleep(0.5)
        health.forget_workers()
        status, body = _ready(client)
    assert status == 503
    assert body["failing"] == ["intake_worker"]


@pytest.mark.postgres
def test_a_broker_that_does_not_answer_makes_ready_503_naming_it(client, db):
    conf = app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = "redis://127.0.0.1:9/0", False
    app._after_fork()
    health.forget_workers()
    try:
        status, body = _ready(client)
    finally:
        conf.broker_url, conf.task_always_eager = saved
        app._after_fork()
        health.forget_workers()
    assert status == 503
    assert body["failing"] == ["broker", "intake_worker"]
    assert body["checks"]["intake_worker"] == {"ok": False, "error": "broker"}


def test_the_probes_pass_no_sign_in_no_throttle_and_no_https_redirect(db, settings, make_user):
    """A load balancer on another host, over plain HTTP, every second; and a browser mid-sign-in."""
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "address": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    settings.SECURE_SSL_REDIRECT = True
    balancer = Client(REMOTE_ADDR="10.0.0.9")
    for _ in range(5):
        assert balancer.get("/health/").status_code == 200
        assert balancer.get("/ready/").status_code == 200
    assert balancer.get("/accounts/login/").status_code == 301  # every other page: to HTTPS
    settings.SECURE_SSL_REDIRECT = False
    browser = Client()  # signed in with a password, the second factor not yet given
    browser.force_login(make_user(permissions.ADMIN))
    assert browser.get("/").status_code == 302
    assert browser.get("/health/").status_code == 200
    assert browser.get("/ready/").status_code == 200
    cache.clear()


# ------------------------------------------------------------------ supervision we ship


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _option(command: str, name: str) -> str:
    words = shlex.split(command)
    return words[words.index(name) + 1] if name in words else ""


def test_the_procfile_runs_a_worker_for_intake_and_one_for_reporting_and_default():
    queues = sorted(_option(line, "--queues") for line in _procfile().values() if " worker " in line)
    assert queues == ["intake", "reporting,default"]


UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def _process(unit: Path) -> str:
    return unit.stem.removeprefix("casetrail-")


def test_a_systemd_unit_is_shipped_for_every_process_of_the_procfile():
    assert {_process(u) for u in UNITS} == set(_procfile())


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_systemd_unit_restarts_always_and_runs_a_command_that_exists(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    service = parser["Service"]
    assert service["Restart"] == "always"
    workdir = Path(service["WorkingDirectory"])
    argv = shlex.split(service["ExecStart"])
    # The units name the checkout as /srv/casetrail; here the checkout is this one.
    program = ROOT / Path(argv[0]).relative_to(workdir)
    assert program.name in {"gunicorn", "celery", "python"}
    assert (ROOT / ".venv" / "bin" / program.name).exists()
    if program.name == "python":
        command = argv[argv.index("manage.py") + 1]
        assert (ROOT / "referrals" / "management" / "commands" / f"{command}.py").exists()
    if program.name == "celery":
        assert argv[1:3] == ["-A", "config"]
        assert argv[3] in {"worker", "beat"}
        # the same queues as the Procfile's process of that name
        assert _option(service["ExecStart"], "--queues") == _option(_procfile()[_process(unit)], "--queues")
