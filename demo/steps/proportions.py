"""The illustrative proportions the demo draws from for incidents, dockets and prosecutions.

Chosen to look like published Western Cape patterns (knife and gun violence dominant, guns
concentrated in gang-affected suburbs, weekend nights, month-end and December peaks, few
convictions in gang murders); they are not statistics.
"""

from zoneinfo import ZoneInfo

SAST = ZoneInfo("Africa/Johannesburg")

# Station precincts with high violence outside the gang-affected suburbs (mostly townships).
HIGH_VIOLENCE_STATIONS = {
    "khayelitsha",
    "harare",
    "lingelethu-west",
    "nyanga",
    "gugulethu",
    "philippi-east",
    "delft",
    "mfuleni",
    "kraaifontein",
    "mitchells-plain",
    "kleinvlei",
    "thembalethu",
    "mbekweni",
    "zwelethemba",
}

# The festive season (mid-December to New Year) and month-end paydays (the 25th to the 2nd).
MAX_SEASON = 1.4 * 1.2


def season(day) -> float:
    """How much more violent a day of the year is than an ordinary one."""
    festive = (day.month == 12 and day.day >= 15) or (day.month == 1 and day.day <= 2)
    weight = 1.4 if festive else 1.15 if day.month == 12 else 1.0
    return weight * (1.2 if day.day >= 25 or day.day <= 2 else 1.0)


WEEKDAY_WEIGHT = [0.8, 0.65, 0.65, 0.75, 1.15, 1.75, 1.45]  # Monday … Sunday
HOUR_WEIGHT = [8, 7, 6, 4, 2, 1.5, 1.5, 2, 2, 2, 2.5, 3, 3, 3.5, 4, 4.5, 5, 6, 7.5, 8.5, 9, 9.5, 9.5, 9]

MECHANISMS_GANG_AREA = {
    "firearm": 44,
    "sharp": 30,
    "blunt": 9,
    "bodily_force": 10,
    "sexual": 2,
    "strangulation": 1,
    "burn": 1,
    "poisoning": 0.5,
    "other": 2.5,
}
MECHANISMS_ELSEWHERE = {
    "firearm": 14,
    "sharp": 42,
    "blunt": 16,
    "bodily_force": 18,
    "sexual": 4,
    "strangulation": 1.5,
    "burn": 1.5,
    "poisoning": 0.5,
    "other": 2.5,
}
FATAL_SHARE = {"firearm": 0.2, "sharp": 0.07, "blunt": 0.04, "strangulation": 0.1, "burn": 0.05}
PLACES = {
    "firearm": {"street": 70, "home": 14, "tavern": 8, "public_transport": 3, "other": 5},
    "sexual": {"home": 60, "street": 20, "other": 12, "school": 3, "tavern": 5},
    "default": {
        "street": 42,
        "home": 30,
        "tavern": 13,
        "public_transport": 4,
        "workplace": 3,
        "school": 2,
        "other": 6,
    },
}
GANG_BASES = [
    "Shot in a known gang conflict area; patient reports rival gang members",
    "Multiple gunshot wounds; bystanders report a gang shooting",
    "Patient states he was attacked by members of a rival gang",
    "Paramedics report a drive-by shooting in an ongoing gang feud",
]

DOCKET_SHARE = {"firearm": 0.62, "sexual": 0.55, "sharp": 0.5, "blunt": 0.45, "bodily_force": 0.35}

# What becomes of a docket after investigation, by offence (and gang-relatedness for violent ones).
DOCKET_FATE = {
    "murder_gang": {"refer": 30, "undetected": 58, "investigating": 12},
    "murder": {"refer": 55, "undetected": 35, "investigating": 10},
    "attempted_murder_gang": {"refer": 25, "undetected": 55, "withdraws": 8, "investigating": 12},
    "attempted_murder": {"refer": 45, "undetected": 30, "withdraws": 15, "investigating": 10},
    "assault_gbh": {"refer": 45, "undetected": 15, "withdraws": 30, "unfounded": 3, "investigating": 7},
    "common_assault": {"refer": 35, "undetected": 10, "withdraws": 45, "unfounded": 5, "investigating": 5},
    "sexual_offence": {"refer": 50, "undetected": 20, "withdraws": 20, "unfounded": 3, "investigating": 7},
    "robbery_aggravated": {"refer": 30, "undetected": 60, "withdraws": 3, "investigating": 7},
    "other": {"refer": 35, "undetected": 30, "withdraws": 25, "unfounded": 5, "investigating": 5},
    # a docket reopened or returned by the NPA: investigated again, once
    "second_time": {"refer": 45, "undetected": 35, "investigating": 20},
}
NPA_DECISION = {"prosecute": 35, "decline": 25, "return": 20, "await": 20}
DECLINE_REASONS = ["insufficient_evidence", "no_reasonable_prospect", "witness_statements_lacking"]
RETURN_REASONS = ["statements_outstanding", "forensic_report_outstanding", "identity_parade_needed"]

