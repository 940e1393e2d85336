"""The definitions every report states on its page and returns in its API answer (DESIGN.md, Reporting)."""

from django.utils.translation import gettext_lazy as _

GANG_RULE = _(
    "A prosecution is gang-related when any incident linked to its docket is gang-related now: an "
    "incident is gang-related while its most recent standing (not withdrawn) gang assertion says so "
    "(EC clinician, SAPS, NPA charge or committee)."
)

SUPPRESSION = _(
    "Small cells are suppressed for managers (and by default for everyone): a count of 1-4 is '<5' "
    "(null in the API and CSV, listed under 'suppressed'). So that no withheld count can be worked out "
    "from a total, its siblings or another grouping of the period, more are withheld: under a total of "
    "1-4 every part is '<5', zeros too; wherever a withheld count could be worked out (a total minus the "
    "shown parts, verdicts minus convictions, a column total minus the other rows, the hour x weekday "
    "margins), the smallest shown counts (5 or more) that leave it open are withheld too, shown as 'x' "
    "(listed under 'suppressed' and 'complementary'); when no such count exists, the counts around it are "
    "withheld as 'x', any value. Totals that every grouping shows stay shown. A rate is withheld when its "
    "numerator or denominator is withheld or its denominator is under 5. Zero is shown. Analysts and "
    "admins may ask for ?unsuppressed=1; managers never get unsuppressed figures."
)

CONVICTION_RATE = {
    "period": _(
        "Prosecutions whose finalised-on date (SAST) falls in the period, both ends inclusive. A "
        "prosecution's outcome is its current state if finalised; finalised on is when it entered that "
        "state (a conviction later sentenced counts on its sentencing date)."
    ),
    "convictions": _("convicted + sentenced"),
    "acquittals": _("acquitted"),
    "verdicts": _("convictions + acquittals"),
    "withdrawn": _("withdrawn"),
    "provisionally_withdrawn": _("provisionally withdrawn"),
    "struck_off": _("struck off the roll"),
    "diverted": _("diverted"),
    "finalised": _("convictions + acquittals + withdrawn + provisionally withdrawn + struck off + diverted"),
    "conviction_rate": _("convictions / verdicts (NPA style); null when verdicts is 0 or withheld"),
    "outcome_conviction_rate": _("convictions / finalised; null when finalised is 0 or withheld"),
    "not_counted": _(
        "Open matters (enrolled, remanded, on trial, warrant issued) are not finalised and not counted; "
        "a re-enrolled matter counts only by the outcome it reaches after re-enrolment."
    ),
    "gang_related": GANG_RULE,
    "mechanism": _("The mechanism of the earliest incident linked to the prosecution's docket."),
    "district": _("The district of the court."),
    "station": _("The SAPS station that opened the docket."),
    "offence": _("The docket's offence category."),
    "month": _("The SAST calendar month of the finalised-on date."),
    "suppression": SUPPRESSION,
}

REMOVALS = {
    "suppression": SUPPRESSION,
    "period": _(
        "Every removal from the roll (withdraw, provisional withdrawal, strike-off) that took effect in "
        "the period, from the transition log; a matter removed twice counts twice, and a removal counts "
        "even if the matter was re-enrolled later."
    ),
    "police_attributable": _(
        "Reasons the court-watching unit attributes to police failures: investigation incomplete, docket "
        "not at court, forensic report outstanding, witness not subpoenaed, 48-hour rule exceeded, "
        "defective service, police witness absent."
    ),
    "police_attributable_share": _("police-attributable removals / all removals"),
    "gender_based": _(
        "Gender-based: the docket's offence is a sexual offence or a linked incident's mechanism is "
        "sexual assault."
    ),
    "gang_related": GANG_RULE,
    "top": _("Stations (that opened the docket) and courts (where the matter is now) with most removals."),
}

RE_ENROLMENT = {
    "suppression": SUPPRESSION,
    "period": _("Prosecutions re-enrolled (transition log 're_enrol') in the period."),
    "after_review": _("Re-enrolments that name the committee's withdrawal review that asked for them."),
    "current_state": _("Where those matters stand now."),
    "convictions": _("convicted + sentenced now"),
    "conviction_rate": _("convictions / verdicts among those matters"),
}

ATTRITION = {
    "suppression": SUPPRESSION,
    "cohort": _("Incidents that occurred in the period (SAST); admissions that arrived in the period."),
    "admissions": _("EC violence admissions that arrived in the period."),
    "incidents": _("Incidents that occurred in the period."),
    "referred": _(
        "Incidents referred to SAPS (a referral that was sent, whatever happened next) or already "
        "known to police (a docket is linked)."
    ),
    "police_case_opened": _("Incidents with a linked docket."),
    "referred_to_npa": _("Incidents whose docket was ever referred to the NPA, or was prosecuted."),
    "prosecuted": _("Incidents with a prosecution."),
    "finalised": _("Incidents with a finalised prosecution."),
    "convicted": _("Incidents with a prosecution now convicted or sentenced."),
    "drop": _("How many of the previous step did not reach this one."),
}

UNKNOWN_TO_POLICE = {
    "suppression": SUPPRESSION,
    "admissions": _("EC violence admissions that arrived in the period."),
    "unknown_after_n_days": _(
        "Share of admissions with no docket linked to their incident opened within N days of arrival "
        "(an admission without an incident has no docket). Only admissions at least N days old count "
        "in the denominator for N."
    ),
}

DASHBOARD = {
    "admissions": _("EC violence admissions by arrival time (SAST)."),
    "suppression": SUPPRESSION,
    "age_band": _("Age at arrival: 0-14, 15-24, 25-34, 35-44, 45-54, 55-64, 65+, unknown."),
    "gang_related": GANG_RULE,
    "freshness": _("Each chart reads a rollup refreshed within seconds of a change; 'as of' says when."),
}
