"""A small, explicit hook list: how other apps react to casework events inside the same transaction.

``casework`` must not import ``courtwatch`` or ``referrals``; they register here at start-up
(their ``reactions.py``, imported from ``AppConfig.ready``). A handler that raises rolls the
whole action back, so a reaction is as atomic as the transition that caused it.

Events:
- ``transition``: obj, name, from_state, to_state, actor, reason, note, data, at (when it took effect)
- ``police_case_opened``: police_case, actor (its incidents already linked)
- ``prosecution_enrolled``: prosecution, actor
- ``incident_changed``: incident (created, or its gang-relatedness changed)
- ``admission_recorded``: admission, previous_arrival_at (referrals: an admission stored or updated by
  intake processing); or arrivals, the arrival times of a batch stored at once (a CSV backfill)
"""

from collections import defaultdict
from collections.abc import Callable

_handlers: dict[str, list[Callable]] = defaultdict(list)


def on(event: str):
    def register(fn: Callable) -> Callable:
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn

    return register


def emit(event: str, **kwargs) -> None:
    for handler in _handlers[event]:
        handler(**kwargs)
