"""What the fault tests share: senders that resend what got no answer, the figures each test prints,
and the processes it owns (listener, workers, a PostgreSQL and a Redis of its own), stopped by pid.

Builds on tests/referrals/test_live_pipeline.py (its ``Services``, ``free_port``, ``child_env``) and
the HL7 builder of tests/referrals/helpers.py.
"""

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from celery import Celery
from django.utils import timezone

from tests.referrals.helpers import adt
from tests.referrals.test_live_pipeline import FACILITIES, ROOT, Services, child_env, free_port

SB, END = b"\x0b", b"\x1c\x0d"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SENDER = "hub"  # the registered sending system every plain connection of these tests is


def message(n: int, prefix: str) -> tuple[str, str]:
    """(control id, an A04 with an assault code): a new visit per message, so each one is one admission."""
    control = f"{prefix}{n:06d}"
    arrival = timezone.now() - timedelta(hours=2, minutes=n % 600)
    raw = adt(
        facility=FACILITIES[n % len(FACILITIES)],
        control=control,
        visit=control,
        arrival=arrival,
        patient_id="",  # the folder number identifies the patient
        folder=str(n),
        codes=("S21.1", "X99.4"),
        obx={"TRIAGE": "YELLOW", "ROLE": "victim"},
    )
    return control, raw


# ------------------------------------------------------------------------------------------ senders


@dataclass
class Tally:
    """What the senders saw, all threads together (a lock around every change)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0  # frames written, resends included
    acked: dict = field(default_factory=dict)  # control id -> "AA"/"AE" (the first such answer)
    answers: list = field(default_factory=list)  # (monotonic time, control id, MSA-1) of every answer
    no_answer: int = 0  # a frame the connection dropped or timed out on
    refused: int = 0  # AR 207: resend later
    pause: float = 0.0  # each sender's pause between messages (0: as fast as answers come)

    def note(self, control: str, code: str) -> None:
        with self.lock:
            self.answers.append((time.monotonic(), control, code))
            if code in ("AA", "AE"):
                self.acked.setdefault(control, code)
            else:
                self.refused += 1

    def acks_between(self, start: float, end: float, codes=("AA", "AE")) -> int:
        with self.lock:
            return sum(1 for t, _c, code in self.answers if start <= t < end and code in codes)

    def first_ack_after(self, start: float) -> float | None:
        with self.lock:
            return min((t for t, _c, code in self.answers if t >= start and code == "AA"), default=None)


def read_answer(sock: socket.socket) -> str | None:
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data.split(END, 1)[0].lstrip(SB).decode()


class Sender(threading.Thread):
    """One connection at a time, one message at a time, as an interface engine sends: a message that
    got no answer (connection lost, timed out) or AR 207 is sent again until it gets AA or AE.
    ``messages``: an iterable of (control id, raw); stops early when ``stop`` is set."""

    def __init__(self, port: int, messages, tally: Tally, stop: threading.Event, *, timeout=5.0):
        super().__init__(daemon=True)
        self.port, self.messages, self.tally, self.stop_event = port, messages, tally, stop
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.gave_up: list[str] = []

    def run(self) -> None:
        for control, raw in self.messages:
            if self.stop_event.is_set():
                break
            if not self._deliver(control, raw):
                self.gave_up.append(control)
            if self.tally.pause:
                time.sleep(self.tally.pause)
        self._close()

    def _deliver(self, control: str, raw: str) -> bool:
        deadline = time.monotonic() + 90  # a sender gives up only long after every fault is over
        payload = SB + raw.encode() + END
        while time.monotonic() < deadline:
            answer = self._exchange(payload)
            if answer is None:
                time.sleep(0.05)
                continue
            code = answer.split("MSA|", 1)[1].split("|", 1)[0] if "MSA|" in answer else "?"
            self.tally.note(control, code)
            if code in ("AA", "AE"):
                return True
            time.sleep(0.05)  # AR 207: resend later
        return False

    def _exchange(self, payload: bytes) -> str | None:
        try:
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            with self.tally.lock:
                self.tally.sent += 1
            self.sock.sendall(payload)
            answer = read_answer(self.sock)
        except OSError:
            answer = None
        if answer is None:
            with self.tally.lock:
                self.tally.no_answer += 1
            self._close()
        return answer

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def endless(prefix: str, start: int = 0):
    n = start
    while True:
        n += 1
        yield message(n, prefix)


def send_together(port: int, lists: list, tally: Tally, stop: threading.Event | None = None) -> list[Sender]:
    stop = stop or threading.Event()
    senders = [Sender(port, messages, tally, stop) for messages in lists]
    for s in senders:
        s.start()
    return senders


def join(senders: list[Sender], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for s in senders:
        s.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(s.is_alive() for s in senders), "a sender is still sending"


# ------------------------------------------------------------------------------------------ figures


def figures(name: str, **values) -> str:
    """One line of figures, printed (``-s`` or the captured output shows it) and returned."""
    line = f"FAULTS {name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items())
    print(line, file=sys.stderr)
    return line


# ------------------------------------------------------------------------------------------ processes


class Procs(Services):
    """The listener and workers of one test, on ``env`` (default: the test database and TEST_REDIS_URL),
    their output in ``logs``; a worker can be supervised (restarted when it exits, as systemd's
    ``Restart=always`` does for casetrail-intake.service)."""

    def __init__(self, logs: Path, env: dict | None = None):
        super().__init__()
        self.env = env or child_env()
        self.logs = logs
        self.restarts = 0
        self.supervising = threading.Event()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("ab") as out:
            p = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        self.procs.append(p)
        return p

    def listener(self, *options) -> subprocess.Popen:
        argv = [sys.executable, "manage.py", "mllp_listen", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--plain", "--plain-allow", "127.0.0.1/32", "--plain-sender", SENDER, *options]
        p = self._spawn("listener", argv)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"mllp_listen exited: {self.log('listener')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return p
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mllp_listen did not start")

    def worker(self, name: str) -> subprocess.Popen:
        celery = str(Path(sys.executable).with_name("celery"))
        argv = [celery, "-A", "config", "worker", "-P", "threads", "-c", "4", "-n", f"{name}@%h"]
        argv += ["-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        return self._spawn("worker", argv)

    def supervised_worker(self, name: str) -> threading.Thread:
        """A worker restarted a second after it exits, until ``stop_all`` (the supervisor's job)."""
        self.supervising.set()

        def supervise():
            while self.supervising.is_set():
                p = self.worker(name)
                while p.poll() is None and self.supervising.is_set():
                    time.sleep(0.2)
                if self.supervising.is_set():
                    self.restarts += 1
                    time.sleep(1.0)

        t = threading.Thread(target=supervise, daemon=True)
        t.start()
        return t

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        self.supervising.clear()
        time.sleep(0.3)
        super().stop_all()


def beat(broker_url: str):
    """Stand-in for celery beat's 30-second sweep, sent through the broker to the worker (a short
    'stuck' threshold for the test): returns ``sweep()``, which says whether the broker took it."""
    app = Celery(broker=broker_url, set_as_current=False)  # the project's app stays current for later tests
    app.conf.broker_connection_retry_on_startup = False

    def sweep() -> bool:
        try:
            app.send_task(
                "referrals.tasks.sweep_inbound",
                kwargs={"older_than_seconds": 3},
                queue="intake",
                retry=False,
            )
            return True
        except Exception:  # the broker is away: beat logs it and tries again at the next tick
            return False

    return sweep


def wait_for(check, timeout: float, every: float = 0.25, tick=None, tick_every: float = 2.0) -> bool:
    """Poll ``check`` until true or ``timeout``; run ``tick`` (the sweep) every ``tick_every`` s."""
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic() + tick_every
    while time.monotonic() < deadline:
        if check():
            return True
        if tick is not None and time.monotonic() >= next_tick:
            tick()
            next_tick = time.monotonic() + tick_every
        time.sleep(every)
    return check()


# ------------------------------------------------------------------------------------------ own servers


class OwnRedis:
    """A redis-server of the test's own on a free port (no persistence), stopped and started at will."""

    def __init__(self, workdir: Path):
        self.port, self.dir = free_port(), workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.dir)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # as a crash: nothing flushed (it holds nothing on disk)
            self.proc.wait(timeout=10)


