"""Reports read from the read replica when one is configured (casework/db_router.py, docs/operations.md).

In tests the ``replica`` alias is a test mirror of ``default`` (a second connection to the same test
database), so which alias a query went through is what shows where a deployment would have sent it.
"""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.test import APIClient

from casework import db_router
from referrals.models import Admission

# Not a transactional test: the replica mirror's own flush and post_migrate would re-create the content
# types under new ids and break every later test that restores a serialized database. The queries are
# what is checked, not what the replica's connection can see.
pytestmark = pytest.mark.django_db(databases=["default", "replica"])

DASHBOARD = "/api/v1/dashboard/incidents/?group_by=month&from=2026-01-01&to=2026-03-31"


@pytest.fixture
def analyst(make_user):
    client = APIClient()
    client.force_authenticate(make_user("vpu_analyst"))
    return client


def tables(queries) -> str:
    return " ".join(q["sql"] for q in queries)


def run(client, url):
    with (
        CaptureQueriesContext(connections["default"]) as on_default,
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return tables(on_default.captured_queries), tables(on_replica.captured_queries)


@override_settings(REPORTING_DATABASE="replica")
def test_with_a_replica_configured_the_dashboard_reads_its_figures_from_the_replica(analyst):
    on_default, on_replica = run(analyst, DASHBOARD)
    assert "reporting_admissionrollup" in on_replica
    assert "reporting_" not in on_default and "referrals_admission" not in on_default
    assert "auth_user" in on_default or "auth_group" in on_default  # who asks: always the primary


@override_settings(REPORTING_DATABASE="replica")
def test_with_a_replica_configured_everything_but_reports_stays_on_the_primary(analyst, make_user):
    on_default, on_replica = run(analyst, "/api/v1/admissions/")
    assert on_replica == ""
    assert "referrals_admission" in on_default
    assert db_router.ReportingReadsRouter().db_for_read(Admission) is None  # the mark ended with the report


def test_without_a_replica_reports_read_the_primary(analyst):
    on_default, on_replica = run(analyst, DASHBOARD)
    assert on_replica == ""
    assert "reporting_admissionrollup" in on_default


@override_settings(REPORTING_DATABASE="replica")
def test_inside_reporting_reads_writes_and_locked_reads_still_go_to_the_primary():
    router = db_router.ReportingReadsRouter()
    with db_router.reporting_reads():
        assert router.db_for_read(Admission) == "replica"
        assert router.db_for_write(Admission) == "default"
        assert Admission.objects.select_for_update().db == "default"
        from django.contrib.auth.models import User

        assert router.db_for_read(User) is None  # users, sessions, tokens: never a lagging copy
    assert router.allow_migrate("replica", "referrals") is False
