"""API fuzzing (issue 11): every operation of /api/schema/, as three roles, answers without a 5xx and
with a body that matches its schema.

schemathesis generates requests (valid and invalid) from the OpenAPI document drf-spectacular serves;
each is sent in-process to the WSGI app with the role's knox token. The bounded run (`make test`) tries
FUZZ_EXAMPLES examples per operation (default 3, derandomised so CI is repeatable); `make fuzz` runs
with more, randomised. Nothing is skipped: every operation of the schema is visited for every role,
and the figures printed at the end say how many operations, examples, requests and 5xx there were.

Checks: no server error; the response body matches the schema of its status where one is documented;
the content type is the documented one. The status code itself is not checked against the document
(drf-spectacular documents the 2xx answers; 400/403/404/409/422 are the contract of docs/api.md).
"""

import os
import time
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from casework import permissions
from config.wsgi import application
from courtwatch.models import Brief
from tests.factories import ProsecutionFactory, UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
ROLES = [permissions.COURT_WATCHER, permissions.SAPS_LIAISON, permissions.MANAGER]

# The document /api/schema/ serves (test_the_fuzzed_document_is_the_served_one checks they are equal).
DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.app = application
# HL7 v2 is text on the wire (the intake reads its bytes; odd encodings are fuzzed in test_intake.py).
schemathesis.serializer.alias("application/hl7-v2", "text/plain")


@dataclass
class Tally:
    operations: int = 0
    examples: int = 0
    requests: int = 0
    server_errors: int = 0
    failures: list = field(default_factory=list)


def _world(role):
    """One matter the role can reach: a prosecution on a docket at a station, a brief for it."""
    prosecution = ProsecutionFactory()
    docket = prosecution.police_case
    user = UserFactory(username=f"fuzz-{role}")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role == permissions.SAPS_LIAISON:
        permissions.grant(user, docket.station)
    brief = Brief.objects.create(
        prosecution=prosecution, officer=user if role == permissions.COURT_WATCHER else None
    )
    incident = docket.incidents.first()
    known = {
        "police-cases": {"id": docket.pk},
        "prosecutions": {"id": prosecution.pk},
        "briefs": {"id": brief.pk},
        "incidents": {"id": incident.pk},
        "stations": {"code": docket.station.code},
        "courts": {"code": prosecution.court.code},
        "suburbs": {"code": incident.suburb.code},
        "offences": {"code": docket.offence.code},
    }
    return user, known


def _strategy(operation, known):
    """Valid and invalid requests; for a path naming an object, sometimes one the role may see."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    resource = operation.path.split("/")[3]
    names = {p.name for p in operation.path_parameters}
    if resource in known and names and names <= set(known[resource]):
        fixed = {name: known[resource][name] for name in names}
        strategies.append(operation.as_strategy(path_parameters=fixed))
    return st.one_of(strategies)


def _fuzz_operation(operation, token, known, tally):
    seen = {"examples": 0}

    @settings(
        max_examples=EXAMPLES,
        derandomize=not RANDOM,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, known))
    def run(case):
        seen["examples"] += 1
        response = case.call(headers={"Authorization": f"Token {token}"})
        tally.requests += 1
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (
            Exception,
            BaseExceptionGroup,
        ) as failure:  # every check failure is collected and reported below
            tally.failures.append(f"{operation.label} -> {response.status_code}: {str(failure)[:600]}")

    # Each operation starts from the same world: what one wrote is rolled back before the next.
    with transaction.atomic():
        run()
        transaction.set_rollback(True)
    tally.operations += 1
    tally.examples += seen["examples"]


@pytest.fixture
def in_process():
    """Call the WSGI app directly without it closing the test's connection, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_within_its_schema(role, in_process, capsys):
    user, known = _world(role)
    _, token = AuthToken.objects.create(user)
    tally = Tally()
    started = time.monotonic()
    operations = [result.ok() for result in SCHEMA.get_all_operations()]
    for operation in operations:
        _fuzz_operation(operation, token, known, tally)
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nfuzz {role}: {tally.operations} operations, {tally.examples} examples, "
            f"{tally.requests} requests, {tally.server_errors} 5xx, {len(tally.failures)} check failures "
            f"in {seconds:.1f} s"
        )
    assert tally.operations == len(operations) == len(list(_paths_and_methods()))
    assert tally.server_errors == 0, "\n".join(tally.failures)
    assert not tally.failures, "\n".join(tally.failures)


def _paths_and_methods():
    for path, item in DOCUMENT["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path


@pytest.mark.django_db
def test_the_fuzzed_document_is_the_served_one():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json() == DOCUMENT
