"""Two people moving the same matter at once, and a log nobody can rewrite: on the real PostgreSQL."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from casework import services
from casework.errors import StaleVersion
from casework.models import TransitionLog
from tests.factories import ProsecutionFactory

# Transactional tests all restore the migrated data (groups, reference data) the same way, or
# the next one would find it twice.
pytestmark = [pytest.mark.postgres]


def race(n, action):
    """Run ``action()`` in n threads released together; return (successes, conflicts, other errors)."""
    barrier = threading.Barrier(n)
    results = []

    def worker():
        try:
            barrier.wait()
            action()
            results.append("ok")
        except StaleVersion:
            results.append("conflict")
        except Exception as e:  # noqa: BLE001 - counted and shown by the assertion
            results.append(repr(e))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("name", "fields"),
    [
        (
            "remand",
            {"reason": "docket_not_at_court", "next_date": "2025-03-14"},
        ),  # a self-loop in a busy state
        ("withdraw", {"reason": "witness_intimidated"}),
    ],
)
def test_twenty_people_taking_the_same_transition_at_once_one_wins(make_user, name, fields):
    import datetime

    if "next_date" in fields:
        fields = {**fields, "next_date": datetime.date.fromisoformat(fields["next_date"])}
    p = ProsecutionFactory()
    officer = make_user("admin")
    service = services.PROSECUTION_TRANSITIONS[name]

    results = race(20, lambda: service(p, actor=officer, version=1, **fields))

    assert results.count("ok") == 1, results
    assert results.count("conflict") == 19, results
    p.refresh_from_db()
    assert p.version == 2
    assert TransitionLog.for_object(p).filter(transition=name).count() == 1


def test_the_database_refuses_to_change_or_delete_a_log_row(db, make_user):
    p = ProsecutionFactory()
    services.prosecution_issue_warrant(p, actor=make_user("admin"), version=1)
    row = TransitionLog.for_object(p).get()
    for sql in [
        "UPDATE casework_transitionlog SET to_state = 'acquitted' WHERE id = %s",
        "DELETE FROM casework_transitionlog WHERE id = %s",
    ]:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql, [row.pk])
    row.refresh_from_db()
    assert row.to_state == "warrant_issued"
