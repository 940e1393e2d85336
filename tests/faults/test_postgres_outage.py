"""PostgreSQL restarted (``pg_ctl restart -m immediate``) and then stopped for ten seconds under the
listener, on a cluster this test starts itself, while six senders send.

While the database is away a sender gets AR 207 (resend later) or no answer, never AA; the listener
comes back by itself, without a restart, and to its full rate (issue 11, finding 5f: it used to lose
its group-commit writers for good and fall from ~1,600 to ~600 messages/s). Every acknowledged
message is stored exactly once and processed exactly once by a worker on the same cluster.
"""

import threading
import time

import psycopg
import pytest

from casework.models import Facility
from referrals import services
from tests.referrals.test_live_pipeline import FACILITIES, child_env

from .conftest import REDIS_URL, flush_broker
from .harness import (
    SENDER,
    OwnPostgres,
    Procs,
    Tally,
    beat,
    endless,
    figures,
    join,
    ledger,
    send_together,
    stored_controls,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SENDERS, MEASURE_SECONDS, STOP_SECONDS, SLOW = 6, 2.5, 10.0, 0.1


@pytest.fixture
def cluster(transactional_db, tmp_path):
    """Our own PostgreSQL: a copy of the migrated test database with the hub registered; (it, procs)."""
    pg = OwnPostgres()
    flush_broker()
    procs = None
    try:
        services.sending_system_register(name=SENDER, facilities=Facility.objects.filter(code__in=FACILITIES))
        pg.init(copy_of=child_env()["DATABASE_URL"])
        env = {**child_env(), "DATABASE_URL": pg.url, "CONN_MAX_AGE": "60"}
        procs = Procs(tmp_path, env)
        yield pg, procs
    finally:
        if procs is not None:
            procs.stop_all()
            print(procs.log("listener")[-3000:])
        pg.destroy()
        flush_broker()


def rate(tally: Tally) -> float:
    """AA per second of senders at full speed: the better of two windows of ``MEASURE_SECONDS``
    (the machine is shared; a moment of someone else's load must not pass for the listener's)."""
    tally.pause = 0.0
    time.sleep(1.0)
    rates = []
    for _ in range(2):
        start = time.monotonic()
        time.sleep(MEASURE_SECONDS)
        rates.append(tally.acks_between(start, time.monotonic(), codes=("AA",)) / MEASURE_SECONDS)
    tally.pause = SLOW  # between measurements: a few messages a second per sender
    return max(rates)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgresql_restarted_and_stopped_the_listener_refuses_then_recovers_to_its_full_rate(cluster):
    pg, procs = cluster
    procs.listener()
    tally, stop = Tally(), threading.Event()
    senders = send_together(procs.port, [endless(f"PG{i}") for i in range(SENDERS)], tally, stop)
    before = rate(tally)

    # 1. An immediate restart (a crash and recovery): refusals for as long as it takes.
    crashed = time.monotonic()
    pg.pg_ctl("restart", "-m", "immediate")
    back = time.monotonic()
    assert wait_for(lambda: tally.first_ack_after(back) is not None, timeout=30)
    after_restart = tally.first_ack_after(back) - back

    # 2. Stopped for ten seconds: no AA while it is down, then back by itself.
    time.sleep(2)
    pg.pg_ctl("stop", "-m", "fast")
    down = time.monotonic()
    refused_before = tally.refused
    time.sleep(STOP_SECONDS)
    aa_while_down = tally.acks_between(down, time.monotonic(), codes=("AA", "AE"))
    refused_while_down = tally.refused - refused_before
    pg.pg_ctl("start")
    up = time.monotonic()
    assert wait_for(lambda: tally.first_ack_after(up) is not None, timeout=60)
    after_stop = tally.first_ack_after(up) - up
    time.sleep(2)  # the writers reconnect within a second of the database (backoff up to 1 s)
    after = rate(tally)
    stop.set()
    join(senders, timeout=60)

    env = procs.env
    with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
        cur = conn.cursor()
        counts = ledger(cur, "PG")
        lost = set(tally.acked) - stored_controls(cur, "PG")
        # Processing: a worker on the same cluster, kicked by the listener and the sweep.
        procs.worker("faults-pg")
        began = time.monotonic()
        done = wait_for(
            lambda: ledger(cur, "PG")["processed"] == counts["stored"], timeout=120, tick=beat(REDIS_URL)
        )
        processing_s = time.monotonic() - began
        final = ledger(cur, "PG")
    figures(
        "PostgreSQL restart + 10 s stop",
        sent=tally.sent, acknowledged=len(tally.acked), stored=counts["stored"], processed=final["processed"],
        duplicated=counts["duplicated"], lost=len(lost), faults=2, AR_207_while_down=refused_while_down,
        AA_while_down=aa_while_down, recovery_after_restart_s=f"{after_restart:.2f}",
        recovery_after_stop_s=f"{after_stop:.2f}", rate_before_per_s=f"{before:.0f}",
        rate_after_per_s=f"{after:.0f}", processing_s=f"{processing_s:.0f}",
        restart_s=f"{back - crashed:.1f}",
    )  # fmt: skip
    assert aa_while_down == 0
    assert refused_while_down > 0
    assert lost == set() and counts["duplicated"] == 0
    assert counts["stored"] == len(tally.acked)
    assert after_restart < 5 and after_stop < 5
    assert after >= 0.7 * before, (before, after)
    assert "a writer reconnected (2 of 2)" in procs.log("listener")  # its group commit whole again
    assert not any(s.gave_up for s in senders)
    assert done, final
    assert final["processed"] == final["admissions"] == counts["stored"]
    assert final["failed"] == 0 and final["admitted_twice"] == 0