# How a prosecution ends, by category. Convictions by plea or after trial; "warrant" leaves it
# waiting for the accused to be traced. Gang murders rarely convict.
OUTCOMES = {
    "murder_gang": {
        "plea": 1,
        "trial": 3,
        "acquit": 8,
        "withdraw": 42,
        "prov": 18,
        "strike": 15,
        "warrant": 8,
    },
    "murder": {"plea": 10, "trial": 22, "acquit": 12, "withdraw": 28, "prov": 10, "strike": 8, "warrant": 5},
    "attempted_murder_gang": {
        "plea": 2,
        "trial": 4,
        "acquit": 9,
        "withdraw": 42,
        "prov": 16,
        "strike": 15,
        "warrant": 8,
    },
    "attempted_murder": {
        "plea": 12,
        "trial": 15,
        "acquit": 10,
        "withdraw": 35,
        "prov": 10,
        "strike": 10,
        "warrant": 5,
        "divert": 3,
    },
    "assault_gbh": {
        "plea": 20,
        "trial": 10,
        "acquit": 7,
        "withdraw": 38,
        "prov": 5,
        "strike": 7,
        "warrant": 5,
        "divert": 8,
    },
    "common_assault": {
        "plea": 20,
        "trial": 5,
        "acquit": 5,
        "withdraw": 45,
        "prov": 2,
        "strike": 5,
        "warrant": 5,
        "divert": 13,
    },
    "sexual_offence": {
        "plea": 8,
        "trial": 25,
        "acquit": 15,
        "withdraw": 30,
        "prov": 8,
        "strike": 7,
        "warrant": 5,
        "divert": 2,
    },
    "robbery_aggravated": {
        "plea": 15,
        "trial": 20,
        "acquit": 10,
        "withdraw": 30,
        "prov": 10,
        "strike": 8,
        "warrant": 7,
    },
    # any other gang-related matter: witnesses are intimidated, few convictions
    "gang": {"plea": 4, "trial": 5, "acquit": 10, "withdraw": 40, "prov": 16, "strike": 15, "warrant": 10},
    "after_re_enrolment": {
        "plea": 10,
        "trial": 22,
        "acquit": 10,
        "withdraw": 35,
        "prov": 8,
        "strike": 5,
        "warrant": 10,
    },
}
OUTCOMES["other"] = OUTCOMES["assault_gbh"]
RE_ENROL_SHARE = 0.12

POSTPONEMENTS = {
    "further_investigation": 28,
    "docket_not_at_court": 8,
    "forensic_report_outstanding": 10,
    "legal_aid": 12,
    "defence_not_ready": 10,
    "accused_not_brought_from_custody": 7,
    "witness_absent": 6,
    "court_roll_full": 6,
    "accused_absent": 5,
    "other": 3,
}
WITHDRAWAL_REASONS_GANG = {
    "witness_intimidated": 25,
    "witness_unavailable": 15,
    "insufficient_evidence": 12,
    "investigation_incomplete": 10,
    "docket_not_at_court": 7,
    "forensic_report_outstanding": 8,
    "witness_not_subpoenaed": 6,
    "police_witness_absent": 4,
    "detention_48h_exceeded": 2,
    "defective_service": 2,
    "accused_not_traced": 4,
    "further_investigation": 5,
}
WITHDRAWAL_REASONS = {
    "complainant_withdrew": 40,
    "witness_unavailable": 10,
    "insufficient_evidence": 10,
    "investigation_incomplete": 8,
    "docket_not_at_court": 7,
    "witness_not_subpoenaed": 6,
    "forensic_report_outstanding": 4,
    "police_witness_absent": 3,
    "defective_service": 2,
    "detention_48h_exceeded": 2,
    "accused_not_traced": 3,
    "further_investigation": 3,
    "other": 2,
}
PROVISIONAL_REASONS = {
    "forensic_report_outstanding": 35,
    "further_investigation": 30,
    "investigation_incomplete": 20,
    "accused_not_traced": 15,
}
STRIKE_OFF_REASONS = {
    "docket_not_at_court": 30,
    "investigation_incomplete": 25,
    "other": 25,  # s342A: unreasonable delay
    "forensic_report_outstanding": 10,
    "witness_not_subpoenaed": 10,
}
DIVERSION_PROGRAMMES = [
    "NICRO anger management programme",
    "Restorative justice (NICRO)",
    "Khulisa life-skills programme",
    "Community service, 120 hours",
]
SENTENCES = {
    "murder": [
        "Life imprisonment",
        "25 years' imprisonment",
        "20 years' imprisonment",
        "18 years' imprisonment",
    ],
    "attempted_murder": ["12 years' imprisonment", "10 years' imprisonment", "8 years' imprisonment"],
    "sexual_offence": ["Life imprisonment", "15 years' imprisonment", "10 years' imprisonment"],
    "robbery_aggravated": ["15 years' imprisonment", "12 years' imprisonment"],
    "default": [
        "3 years' imprisonment, wholly suspended for 5 years",
        "R3,000 fine or 6 months' imprisonment",
        "2 years' correctional supervision",
        "5 years' imprisonment",
        "18 months' imprisonment",
    ],
}
SERIOUS = {"murder", "attempted_murder", "sexual_offence", "robbery_aggravated"}

FIRST_NAMES = [
    "Ashwin", "Bongani", "Clint", "Dumisani", "Ebrahim", "Fagmie", "Gavin", "Lukhanyo", "Igshaan",
    "Jerome", "Kagiso", "Lindile", "Mogamat", "Mziwoxolo", "Neville", "Odwa", "Riedwaan", "Siyabonga",
    "Tashreeq", "Unathi", "Vuyani", "Wesley", "Xolani", "Yusuf", "Zola", "Chad", "Mncedisi", "Brandon",
]  # fmt: skip
SURNAMES = [
    "Adams", "Booysen", "Cupido", "Damons", "Fortuin", "Gqirana", "Hendricks", "Isaacs", "Jantjies",
    "Klaasen", "Links", "Mtshali", "Ntsebeza", "October", "Pietersen", "Qumbela", "Ruiters", "Sauls",
    "Tshangana", "Williams", "Xaba", "Yako", "Zondi", "Arendse", "Manuel", "Mpofu", "Davids",
]  # fmt: skip
