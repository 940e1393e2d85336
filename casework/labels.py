"""One table of words for every code a person may see: states, transitions, reasons, outcomes,
hearing types, groupings and roles.

``words(kind, code)`` answers the lazily translated words; pages (``{% load words %}``,
``{{ value|words:"transition" }}``), CSV exports (a label column beside each code column) and charts
all ask it, so a code is named in one place. The choices the models declare (their ``TextChoices``)
are read from the app registry at first use, so the words stay where the code is defined and
casework never imports the apps built on it. What no model declares (transitions, groupings,
roles) is written here. An unknown code falls back to its words with the underscores taken out,
never to the raw code.
"""

import re
from collections import defaultdict

from django.apps import apps
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from .codes import PostponementReason, RemovalReason

# A model field's choices are registered under the field's name; these fields also answer a
# shorter kind that pages use ("reason", "hearing_type").
FIELD_KINDS = {
    "removal_reason": ("reason",),
    "postponement_reason": ("reason",),
    "type": ("hearing_type",),
}

# Transition names (every machine): the button and the timeline say these words.
TRANSITIONS = {
    # dockets
    "open": _("Docket opened"),
    "investigate": _("Start investigating"),
    "refer_to_npa": _("Refer to the NPA"),
    "return_for_investigation": _("Return for investigation"),
    "decline_to_prosecute": _("Decline to prosecute"),
    "close_undetected": _("Close as undetected"),
    "close_unfounded": _("Close as unfounded"),
    "complainant_withdraws": _("Complainant withdraws"),
    "reopen": _("Reopen"),
    "link_incidents": _("Incidents linked"),
    # prosecutions
    "enrol": _("Enrolled"),
    "remand": _("Remand"),
    "transfer": _("Transfer to another court"),
    "start_trial": _("Start trial"),
    "convict": _("Convict"),
    "acquit": _("Acquit"),
    "sentence": _("Sentence"),
    "withdraw": _("Withdraw"),
    "withdraw_provisionally": _("Withdraw provisionally"),
    "strike_off": _("Strike off the roll"),
    "issue_warrant": _("Issue warrant"),
    "divert": _("Divert"),
    "re_enrol": _("Re-enrol"),
    # court-watching briefs and withdrawal reviews
    "assign": _("Assign a court watcher"),
    "start_monitoring": _("Start monitoring"),
    "close": _("Close"),
    "schedule": _("Put on a meeting's agenda"),
    "decide": _("Record the committee's decision"),
    "flag": _("Flagged for review"),
    # referrals
    "refer": _("Referred"),
    "send": _("Send to the station"),
    "acknowledge": _("Acknowledge"),
    "open_case": _("Open docket"),
    "decline": _("Decline"),
}

# The same transition named for one machine where the bare word would be unclear.
TRANSITIONS_OF = {
    ("courtwatch.brief", "close"): _("Close brief"),
    ("courtwatch.brief", "reopen"): _("Reopen brief"),
    ("courtwatch.brief", "open"): _("Brief opened"),
    ("courtwatch.withdrawalreview", "close"): _("Close review"),
    ("referrals.referral", "reopen"): _("Reopen referral"),
    ("referrals.referral", "open_case"): _("Open docket"),
}

# Report groupings ("group_by"): what a column or a chart's axis is grouped by.
GROUPINGS = {
    "court": _("Court"),
    "station": _("Police station"),
    "district": _("District"),
    "sub_district": _("Sub-district"),
    "offence": _("Offence"),
    "mechanism": _("Mechanism"),
    "gang_related": _("Gang-related"),
    "month": _("Month"),
    "week": _("Week"),
    "day": _("Day"),
    "hour": _("Hour of day"),
    "weekday": _("Day of the week"),
    "hour_weekday": _("Hour and day of the week"),
    "age_band": _("Age group"),
    "sex": _("Sex"),
    "place_type": _("Place of injury"),
    "facility": _("Health facility"),
    "suburb": _("Suburb"),
    "precinct": _("Police precinct"),
    "reason": _("Reason"),
    "total": _("Total"),
}

# Report measures and terms (the keys of reporting's definitions, the columns of its CSV files).
MEASURES = {
    "acquittals": _("Acquittals"),
    "admissions": _("Admissions"),
    "after_review": _("After a committee review"),
    "age_band": _("Age group"),
    "cohort": _("Cohort"),
    "convicted": _("Convicted"),
    "conviction_rate": _("Conviction rate"),
    "convictions": _("Convictions"),
    "current_state": _("Where they stand now"),
    "district": _("District"),
    "diverted": _("Diverted"),
    "drop": _("Drop from the step before"),
    "finalised": _("Finalised"),
    "freshness": _("Freshness"),
    "gang_related": _("Gang-related"),
    "gender_based": _("Gender-based"),
    "incidents": _("Incidents"),
    "mechanism": _("Mechanism"),
    "month": _("Month"),
    "not_counted": _("Not counted"),
    "offence": _("Offence"),
    "outcome_conviction_rate": _("Conviction rate of all outcomes"),
    "period": _("Period"),
    "police_attributable": _("Attributable to police"),
    "police_attributable_share": _("Share attributable to police"),
    "police_case_opened": _("Docket opened"),
    "prosecuted": _("Prosecuted"),
    "provisionally_withdrawn": _("Provisionally withdrawn"),
    "referred": _("Referred"),
    "referred_to_npa": _("Referred to the NPA"),
    "re_enrolled": _("Re-enrolled"),
    "removed_again": _("Removed again"),
    "station": _("Police station"),
    "struck_off": _("Struck off the roll"),
    "suppression": _("Small numbers withheld"),
    "top": _("Most often"),
    "unknown_after_n_days": _("Still unknown to police after the days given"),
    "verdicts": _("Verdicts"),
    "withdrawn": _("Withdrawn"),
    "withdrawal_reasons": _("Reasons for withdrawal"),
    "police_case_closures": _("Dockets closed"),
    "referrals_declined": _("Referrals declined"),
}

