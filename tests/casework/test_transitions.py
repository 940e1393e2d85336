"""The transition registry, the one version rule for pages and API, and dockets linking incidents."""

import pytest
from django.apps import apps
from django.urls import reverse

from casework import services, transitions
from casework.errors import InvalidInput
from casework.models import PoliceCase, Prosecution, TransitionLog
from tests.factories import IncidentFactory, PoliceCaseFactory, ProsecutionFactory


def test_every_transition_of_every_machine_is_registered_with_a_form_a_service_and_a_rule(db):
    machines = [m for m in apps.get_models() if transitions.specs_for(m)]
    assert {m.__name__ for m in machines} == {
        "PoliceCase",
        "Prosecution",
        "Brief",
        "WithdrawalReview",
        "Referral",
    }
    for model in machines:
        assert [s.name for s in transitions.specs_for(model)] == transitions.transition_names(model)
        for spec in transitions.specs_for(model):
            assert spec.form is not None and callable(spec.service) and callable(spec.may)


def test_the_removals_are_the_prosecution_transitions_that_leave_the_roll():
    assert transitions.removal_transitions() == {
        "withdraw": "withdrawn",
        "withdraw_provisionally": "provisionally_withdrawn",
        "strike_off": "struck_off",
    }


@pytest.mark.parametrize("value", [None, "", "x", "3.5", True, -1, 2**31])
def test_a_missing_or_malformed_version_is_a_field_error(value):
    with pytest.raises(InvalidInput) as e:
        transitions.parse_version(value)
    assert list(e.value.errors) == ["version"]


def test_a_page_without_a_version_shows_a_field_error_not_a_conflict(client, make_user, db):
    p = ProsecutionFactory()
    client.force_login(make_user("npa_liaison", grants=[p.court]))
    r = client.post(reverse("prosecution-transition", args=[p.pk, "issue_warrant"]), {})
    assert r.status_code == 400 and "version" in r.content.decode()
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)


def test_linking_incidents_to_a_docket_writes_a_log_row_and_the_timeline_says_so(client, make_user, db):
    case = PoliceCaseFactory(incidents=[])
    incidents = IncidentFactory.create_batch(2)
    admin = make_user("admin")
    services.police_case_link_incidents(police_case=case, incident_ids=[i.pk for i in incidents], actor=admin)
    assert set(case.incidents.values_list("pk", flat=True)) == {i.pk for i in incidents}
    row = TransitionLog.for_object(case).get(transition="link_incidents")
    assert (row.from_state, row.to_state) == (case.state, case.state)
    assert row.data == {"incidents": sorted(i.pk for i in incidents)}
    client.force_login(admin)
    assert "Incidents linked" in client.get(reverse("police-case-detail", args=[case.pk])).content.decode()
    assert PoliceCase.objects.get(pk=case.pk).version == case.version


def test_linking_an_incident_that_does_not_exist_is_refused_and_writes_nothing(db):
    case = PoliceCaseFactory(incidents=[])
    with pytest.raises(InvalidInput):
        services.police_case_link_incidents(police_case=case, incident_ids=[10**9], actor=None)
    assert not TransitionLog.for_object(case).filter(transition="link_incidents").exists()


def test_the_named_services_are_the_registered_ones(db):
    assert services.PROSECUTION_TRANSITIONS["remand"] is services.prosecution_remand
    assert transitions.get(Prosecution, "remand").service is services.prosecution_remand
    assert services.prosecution_remand.__name__ == "prosecution_remand"
