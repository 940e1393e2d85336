"""The real thing: ``mllp_listen`` as a subprocess, Celery workers over Redis, PostgreSQL.

1,000 messages from several concurrent senders, with duplicates, malformed and non-assault
visits mixed in: every message answered, each good one stored exactly once, each bad one
rejected with a reason; a worker killed mid-batch loses nothing (the sweeper re-kicks).
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from hl7.client import MLLPClient

from casework.models import Facility
from referrals import services, tasks
from referrals.models import Admission, InboundMessage, SendingSystem
from referrals.parsing.rules import sa_id_check_digit

from .helpers import adt, msa

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
FACILITIES = ["tygerberg", "groote-schuur", "mitchells-plain-dh", "khayelitsha-dh", "karl-bremer"]
SUBURBS = ["tafelsig", "delft", "hanover-park", "nyanga", "manenberg", "harare"]
CODES = ["X99.4", "X95.0", "Y00.4", "Y04.0", "X99.0", "X93.4"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    env["CELERY_BROKER_URL"] = REDIS_URL
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return env


class Services:
    """Start and stop the listener and workers this test owns (by pid, nothing else)."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.port = free_port()

    def listener(self):
        # The hospitals' interface engine, registered for every facility it sends for, on the loopback:
        # plain MLLP allow-listed for 127.0.0.1 (the TLS listener is tested in tests/security).
        if not SendingSystem.objects.filter(name="hub").exists():
            services.sending_system_register(
                name="hub", facilities=Facility.objects.filter(code__in=FACILITIES)
            )
        argv = [sys.executable, "manage.py", "mllp_listen", "--host", "127.0.0.1", "--port", str(self.port)]
        p = subprocess.Popen(
            [*argv, "--plain", "--plain-allow", "127.0.0.1/32", "--plain-sender", "hub"],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(p)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return p
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mllp_listen did not start")

    def worker(self, name: str):
        celery = str(Path(sys.executable).with_name("celery"))
        p = subprocess.Popen(
            [
                celery,
                "-A",
                "config",
                "worker",
                "-P",
                "threads",
                "-c",
                "4",
                "-n",
                f"{name}@%h",
                "-l",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(p)
        return p

    def kill(self, p, sig=signal.SIGKILL):
        if p.poll() is None:
            p.send_signal(sig)
        p.wait(timeout=20)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def live(transactional_db):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    svc = Services()
    yield svc
    svc.stop_all()
    redis.Redis.from_url(REDIS_URL).flushdb()


def send_all(port: int, messages: list[str]) -> list[str]:
    answers = []
    with MLLPClient("127.0.0.1", port) as client:
        for m in messages:
            answers.append(client.send_message(m).decode() if isinstance(m, str) else client.send_message(m))
    return answers


def unfinished() -> int:
    return InboundMessage.objects.filter(status__in=InboundMessage.UNFINISHED).count()


def wait_until_done(timeout: float, sweep_every: float = 2.0) -> None:
    """Poll; run the sweeper like beat would (with a short 'stuck' threshold for the test)."""
    deadline = time.monotonic() + timeout
    next_sweep = time.monotonic() + sweep_every
    while unfinished() and time.monotonic() < deadline:
        time.sleep(0.25)
        if time.monotonic() >= next_sweep:
            tasks.sweep_inbound(older_than_seconds=3)
            next_sweep = time.monotonic() + sweep_every


def build_batch(n_total=1000, senders=8, seed=7):
    """(per-sender message lists, expected good control ids, bad control ids, filtered control ids)."""
    rnd = random.Random(seed)
    base = timezone.now() - timedelta(days=10)
    good, bad, filtered, plain = {}, {}, {}, []
    n = 0
    while len(plain) < n_total - 60:
        n += 1
        fac = FACILITIES[n % len(FACILITIES)]
        control = f"LIVE{n:05d}"
        kind = rnd.random()
        arrival = base + timedelta(minutes=7 * n)
        kwargs = dict(
            facility=fac,
            control=control,
            visit=f"V{n:05d}",
            arrival=arrival,
            patient_id=sa_id_check_digit(f"800101{rnd.randrange(600):06d}"),
            folder=str(n),
            codes=["S21.1", rnd.choice(CODES)],
            obx={"TRIAGE": "YELLOW", "SUBURB": rnd.choice(SUBURBS), "ROLE": "victim"},
        )
        if kind < 0.015:
            msg, bad[control] = adt(**{**kwargs, "visit": ""}), "AE"
        elif kind < 0.025:
            msg, bad[control] = adt(**{**kwargs, "facility": "no-such-hospital"}), "AR"
        elif kind < 0.045:
            msg, filtered[control] = adt(**{**kwargs, "codes": ["S06.0"]}), "AA"
        else:
            msg = adt(**kwargs)
            good[(fac, control)] = msg
        plain.append((control, msg))
    # 50 duplicates of good messages, resent by other senders, and 10 unreadable ones.
    dupes = rnd.sample(sorted(good.items()), 50)
    plain += [(key[1], msg) for key, msg in dupes]
    plain += [(f"GARBAGE{i}", "this is not an HL7 message at all") for i in range(10)]
    rnd.shuffle(plain)
    lists = [plain[i::senders] for i in range(senders)]
    return lists, good, bad, filtered


def test_a_thousand_messages_from_eight_senders_are_each_answered_and_stored_once_despite_a_killed_worker(
    live,
):
    lists, good, bad, filtered = build_batch()
    assert sum(len(x) for x in lists) == 1000
    live.listener()
    answers: dict[int, list[str]] = {}

    def sender(i):
        answers[i] = send_all(live.port, [m for _c, m in lists[i]])

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(len(lists))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    # Every message answered, with the right code and its own control id.
    for i, sent in enumerate(lists):
        assert len(answers[i]) == len(sent)
        for (control, _m), ack in zip(sent, answers[i], strict=True):
            fields = msa(ack)
            if control.startswith("GARBAGE"):
                assert fields[1] == "AR"
            else:
                assert fields[2] == control
                assert fields[1] == bad.get(control, "AA"), (control, ack)
    # Stored before answered: every good message is already in the inbox, once.
    assert InboundMessage.objects.exclude(status__in=["rejected", "filtered"]).count() == len(good)

    # Now the workers: kill the first one mid-batch, start another, let the sweeper re-kick.
    first = live.worker("first")
    deadline = time.monotonic() + 60
    while Admission.objects.count() < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    live.kill(first)
    killed_with_unfinished = unfinished()
    assert killed_with_unfinished > 0, "the worker finished before it could be killed"
    live.worker("second")
    wait_until_done(timeout=120)

    assert unfinished() == 0
    stored = InboundMessage.objects.exclude(status__in=["rejected", "filtered"])
    assert stored.count() == len(good)
    assert set(stored.values_list("status", flat=True)) == {"processed"}
    assert Admission.objects.count() == len(good)
    assert set(Admission.objects.values_list("facility__code", "visit_number")) == {
        (fac, "V" + control[4:]) for fac, control in good
    }
    rejected = InboundMessage.objects.filter(status="rejected")
    assert rejected.count() == len(bad) + 10
    assert all(r.reason for r in rejected)
    assert InboundMessage.objects.filter(status="filtered").count() == len(filtered)
    assert InboundMessage.objects.filter(duplicates_seen__gt=0).count() == 50


def test_a_new_admission_is_in_the_admissions_api_within_ten_seconds_of_its_ack(live, api, admin_user):
    live.listener()
    live.worker("quick")
    time.sleep(1.0)  # let the worker connect to the broker before the clock starts
    with MLLPClient("127.0.0.1", live.port) as client:
        ack = client.send_message(adt(control="FAST1", visit="FAST-1"))
    acked = time.monotonic()
    assert msa(ack.decode() if isinstance(ack, bytes) else ack)[1] == "AA"
    client = api(admin_user)
    while time.monotonic() - acked < 10:
        results = client.get("/api/v1/admissions/?facility=tygerberg").json()["results"]
        if any(r["visit_number"] == "FAST-1" for r in results):
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - acked
    assert elapsed < 10, f"not visible {elapsed:.1f} s after the ACK"
