"""One table of words (casework.labels): every code a person may see has words, pages and CSV use them."""

import csv
import io

import pytest
from django.template import Context, Template

from casework import labels, transitions
from casework.models import PoliceCase, Prosecution
from courtwatch.models import Brief, WithdrawalReview
from referrals.models import Referral
from reporting import exports

MACHINES = [PoliceCase, Prosecution, Brief, WithdrawalReview, Referral]


@pytest.mark.parametrize(
    ("kind", "code", "model", "said"),
    [
        ("transition", "withdraw_provisionally", None, "Withdraw provisionally"),
        ("transition", "open_case", None, "Open docket"),
        ("transition", "re_enrol", None, "Re-enrol"),
        ("transition", "issue_warrant", None, "Issue warrant"),
        ("transition", "close", Brief, "Close brief"),
        ("transition", "close", "courtwatch.withdrawalreview", "Close review"),
        ("state", "provisionally_withdrawn", None, "Provisionally withdrawn"),
        ("state", "referred_to_npa", None, "Referred to NPA"),
        ("state", "on_agenda", None, "On agenda"),
        ("reason", "docket_not_at_court", None, "Docket not at court"),
        ("reason", "detention_48h_exceeded", None, "48-hour rule exceeded"),
        ("hearing_type", "first_appearance", None, "First appearance"),
        ("outcome", "trial_started", None, "Trial started"),
        ("decision", "re_enrol", None, "Re-enrol"),
        ("grouping", "gang_related", None, "Gang-related"),
        ("grouping", "sub_district", None, "Sub-district"),
        ("role", "saps_liaison", None, "SAPS liaison"),
        ("mechanism", "bodily_force", None, "Bodily force"),
    ],
)
def test_codes_are_said_in_words(kind, code, model, said):
    assert labels.words(kind, code, model) == said


def test_a_code_nobody_named_is_still_said_without_underscores_and_typed_text_is_left_alone():
    assert labels.words("state", "some_new_state") == "Some new state"
    assert labels.words("reason", "Witness moved to Gqeberha") == "Witness moved to Gqeberha"
    assert labels.words("reason", "") == ""


@pytest.mark.parametrize("model", MACHINES, ids=lambda m: m.__name__)
def test_every_transition_and_state_of_every_machine_has_words_in_the_table(model):
    unnamed = [
        n for n in transitions.transition_names(model) if labels.lookup("transition", n, model) is None
    ]
    assert unnamed == []
    unnamed_states = [s for s, _ in model.State.choices if labels.lookup("state", s, model) is None]
    assert unnamed_states == []


def test_the_template_filter_says_words_and_versions_in_full():
    t = Template(
        '{% load words %}{{ a|words:"transition" }} · '
        '{{ b|words:"transition:courtwatch.brief" }} · {{ 3|version }}'
    )
    assert (
        t.render(Context({"a": "strike_off", "b": "reopen"}))
        == "Strike off the roll · Reopen brief · version 3"
    )


def test_a_csv_export_writes_the_words_beside_each_code():
    text = exports.csv_text(
        ["group", "mechanism", "count"],
        [
            {"group": "court-a", "label": "Court A", "mechanism": "sharp", "count": 7},
            {"group": "total", "count": 9},
        ],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["group", "label", "mechanism", "mechanism_label", "count"],
        ["court-a", "Court A", "sharp", "Sharp object", "7"],
        ["total", "Total", "", "", "9"],
    ]
