"""What other apps add to casework's case pages, registered at start-up so casework imports none of them.

- ``register_links(kind, fn)``: ``fn(user, obj) -> list[Link]``, pages about this case in another app
  that this user may open (a prosecution's court-watching brief, its withdrawal reviews). A
  ``primary`` link is where a search that finds only this case takes this user.
- ``register_route(kind, fn)``: ``fn(user, obj, name) -> str | None``, the page where this user takes
  transition ``name`` instead of the case page (a court watcher records a hearing on the brief, so
  that a matter moved in court always has its hearing: one path, not two).
- ``register_form_choices(kind, fn)``: ``fn(user, obj, name, form) -> None`` fills a transition
  form's choices that another app knows (the open withdrawal reviews a re-enrolment closes).

The other app's own ``permissions`` decides inside each function; casework only asks.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    primary: bool = False


_links: dict[str, list[Callable]] = defaultdict(list)
_routes: dict[str, list[Callable]] = defaultdict(list)
_choices: dict[str, list[Callable]] = defaultdict(list)


def _add(table, kind: str, fn: Callable) -> None:
    if fn not in table[kind]:
        table[kind].append(fn)


def register_links(kind: str, fn: Callable) -> None:
    _add(_links, kind, fn)


def register_route(kind: str, fn: Callable) -> None:
    _add(_routes, kind, fn)


def register_form_choices(kind: str, fn: Callable) -> None:
    _add(_choices, kind, fn)


def _kind(obj) -> str:
    return type(obj)._meta.model_name


def links_for(user, obj) -> list[Link]:
    return [link for fn in _links[_kind(obj)] for link in fn(user, obj)]


def primary_link(user, obj) -> str | None:
    """Where this user goes for ``obj`` when a search finds nothing else (None: the case page)."""
    return next((link.url for link in links_for(user, obj) if link.primary), None)


def route_for(user, obj, name: str) -> str | None:
    for fn in _routes[_kind(obj)]:
        url = fn(user, obj, name)
        if url:
            return url
    return None


def fill_choices(user, obj, name: str, form) -> None:
    for fn in _choices[_kind(obj)]:
        fn(user, obj, name, form)
