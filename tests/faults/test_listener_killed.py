"""The MLLP listener killed with SIGKILL mid-stream, three times, while six senders send 900 messages.

Senders resend whatever got no answer (the connection died under them), as interface engines do. Every
message that got AA is stored exactly once (a resend of one whose ACK was lost is answered as its first
copy, not stored again) and processed exactly once by the worker, after the listener's restart.
"""

import signal
import threading
import time

import pytest
from django.db import connection

from .harness import Tally, figures, join, ledger, message, send_together, stored_controls, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SENDERS, EACH, KILLS = 6, 150, 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_listener_killed_three_times_mid_stream_loses_and_doubles_nothing(procs):
    lists = [[message(i * EACH + n, "LK") for n in range(EACH)] for i in range(SENDERS)]
    tally = Tally()
    listener = procs.listener()
    procs.worker("faults")
    senders = send_together(procs.port, lists, tally, threading.Event())
    recoveries = []
    for k in range(KILLS):
        # Kill when another sixth of the messages is acknowledged: senders are mid-stream.
        assert wait_for(lambda k=k: len(tally.acked) >= (k + 1) * SENDERS * EACH // 5, timeout=60)
        listener.send_signal(signal.SIGKILL)
        listener.wait(timeout=10)
        time.sleep(0.5)
        restarted = time.monotonic()
        listener = procs.listener()
        assert wait_for(lambda r=restarted: tally.first_ack_after(r) is not None, timeout=30)
        recoveries.append(tally.first_ack_after(restarted) - restarted)
    join(senders, timeout=120)
    controls = {control for messages in lists for control, _raw in messages}

    from .conftest import REDIS_URL
    from .harness import beat

    sweep = beat(REDIS_URL)
    with connection.cursor() as cur:
        done = wait_for(
            lambda: ledger(cur, "LK")["processed"] == len(controls), timeout=90, tick=sweep, tick_every=2
        )
        counts = ledger(cur, "LK")
        lost = set(tally.acked) - stored_controls(cur, "LK")
    figures(
        "listener SIGKILL",
        messages=len(controls), sent=tally.sent, acknowledged=len(tally.acked), stored=counts["stored"],
        processed=counts["processed"], duplicated=counts["duplicated"], lost=len(lost),
        tries_without_answer=tally.no_answer, resent_copies_answered_as_first=counts["resent_copies"],
        faults=KILLS, recovery_s="/".join(f"{r:.1f}" for r in recoveries),
    )  # fmt: skip
    assert not any(s.gave_up for s in senders)
    assert set(tally.acked) == controls and set(tally.acked.values()) == {"AA"}
    assert tally.no_answer > 0, "no kill caught a sender mid-message"
    assert lost == set()
    assert counts["stored"] == len(controls) and counts["duplicated"] == 0
    assert done, counts
    assert counts["processed"] == counts["admissions"] == len(controls)
    assert counts["failed"] == 0 and counts["admitted_twice"] == 0
