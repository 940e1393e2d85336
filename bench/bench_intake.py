"""Intake benchmarks on the real PostgreSQL (its own database ``casetrail_bench``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/casetrail \
        .venv/bin/python bench/bench_intake.py [--size N]

(a) MLLP acceptance: ``mllp_listen`` with 8 concurrent senders, against plain psycopg inserting the
    same raw messages one commit per message over 8 connections (ratio; goal >= 0.5).
(b) Processing stored messages into admission + identity + incident with one worker process
    (msgs/s; goal >= 1000/s).
(c) CSV backfill of N rows (default 1,000,000, arrivals spread over the past 400 days) through the
    upload path (validate once, store the raw file and its validated rows, process) against a
    PostgreSQL COPY of the same rows into the same tables (ratio; goal >= 0.5).
Each figure is printed next to its baseline, measured in the same run.

The baseline of (c) is the cheapest way PostgreSQL can write what the backfill wrote, under the same
rules. After the backfill, its incidents, admissions and identities are read back with COPY (not
timed: every value already converted, the identity tokens already encrypted), the intake tables are
emptied again as they were before the backfill, and the rows are written back by binary COPY into
the real ``casework_incident``, ``referrals_admission`` and ``referrals_patientidentity`` in one
transaction, committed: every index, unique constraint and foreign key in place, the foreign keys
checked at commit as in the backfill's own transaction. Not a rolled-back transaction (its deferred
foreign keys would never be checked) nor a scratch copy (a fresh table's foreign keys and indexes
would have to be made to match by hand); not a bare text table, which no backfill keeping the
design's constraints can approach. A CHECKPOINT before each timed part, so neither pays for the
other's WAL. The file's inbound message (its raw text emptied) is put back untimed first: the
admissions point at it.
"""

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = os.environ.get("BENCH_DB", "casetrail_bench")


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench_intake needs DATABASE_URL pointing at PostgreSQL")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def ensure_database(url: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django(url: str, broker: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: DEBUG off (no query log), real keys. The listener subprocess inherits them,
    # so what it encrypts the processing step can read.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("PSEUDONYM_KEY", secrets.token_urlsafe(32))
    if "IDENTITY_ENCRYPTION_KEY" not in os.environ:
        from cryptography.fernet import Fernet

        os.environ["IDENTITY_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset_intake() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE referrals_identityread, referrals_patientidentity, referrals_referral, "
            "referrals_admission, referrals_inboundmessage RESTART IDENTITY CASCADE"
        )
        cur.execute("TRUNCATE casework_incident CASCADE")  # the bench database holds bench data only


# --------------------------------------------------------------------------- messages

FACILITIES = ["tygerberg", "groote-schuur", "mitchells-plain-dh", "khayelitsha-dh", "karl-bremer", "paarl"]
SUBURBS = ["tafelsig", "delft", "hanover-park", "nyanga", "manenberg", "harare", "bishop-lavis", "philippi"]
TRIAGE = ["RED", "ORANGE", "YELLOW", "GREEN"]
CODES = ["X99.4", "X95.0", "Y00.4", "Y04.0", "X99.0", "X93.4", "Y05.0", "X91.0"]
INJURIES = ["S21.0", "S21.1", "S21.2", "S21.7", "S21.8", "S21.9"]  # WHO S21 has no S21.3–S21.6


def national_id(n: int) -> str:
    """A South African ID number that passes the intake's checks (a date, then the Luhn check digit)."""
    from referrals.parsing.rules import sa_id_check_digit

    return sa_id_check_digit(f"800101{n:06d}")


def dob(rnd: random.Random) -> str:
    return f"19{rnd.randrange(50, 99)}0{rnd.randrange(1, 9)}1{rnd.randrange(0, 9)}"


