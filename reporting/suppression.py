"""Small-cell suppression, applied the same way to the page, the API and the CSV.

A count of 1–4 becomes ``None`` (the page prints "<5") and its name goes into the row's
``suppressed`` list. A rate is withheld (``None``) when its denominator is under 5, or when its
numerator is itself suppressed (a rate over a known denominator would give the count away).
Zero is never suppressed: "none happened" discloses nobody.
"""

from .permissions import MIN_DENOMINATOR, SMALL_CELL_MAX


def is_small(n) -> bool:
    return n is not None and 0 < n <= SMALL_CELL_MAX


def rate(numerator, denominator):
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def finish_row(row: dict, *, counts: list[str], rates: dict[str, tuple[str, str]], suppress: bool) -> dict:
    """Compute ``rates`` (name → (numerator, denominator)) from the row's raw counts, then suppress.

    Returns a new dict; ``suppressed`` is present only when something was withheld.
    """
    out = dict(row)
    for name, (num, den) in rates.items():
        out[name] = rate(row[num], row[den])
    if not suppress:
        return out
    withheld = []
    for field in counts:
        if is_small(row.get(field)):
            out[field] = None
            withheld.append(field)
    for name, (num, den) in rates.items():
        if out[name] is not None and (row[den] < MIN_DENOMINATOR or is_small(row[num])):
            out[name] = None
            withheld.append(name)
    if withheld:
        out["suppressed"] = withheld
    return out


def suppress_count(n, suppress: bool):
    """One bare count (a chart bar, a funnel step): ``None`` when small and suppression applies."""
    return None if suppress and is_small(n) else n
