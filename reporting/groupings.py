"""Which grouping to offer when most of a chart is withheld, and how to say so.

A grouping is "mostly withheld" when at least half of its groups that had anything to count are
withheld (``<5`` or ``x``). The next coarser grouping is then offered by a link, and the page says
why: a manager reading a district's firearm admissions by week sees "<5" everywhere, and the same
admissions by month are figures.
"""

from django.utils.translation import gettext_lazy as _

# Every grouping's name in words, for the pages' "by …" and their grouping menus.
GROUPING_LABELS = {
    "court": _("court"),
    "station": _("SAPS station precinct"),
    "district": _("district"),
    "offence": _("offence"),
    "mechanism": _("mechanism"),
    "gang_related": _("gang-related or not"),
    "month": _("month"),
    "week": _("ISO week"),
    "day": _("day"),
    "facility": _("facility"),
    "sub_district": _("health sub-district"),
    "suburb": _("suburb"),
    "cluster": _("SAPS cluster"),
}


def labelled(codes) -> list[tuple[str, str]]:
    """(code, name in words) of these groupings, for a grouping menu."""
    return [(c, str(GROUPING_LABELS.get(c, c))) for c in codes]


# grouping → (coarser grouping, its name in words)
COARSER = {
    "day": ("week", _("ISO week")),
    "week": ("month", _("month")),
    "facility": ("sub_district", _("health sub-district")),
    "suburb": ("station", _("SAPS station precinct")),
    "station": ("cluster", _("SAPS cluster")),
}
# The conviction rate's own chain (its "station" goes to the court's district, not a cluster).
CONVICTION_COARSER = {"court": ("district", _("district")), "station": ("district", _("district"))}


def withheld_share(rows: list[dict], field: str) -> tuple[int, int]:
    """(withheld, counted) groups: withheld counts or rates, against groups with anything in them."""
    counted = [r for r in rows if r.get(field) != 0]
    withheld = [r for r in counted if r.get(field) is None or field in r.get("suppressed", ())]
    return len(withheld), len(counted)


def mostly_withheld(rows: list[dict], field: str) -> bool:
    withheld, counted = withheld_share(rows, field)
    return bool(counted) and withheld * 2 >= counted


def coarser_offer(rows: list[dict], field: str, group_by: str, chain: dict = COARSER) -> dict | None:
    """``{"group_by", "name", "withheld", "counted"}`` when most groups are withheld and a coarser
    grouping exists; else None."""
    withheld, counted = withheld_share(rows, field)
    if group_by not in chain or not counted or withheld * 2 < counted:
        return None
    coarser, name = chain[group_by]
    return {"group_by": coarser, "name": name, "withheld": withheld, "counted": counted}