def messages(n: int, tag: str) -> list[str]:
    from django.utils import timezone

    rnd = random.Random(n)
    base = timezone.now() - timedelta(days=30)
    out = []
    for i in range(n):
        fac = FACILITIES[i % len(FACILITIES)]
        arrival = timezone.localtime(base + timedelta(seconds=37 * i)).strftime("%Y%m%d%H%M%S")
        pv1 = ["PV1", "1", "E", f"EC^^^{fac}"] + [""] * 15 + [f"{tag}V{i:07d}"] + [""] * 24 + [arrival]
        out.append(
            "\r".join(
                [
                    f"MSH|^~\\&|HECTIS|{fac}|CASETRAIL|WCG|{arrival}||ADT^A04^ADT_A01|{tag}{i:07d}|P|2.5",
                    f"EVN|A04|{arrival}",
                    f"PID|1||{i}^^^{fac}^MR~{national_id(rnd.randrange(50000))}^^^ZAF^NI"
                    f"||Surname{i}^Given||{dob(rnd)}|{rnd.choice('FM')}",
                    "|".join(pv1),
                    f"DG1|1||{rnd.choice(INJURIES)}^^I10||{arrival[:8]}|F",
                    f"DG1|2||{rnd.choice(CODES)}^^I10||{arrival[:8]}|F",
                    f"OBX|1|CE|TRIAGE^Triage^CASETRAIL||{rnd.choice(TRIAGE)}||||||F",
                    f"OBX|2|CE|SUBURB^Suburb^CASETRAIL||{rnd.choice(SUBURBS)}||||||F",
                    f"OBX|3|CE|PLACE_TYPE^Place^CASETRAIL||{rnd.choice(['home', 'street', 'tavern'])}||||||F",
                ]
            )
            + "\r"
        )
    return out


# --------------------------------------------------------------------------- (a) acceptance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_senders(port: int, chunks: list[list[str]]) -> float:
    from hl7.client import MLLPClient

    errors = []

    def send(chunk):
        try:
            with MLLPClient("127.0.0.1", port) as client:
                for m in chunk:
                    ack = client.send_message(m)
                    if b"MSA|AA|" not in ack:
                        errors.append(ack[:200])
        except Exception as e:  # report, do not hide
            errors.append(repr(e))

    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        print(f"   {len(errors)} messages not accepted, first: {errors[0]!r}")
    return elapsed


