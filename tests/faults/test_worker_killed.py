"""The Celery worker killed with SIGKILL five times while it processes a batch of 1,000 acknowledged
messages, each time in the middle of a claim (issue 11, finding 5a: kills used to count as attempts and
dead-letter 200 healthy messages). A new worker is started after each kill, as the supervisor does,
and the sweep (beat's job, sent through the broker) puts the abandoned claims back.

No healthy message becomes a dead letter; each is processed exactly once (one admission per visit).
"""

import signal
import threading
import time

import pytest
from django.db import connection

from referrals.intake import process

from .conftest import REDIS_URL
from .harness import Tally, beat, figures, join, ledger, message, send_together, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SENDERS, EACH, KILLS = 5, 200, 5
BATCH = 100  # claimed at least this many: a batch (a task claims its message, then up to 199 more)


def claimed_since(cur, since) -> int:
    """Messages claimed (received -> processing) since the database time ``since``."""
    cur.execute(
        "SELECT count(*) FROM referrals_inboundmessage "
        "WHERE status = 'processing' AND status_changed_at > %s",
        [since],
    )
    return cur.fetchone()[0]


def database_now(cur):
    cur.execute("SELECT clock_timestamp()")
    return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_five_times_mid_batch_dead_letters_nothing_and_processes_each_once(procs):
    lists = [[message(i * EACH + n, "WK") for n in range(EACH)] for i in range(SENDERS)]
    tally = Tally()
    procs.listener()
    senders = send_together(procs.port, lists, tally, threading.Event())
    join(senders, timeout=120)
    total = SENDERS * EACH
    assert len(tally.acked) == total and set(tally.acked.values()) == {"AA"}

    sweep = beat(REDIS_URL)
    kills = 0
    with connection.cursor() as cur:
        began, since = time.monotonic(), database_now(cur)
        worker = procs.worker("faults-kill-0")
        while kills < KILLS:
            # Kill once this worker has claimed a batch: in the middle of it, before its commit.
            assert wait_for(
                lambda s=since: claimed_since(cur, s) >= BATCH, timeout=60, every=0.02, tick=sweep
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            killed, kills = time.monotonic(), kills + 1
            # The sweeper's step at once (beat's sweep does it after INTAKE_STUCK_AFTER_SECONDS): the
            # dead worker's claims back to received, so the next worker claims the same messages again.
            process.inbound_release_stuck(older_than_seconds=0)
            since = database_now(cur)
            worker = procs.worker(f"faults-kill-{kills}")  # the supervisor's restart
            sweep()
        processed_at_last_kill = ledger(cur, "WK")["processed"]
        done = wait_for(lambda: ledger(cur, "WK")["processed"] == total, timeout=120, tick=sweep)
        recovered, elapsed = time.monotonic() - killed, time.monotonic() - began
        counts = ledger(cur, "WK")
        cur.execute("SELECT max(attempts) FROM referrals_inboundmessage WHERE control_id LIKE 'WK%%'")
        most_claims = cur.fetchone()[0]
    figures(
        "worker SIGKILL",
        sent=tally.sent, acknowledged=len(tally.acked), stored=counts["stored"],
        processed=counts["processed"], duplicated=counts["duplicated"],
        lost=len(tally.acked) - counts["stored"], dead_letters=counts["failed"],
        faults=kills, most_claims_of_one_message=most_claims,
        processed_at_last_kill=processed_at_last_kill, recovery_s=f"{recovered:.0f}",
        all_processed_after_s=f"{elapsed:.0f}",
    )  # fmt: skip
    # Claimed by several workers that died holding them (finding 5a gave up after five), yet not dead.
    assert most_claims >= 3
    assert done, counts
    assert counts["failed"] == 0
    assert counts["stored"] == counts["processed"] == counts["admissions"] == total
    assert counts["duplicated"] == 0 and counts["admitted_twice"] == 0
