"""The one after-commit path (casework/after_commit.py): effects follow a commit, never a rollback."""

import pytest
from celery import shared_task
from django.db import transaction

from casework import after_commit

# Real commits: serialized_rollback puts the roles and reference data back after each test's flush,
# as for every transactional test here (without it the flush recreates the content types under new
# ids, and the next test that restores the snapshot fails on them).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CALLS: list = []


@shared_task(name="tests.after_commit.record")
def record(*args):
    CALLS.append(args)


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def test_a_queued_task_runs_only_once_the_transaction_commits(transactional_db):
    with transaction.atomic():
        after_commit.queue(record, 7)
        assert CALLS == []
    assert CALLS == [(7,)]


def test_a_rolled_back_transaction_queues_nothing(transactional_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        after_commit.queue(record, 7)
        raise RuntimeError("the write failed")
    assert CALLS == []


def test_values_noted_through_one_transaction_reach_the_task_in_one_sorted_call(transactional_db):
    with transaction.atomic():
        after_commit.queue_merged(record, [3, 1])
        after_commit.queue_merged(record, [2, 3])
        with transaction.atomic():  # a savepoint that commits with the rest
            after_commit.queue_merged(record, [5])
    assert CALLS == [([1, 2, 3, 5],)]


def test_two_transactions_make_two_calls(transactional_db):
    for values in ([1], [2]):
        with transaction.atomic():
            after_commit.queue_merged(record, values)
    assert CALLS == [([1],), ([2],)]


def test_outside_a_transaction_the_task_runs_at_once(transactional_db):
    after_commit.queue_merged(record, ["2026-12-01"])
    assert CALLS == [(["2026-12-01"],)]