def psycopg_baseline(url: str, chunks: list[list[str]]) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute(
            "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, raw text NOT NULL, received_at timestamptz "
            "NOT NULL DEFAULT now())"
        )

    def insert(chunk):
        with psycopg.connect(url) as conn:
            for m in chunk:
                conn.execute("INSERT INTO bench_raw (raw) VALUES (%s)", [m])
                conn.commit()

    threads = [threading.Thread(target=insert, args=(c,)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def bench_acceptance(url: str, broker: str, n: int, processes: int) -> dict:
    msgs = messages(n, "A")
    chunks = [msgs[i::8] for i in range(8)]
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, CELERY_BROKER_URL=broker, LOG_LEVEL="WARNING")
    # The senders are one registered interface engine on the loopback: plain MLLP, allow-listed for
    # 127.0.0.1 only (the same baseline as before TLS; the TLS handshake is once per connection).
    from casework.models import Facility
    from referrals import services
    from referrals.models import SendingSystem

    if not SendingSystem.objects.filter(name="bench-hub").exists():
        services.sending_system_register(
            name="bench-hub", facilities=Facility.objects.filter(code__in=FACILITIES)
        )
    loopback = ["--plain", "--plain-allow", "127.0.0.1/32", "--plain-sender", "bench-hub"]
    listener = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "mllp_listen",
            "--port",
            str(port),
            "--processes",
            str(processes),
            *loopback,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        warm = messages(80, "W")
        run_senders(port, [warm[i::8] for i in range(8)])  # connections and threads warmed up, not timed
        mllp = run_senders(port, chunks)
    finally:
        listener.terminate()
        listener.wait(timeout=10)
    plain = psycopg_baseline(url, chunks)
    return {
        "n": n,
        "processes": processes,
        "mllp_per_s": n / mllp,
        "psycopg_per_s": n / plain,
        "ratio": plain / mllp,
    }


# --------------------------------------------------------------------------- (b) processing


def bench_processing() -> dict:
    from referrals.intake import process
    from referrals.models import Admission, InboundMessage

    waiting = InboundMessage.objects.filter(status="received")
    n = waiting.count()
    t0 = time.perf_counter()
    while True:
        first = waiting.order_by("id").values_list("id", flat=True).first()
        if first is None:
            break
        process.inbound_process(first)
    elapsed = time.perf_counter() - t0
    done = InboundMessage.objects.filter(status="processed").count()
    return {
        "n": n,
        "processed": done,
        "admissions": Admission.objects.count(),
        "per_s": n / elapsed,
        "seconds": elapsed,
    }


# --------------------------------------------------------------------------- (c) CSV backfill


def csv_rows(n: int) -> str:
    from django.utils import timezone

    from referrals.parsing import CSV_HEADER

    rnd = random.Random(3)
    base = timezone.now() - timedelta(days=400)
    step = timedelta(days=399) / n  # every arrival in the past 400 days, whatever the size
    lines = [",".join(CSV_HEADER)]
    for i in range(n):
        arrival = timezone.localtime(base + step * i).strftime("%Y-%m-%d %H:%M")
        row = dict.fromkeys(CSV_HEADER, "")
        row.update(
            facility=FACILITIES[i % len(FACILITIES)],
            visit_number=f"C{i:08d}",
            arrival_at=arrival,
            icd10_codes=f"S21.1 {rnd.choice(CODES)}",
            patient_id=national_id(rnd.randrange(10**6)),
            patient_id_type="NI",
            sex=rnd.choice("FM"),
            age_years=str(rnd.randrange(5, 80)),
            triage="yellow",
            suburb=rnd.choice(SUBURBS),
            name=f"Person {i}",
        )
        lines.append(",".join(row[c] for c in CSV_HEADER))
    return "\n".join(lines) + "\n"


WRITTEN = {  # what a backfill writes, in the order foreign keys allow, and how to find its rows
    "casework_incident": "id IN (SELECT incident_id FROM referrals_admission WHERE message_id = {m})",
    "referrals_admission": "message_id = {m}",
    "referrals_patientidentity": (
        "admission_id IN (SELECT id FROM referrals_admission WHERE message_id = {m})"
    ),
}


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [c for (c,) in rows]


def _copy_out(conn, query: str) -> bytes:
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as cp:
        return b"".join(bytes(block) for block in cp)


def export_written(url: str, message_id: int) -> dict:
    """The backfill's rows as binary COPY data, {table: (columns, data)}, and its message row."""
    import psycopg

    m = int(message_id)
    out = {}
    with psycopg.connect(url) as conn:
        for table, where in WRITTEN.items():
            cols = _columns(conn, table)
            out[table] = (
                cols,
                _copy_out(conn, f"SELECT {', '.join(cols)} FROM {table} WHERE {where.format(m=m)}"),
            )
        cols = _columns(conn, "referrals_inboundmessage")
        blank = {"raw": "''::text AS raw", "admission_id": "NULL::bigint AS admission_id"}
        select = ", ".join(blank.get(c, c) for c in cols)
        message = (cols, _copy_out(conn, f"SELECT {select} FROM referrals_inboundmessage WHERE id = {m}"))
    return {"rows": out, "message": message}


def _copy_in(cur, table: str, cols: list[str], data: bytes) -> None:
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT binary)") as cp:
        cp.write(data)


