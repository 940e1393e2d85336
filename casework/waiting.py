"""What is waiting for each person: the counts on the start page ("3 matters on today's roll").

Each app registers a counter for the roles it serves (``register``, from its ``menus.py``) and
counts with its own selectors, so every count is of what this user may see; casework never
imports them. The roles are matched by ``permissions.menu_for``, as for the menus.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import ngettext

from . import permissions
from .models import PoliceCase


@dataclass(frozen=True)
class Waiting:
    """One line on the start page: how many, in words (already counted), and where they are."""

    count: int
    text: str
    url: str


@dataclass(frozen=True)
class Counter:
    """An app's counter: ``count(user)`` yields its ``Waiting`` lines (none when nothing applies)."""

    count: Callable[[object], Iterable[Waiting]]


def register(order: int, roles, count: Callable[[object], Iterable[Waiting]]) -> None:
    """Count ``count(user)`` on the start page of users holding any of ``roles``, sorted by ``order``."""
    permissions.register_menu("waiting", order, roles, Counter(count))


def link(url_name: str, *args, query: str = "", fallback: str = "home") -> str:
    """The URL of a page (with a query string); ``fallback``'s if that page does not exist."""
    try:
        url = reverse(url_name, args=args)
    except NoReverseMatch:
        return reverse(fallback)
    return f"{url}?{query}" if query else url


def waiting_for(user) -> list[Waiting]:
    """Every line waiting for ``user``, in the order the apps registered them."""
    lines: list[Waiting] = []
    for counter in permissions.menu_for(user, "waiting"):
        lines.extend(counter.count(user))
    return lines


def _dockets_to_enrol(user) -> Iterable[Waiting]:
    """NPA: dockets referred to the NPA at the stations its courts serve, not yet enrolled."""
    n = permissions.visible_police_cases(user).filter(state=PoliceCase.State.REFERRED_TO_NPA).count()
    text = ngettext(
        "%(n)s docket referred to the NPA, waiting to be enrolled",
        "%(n)s dockets referred to the NPA, waiting to be enrolled",
        n,
    ) % {"n": n}
    yield Waiting(n, text, link("case-list", query="kind=dockets&state=referred_to_npa"))


register(10, {permissions.NPA_LIAISON}, _dockets_to_enrol)