# The roles people hold (casework.permissions names them).
ROLES = {
    "health_capture": _("EC clerk"),
    "vpu_analyst": _("Violence prevention analyst"),
    "saps_liaison": _("SAPS liaison"),
    "npa_liaison": _("NPA liaison"),
    "court_watcher": _("Court watcher"),
    "court_watch_supervisor": _("Court-watch supervisor"),
    "committee_member": _("Committee member"),
    "manager": _("Manager"),
    "admin": _("Administrator"),
    "fps_registry": _("FPS registry"),
    "integration": _("Integration account"),
}

_fixed: dict[str, dict[str, str]] = {
    "transition": TRANSITIONS,
    "grouping": GROUPINGS,
    "role": ROLES,
    "measure": MEASURES,
    "reason": {**dict(PostponementReason.choices), **dict(RemovalReason.choices)},
}
_CODE = re.compile(r"[a-z0-9]+(?:[_:][a-z0-9]+)*")
_registered: dict[str, dict[str, str]] = defaultdict(dict)
# Where to look when a code is not in its own kind's table, in this order.
_NEAREST = ("reason", "state", "transition", "outcome", "measure", "grouping")
_from_models: dict[str, dict[str, str]] | None = None


def register(kind: str, choices) -> None:
    """Add words for ``kind`` (a ``TextChoices`` class, (code, words) pairs or a dict): for codes no
    model field declares. The first words given for a code stay."""
    pairs = getattr(choices, "choices", choices)
    pairs = pairs.items() if isinstance(pairs, dict) else pairs
    for code, label in pairs:
        _registered[kind].setdefault(str(code), label)


def _model_tables() -> dict[str, dict[str, str]]:
    """kind → code → words, from every model field with choices (read once, after apps are ready).

    Each field answers ``"<app>.<model>.<field>"`` and, first come first kept, its bare name."""
    global _from_models
    if _from_models is None:
        tables: dict[str, dict[str, str]] = defaultdict(dict)
        for model in apps.get_models():
            for field in model._meta.get_fields():
                choices = getattr(field, "choices", None)
                if not choices or not getattr(field, "concrete", False):
                    continue
                own = f"{model._meta.label_lower}.{field.name}"
                for code, label in choices:
                    if code in ("", None) or isinstance(label, list | tuple):
                        continue
                    for kind in (own, field.name, *FIELD_KINDS.get(field.name, ())):
                        tables[kind].setdefault(str(code), label)
        _from_models = tables
    return _from_models


def humanise(code: str) -> str:
    """The last resort for a code nobody named: its words, never its underscores. Text that is not
    a code (a reason typed in words) is left as it is."""
    if not _CODE.fullmatch(code):
        return code
    return code.replace("_", " ").replace(":", " ").strip().capitalize()


def lookup(kind: str, code, model=None):
    """The (lazy) words for ``code`` of ``kind``, or None when no table names it.

    ``model`` (a model class, instance or "app.model" label) prefers that model's own words
    (a brief's "close" is "Close brief")."""
    if code is None or code == "":
        return ""
    code = str(getattr(code, "value", code))
    label = _model_label(model)
    if label and kind == "transition" and (label, code) in TRANSITIONS_OF:
        return TRANSITIONS_OF[(label, code)]
    models = _model_tables()
    if label and kind != "transition":
        found = models.get(f"{label}.{kind}", {}).get(code)
        if found is not None:
            return found
    for table in (_fixed.get(kind), _registered.get(kind), models.get(kind)):
        if table and code in table:
            return table[code]
    return None


def words(kind: str, code, model=None) -> str:
    """What a person reads for ``code`` of ``kind`` ("state", "transition", "reason", "outcome",
    "hearing_type", "grouping", "role", "mechanism", "place_type", or any model field's name)."""
    found = lookup(kind, code, model)
    for other in _NEAREST if found is None else ():
        # A report's "reason" may be a docket's closing state: the words another table has for it.
        found = lookup(other, code, model)
        if found is not None:
            break
    return str(humanise(str(code)) if found is None else found)


words_lazy = lazy(words, str)


def _model_label(model) -> str:
    if model is None:
        return ""
    if isinstance(model, str):
        return model.lower()
    return model._meta.label_lower


def version(number) -> str:
    """A version as people say it ("version 3"), never "v3"."""
    return _("version %(n)s") % {"n": number}


def not_allowed(exc, model=None) -> str:
    """A ``NotAllowed`` error in words: what was tried, the state it met and what is possible now."""
    allowed = ", ".join(words("transition", name, model) for name in exc.allowed)
    text = _("“%(step)s” cannot be recorded now: this is %(state)s.") % {
        "step": words("transition", exc.transition, model),
        "state": words("state", exc.state, model).lower(),
    }
    if allowed:
        text = f"{text} " + _("Possible now: %(allowed)s.") % {"allowed": allowed}
    return text