def checkpoint(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def copy_baseline(url: str, written: dict) -> dict:
    """COPY the backfill's own rows into the real, emptied tables in one committed transaction."""
    import psycopg

    reset_intake()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        _copy_in(cur, "referrals_inboundmessage", *written["message"])
        conn.commit()
    checkpoint(url)
    seconds = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        for table, (cols, data) in written["rows"].items():
            t = time.perf_counter()
            _copy_in(cur, table, cols, data)
            seconds[table] = time.perf_counter() - t
        t = time.perf_counter()
        conn.commit()  # the deferred foreign keys are checked here, as in the backfill's transaction
        seconds["commit"] = time.perf_counter() - t
        seconds["total"] = time.perf_counter() - t0
    return seconds


class StatementClock:
    """Wall time per kind of SQL statement run through Django (a quick profile of the backfill)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(str(sql).split()[:3])[:40]
            self.seconds[words] = self.seconds.get(words, 0.0) + time.perf_counter() - t

    def top(self, n: int = 6) -> str:
        ranked = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:n]
        return "; ".join(f"{words!r} {sec:.1f} s" for words, sec in ranked)


def bench_csv(url: str, n: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from referrals.intake import process, receive
    from referrals.models import Admission, InboundMessage

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    text = csv_rows(n)
    reset_intake()  # the backfill and its baseline both start from empty intake tables
    checkpoint(url)
    clock = StatementClock()
    with connection.execute_wrapper(clock):
        t0 = time.perf_counter()
        answer = receive.inbound_receive_csv(text=text, actor=admin, filename="bench.csv")
        t_receive = time.perf_counter() - t0
        process.inbound_process(answer.message.pk)
        ours = time.perf_counter() - t0
    msg = InboundMessage.objects.get(pk=answer.message.pk)
    stored = Admission.objects.filter(message=msg).count()
    written = export_written(url, msg.pk)
    copy = copy_baseline(url, written)
    return {
        "n": n,
        "accepted": answer.extra["report"]["accepted"],
        "stored": stored,
        "copied": Admission.objects.filter(message_id=msg.pk).count(),
        "status": msg.status,
        "ours_s": ours,
        "receive_s": t_receive,
        "sql": clock,
        "copy": copy,
        "copy_s": copy["total"],
        "ours_per_s": n / ours,
        "copy_per_s": n / copy["total"],
        "ratio": copy["total"] / ours,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000, help="CSV rows for (c) (default 1,000,000)")
    parser.add_argument("--messages", type=int, default=16000, help="HL7 messages for (a) and (b)")
    parser.add_argument(
        "--listeners",
        type=int,
        default=1,
        help="mllp_listen --processes (PostgreSQL shares this 2-core machine)",
    )
    parser.add_argument(
        "--broker",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        help="a Redis the listener queues to (nobody consumes; flushed after)",
    )
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run (default abc)")
    args = parser.parse_args()
    url = bench_database_url()
    ensure_database(url)
    setup_django(url, args.broker)
    import redis

    redis.Redis.from_url(args.broker).flushdb()
    reset_intake()
    print(f"Intake benchmarks on {urlsplit(url).hostname}/{BENCH_DB}, {os.cpu_count()} cores")

    if "a" in args.parts:
        a = bench_acceptance(url, args.broker, args.messages, args.listeners)
        print(
            f"(a) MLLP acceptance ({a['processes']} listener processes), 8 senders, {a['n']} msgs: "
            f"{a['mllp_per_s']:,.0f} msg/s; "
            f"plain psycopg insert+commit over 8 connections: {a['psycopg_per_s']:,.0f} msg/s; "
            f"ratio {a['ratio']:.2f} (goal >= 0.5)"
        )
        redis.Redis.from_url(args.broker).flushdb()

    if "b" in args.parts:
        b = bench_processing()
        print(
            f"(b) processing with one worker: {b['n']} stored -> {b['admissions']} admissions "
            f"in {b['seconds']:.1f} s: {b['per_s']:,.0f} msg/s (goal >= 1000/s)"
        )

    if "c" in args.parts:
        c = bench_csv(url, args.size)
        copy = c["copy"]
        print(
            f"(c) CSV backfill of {c['n']:,} rows: {c['stored']:,} admissions stored ({c['status']}) "
            f"in {c['ours_s']:.1f} s "
            f"({c['ours_per_s']:,.0f} rows/s; "
            f"upload: validate, store raw + staged rows {c['receive_s']:.1f} s); "
            f"COPY of the same rows into the same tables ({c['copied']:,} admissions, their identities and "
            f"incidents) {c['copy_s']:.1f} s ({c['copy_per_s']:,.0f} rows/s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in copy.items() if k != "total")
            + f"); ratio {c['ratio']:.2f} (goal >= 0.5)"
        )
        print(f"    backfill SQL through Django, by statement: {c['sql'].top()}")
    redis.Redis.from_url(args.broker).flushdb()


if __name__ == "__main__":
    main()
