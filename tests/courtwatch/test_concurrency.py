"""Two people record the same hearing at once: exactly one wins, the other hears 409, nothing is lost."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from casework.models import Prosecution, TransitionLog
from courtwatch.models import Hearing

from .conftest import days_ago


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_hearings_on_the_same_version_one_wins_and_one_gets_409(
    assigned, officer, admin_user
):
    brief = assigned()
    p = brief.prosecution
    barrier = threading.Barrier(2)
    statuses = []

    def record(user, reason):
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        r = client.post(
            "/api/v1/hearings/",
            {
                "prosecution": p.pk,
                "date": days_ago(1).isoformat(),
                "type": "remand",
                "outcome": "postponed",
                "reason": reason,
                "next_date": days_ago(-7).isoformat(),
                "version": p.version,
            },
            format="json",
        )
        statuses.append(r.status_code)
        connection.close()

    threads = [
        threading.Thread(target=record, args=(officer, "witness_absent")),
        # The brief's officer and an admin (a supervisor records no hearing: it takes no case transition).
        threading.Thread(target=record, args=(admin_user, "legal_aid")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [201, 409]
    assert Hearing.objects.filter(prosecution=p).count() == 1
    assert TransitionLog.for_object(p).filter(transition="remand").count() == 1
    assert Prosecution.objects.get(pk=p.pk).version == p.version + 1