class OwnPostgres:
    """A PostgreSQL 15 cluster of the test's own (initdb in a temporary directory owned by postgres,
    trust on the loopback, a free port), driven by pg_ctl as the postgres user."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="casetrail-faults-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/casetrail_faults_pg"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60",
            "-l", str(self.dir / "server.log"), "-o", options, *extra,
        )  # fmt: skip

    def init(self, copy_of: str) -> None:
        """initdb, start, and a copy of the database ``copy_of`` (a URL: pytest's migrated test
        database with its reference data; ``pg_dump | psql`` takes seconds where ``migrate`` of
        every app took 45 s on the shared 2-core machine)."""
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")
        self.pg_ctl("start")
        here = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._as_postgres(str(PG_BIN / "createdb"), *here, "casetrail_faults_pg")
        dump = subprocess.Popen(["pg_dump", "--no-owner", "--no-privileges", copy_of], stdout=subprocess.PIPE)
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", *here, "-d", "casetrail_faults_pg"],
            stdin=dump.stdout, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        assert dump.wait(timeout=60) == 0

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(
                str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def manage(env: dict, *argv: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def ledger(cursor, prefix: str) -> dict:
    """What the database holds of the messages whose control id starts with ``prefix`` (each message is
    its own visit, named by its control id): rows stored, processed, failed, extra rows per control id,
    copies answered as duplicates, admissions and visits with more than one admission."""
    from referrals.models import Admission, InboundMessage

    inbound, admission = InboundMessage._meta.db_table, Admission._meta.db_table
    cursor.execute(
        f"""SELECT count(*) FILTER (WHERE status <> 'rejected'),
                   count(*) FILTER (WHERE status = 'processed'),
                   count(*) FILTER (WHERE status = 'failed'),
                   count(*) FILTER (WHERE status IN ('received', 'processing')),
                   count(*) - count(DISTINCT control_id),
                   coalesce(sum(duplicates_seen), 0)
            FROM {inbound} WHERE control_id LIKE %s""",
        [prefix + "%"],
    )
    stored, processed, failed, unfinished, extra, copies = cursor.fetchone()
    cursor.execute(
        f"SELECT count(*), count(*) - count(DISTINCT (facility_id, visit_number)) FROM {admission} "
        "WHERE visit_number LIKE %s",
        [prefix + "%"],
    )
    admissions, twice = cursor.fetchone()
    return dict(
        stored=stored, processed=processed, failed=failed, unfinished=unfinished, duplicated=extra,
        resent_copies=int(copies), admissions=admissions, admitted_twice=twice,
    )  # fmt: skip


def stored_controls(cursor, prefix: str) -> set[str]:
    from referrals.models import InboundMessage

    cursor.execute(
        f"SELECT control_id FROM {InboundMessage._meta.db_table} "
        "WHERE control_id LIKE %s AND status <> 'rejected'",
        [prefix + "%"],
    )
    return {row[0] for row in cursor.fetchall()}
