"""Where the demo's chains (``casework.Chains``) write: through the services, or kept for a bulk insert.

``ServiceWriter`` takes every step through ``casework.services``, one transaction per few chains, with
the reactions of the other apps (briefs, reviews, rollups): the path of the cases people open.
``BulkWriter`` takes the same steps on unsaved objects, through the models' own transition methods,
keeps each step's ``TransitionLog`` row, and ``flush()`` writes them all with ``bulk_create`` in
dependency order: the path of the years of history behind the reports. Its briefs and withdrawal
reviews are written by ``volume`` from what it kept (``removals``), as courtwatch's reactions would.
"""

import json
from datetime import UTC

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.utils import timezone

from casework import services
from casework.bulk import copy_insert
from casework.models import Accused, GangAssertion, Incident, PoliceCase, Prosecution, TransitionLog

BATCH = 2000
# What a transition does to the accused still pending (casework.services._settle_accused).
SETTLES = {
    "convict": Accused.Outcome.CONVICTED,
    "acquit": Accused.Outcome.ACQUITTED,
    "withdraw": Accused.Outcome.WITHDRAWN,
    "withdraw_provisionally": Accused.Outcome.WITHDRAWN,
    "strike_off": Accused.Outcome.WITHDRAWN,
    "divert": Accused.Outcome.DIVERTED,
}
# The model method's arguments of a prosecution step (casework.services' ``to_method``) and its logged reason.
TO_METHOD = {
    "remand": {"next_date": "next_date"},
    "transfer": {"court": "court", "next_date": "next_date"},
    "start_trial": {"next_date": "next_date"},
    "convict": {"next_date": "next_date"},
    "sentence": {"sentence": "sentence"},
    "withdraw": {"reason": "reason_code"},
    "withdraw_provisionally": {"reason": "reason_code"},
    "strike_off": {"reason": "reason_code"},
    "divert": {"programme": "programme"},
    "re_enrol": {"next_date": "next_date"},
}


class ServiceWriter:
    """Every step through casework's services, as a user's action would take it."""

    bulk = False

    def incident(self, **kwargs):
        return services.incident_create(**kwargs)

    def assert_gang(self, incident, **kwargs):
        return services.incident_assert_gang_relatedness(incident=incident, **kwargs)

    def open_case(self, **kwargs):
        return services.police_case_open(**kwargs)

    def case_step(self, case, name, *, actor, at, **kwargs):
        return services.POLICE_CASE_TRANSITIONS[name](
            case, actor=actor, version=case.version, at=at, **kwargs
        )

    def enrol(self, **kwargs):
        return services.prosecution_enrol(**kwargs)

    def step(self, p, name, *, actor, at, **kwargs):
        return services.PROSECUTION_TRANSITIONS[name](p, actor=actor, version=p.version, at=at, **kwargs)

    def accused_count(self, p) -> int:
        return p.accused.count()

    def settled(self, p):
        p.refresh_from_db()
        return p


class BulkWriter:
    """The same steps on unsaved objects, kept for ``flush()``."""

    bulk = True

    def __init__(self):
        self.incidents: list = []
        self.assertions: list = []
        self.cases: list = []
        self.links: list = []  # (case, incident)
        self.prosecutions: list = []
        self.accused: dict = {}  # id(prosecution) → [Accused]
        self.logs: list = []  # (subject, fields of its TransitionLog row)
        self.removals: list = []  # (prosecution, transition, reason, at, actor)
        self.re_enrolments: dict = {}  # id(prosecution) → when it was re-enrolled
        self.case_of: dict = {}  # id(prosecution) → its docket (bulk_create replaces p.police_case)

    # ------------------------------------------------------------------ the steps

    def incident(self, *, actor, gang_related, gang_basis, at, **fields):
        incident = Incident(created_by=actor, gang_related=gang_related, **fields)
        self.incidents.append(incident)
        if gang_related:
            self._assertion(incident, actor, True, GangAssertion.Source.EC_CLINICIAN, gang_basis, at)
        return incident

    def assert_gang(self, incident, *, actor, gang_related, basis, at):
        self._assertion(incident, actor, gang_related, GangAssertion.Source.SAPS, basis, at)
        incident.gang_related = gang_related  # the latest standing assertion rules
        return incident

    def _assertion(self, incident, actor, gang_related, source, basis, at):
        self.assertions.append(
            GangAssertion(
                incident=incident,
                gang_related=gang_related,
                source=source,
                basis=basis,
                asserted_by=actor,
                asserted_at=at,
            )
        )

    def open_case(self, *, actor, station, cas_number, offence, opened_on, incidents, at):
        serial, month, year = (int(part) for part in cas_number.split("/"))
        case = PoliceCase(
            station=station,
            cas_serial=serial,
            cas_month=month,
            cas_year=year,
            offence=offence,
            opened_on=opened_on,
            state_changed_at=at,
        )
        self.cases.append(case)
        self.links += [(case, i) for i in incidents]
        self._log(case, "open", "", actor, at, note=f"CAS {cas_number}")
        return case

    def case_step(self, case, name, *, actor, at, reason="", note=""):
        return self._move(case, name, actor=actor, at=at, reason=reason, note=note)

    def enrol(self, *, actor, police_case, court, case_number, enrolled_on, accused, at):
        p = Prosecution(
            police_case=police_case,
            court=court,
            case_number=case_number,
            enrolled_on=enrolled_on,
            state_changed_at=at,
        )
        self.prosecutions.append(p)
        self.case_of[id(p)] = police_case
        self.accused[id(p)] = [
            Accused(prosecution=p, name=a["name"], pseudonym=a["pseudonym"]) for a in accused
        ]
        self._log(p, "enrol", "", actor, at, note=f"{case_number} at {court}")
        return p

    def step(self, p, name, *, actor, at, note="", **values):
        kwargs = {arg: values[f] for f, arg in TO_METHOD.get(name, {}).items() if f in values}
        reason = values.get("reason", "")
        if name == "transfer":
            reason = values["court"].code
        elif name == "divert":
            reason = "diversion"
        was_removed = p.state in Prosecution.REMOVED_STATES
        self._move(p, name, actor=actor, at=at, reason=reason, note=note, **kwargs)
        for accused in self.accused[id(p)]:
            if name == "re_enrol":
                accused.outcome = ""
            elif name in SETTLES and not accused.outcome:
                accused.outcome = SETTLES[name]
        if name == "re_enrol":
            self.re_enrolments[id(p)] = at
        if p.state in Prosecution.REMOVED_STATES and not was_removed:
            self.removals.append((p, name, reason, at, actor))
        return p

    def accused_count(self, p) -> int:
        return len(self.accused[id(p)])

    def settled(self, p):
        return p

    def _move(self, obj, name, *, actor, at, reason="", note="", **kwargs):
        """What ``casework.transitions.apply_transition`` does to the row, without a database."""
        from_state = obj.state
        getattr(obj, name)(**kwargs)
        obj.state_changed_at = at
        if hasattr(obj, "on_state_changed"):
            obj.on_state_changed(at)
        obj.version += 1
        self._log(obj, name, from_state, actor, at, reason=reason[:60], note=note)
        return obj

    def _log(self, subject, name, from_state, actor, at, **fields):
        # The state after the step is the row's to_state: taken now, before later steps move it.
        row = {
            "transition": name,
            "from_state": from_state,
            "to_state": subject.state,
            "actor": actor,
            "at": at,
        }
        self.logs.append((subject, {**row, **fields}))

    # ------------------------------------------------------------------ the insert

    def flush(self) -> None:
        """Write everything kept, parents first (bulk_create gives each its id)."""
        insert(Incident, self.incidents)
        insert(GangAssertion, self.assertions)
        insert(PoliceCase, self.cases)
        through = PoliceCase.incidents.through
        insert(through, [through(policecase_id=c.pk, incident_id=i.pk) for c, i in self.links])
        insert(Prosecution, self.prosecutions)
        insert(Accused, [a for p in self.prosecutions for a in self.accused[id(p)]])
        write_logs(self.logs)


def write_logs(logs) -> None:
    """TransitionLog rows of saved subjects: (subject, fields) pairs; the state after each is the row's."""
    types: dict = {}
    rows = []
    for subject, fields in logs:
        model = type(subject)
        if model not in types:
            types[model] = ContentType.objects.get_for_model(model)
        rows.append(TransitionLog(content_type=types[model], object_id=subject.pk, **fields))
    insert(TransitionLog, rows)


def insert(model, objs: list) -> None:
    """Insert new objects fast, giving each its id: COPY on PostgreSQL (``casework.bulk``), one
    ``executemany`` on SQLite (bulk_create's SQL building costs more than the insert itself).

    Foreign keys are taken from the related objects, saved before; auto_now(_add) fields get now.
    Nothing is validated: the objects hold what the services would have stored.
    """
    if not objs:
        return
    fields = model._meta.concrete_fields
    for f in fields:
        if f.is_relation:
            for obj in objs:
                related = f.get_cached_value(obj, None)
                if related is not None:
                    obj.__dict__[f.attname] = related.pk  # not setattr: it would drop the cached object
    if connection.vendor == "postgresql":
        copy_insert(model, objs)
        return
    now = timezone.now()
    prepare = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                setattr(obj, f.attname, now)
        prepare.append(_sqlite_value(f))
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(model._meta.db_table)}")
        first = cur.fetchone()[0] + 1
        for n, obj in enumerate(objs):
            obj.pk = first + n
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join("%s" for _ in fields)
        names = [f.attname for f in fields]
        rows = [
            [
                getattr(obj, n) if p is None else p(getattr(obj, n))
                for n, p in zip(names, prepare, strict=True)
            ]
            for obj in objs
        ]
        cur.executemany(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})",
            rows,
        )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"


def _utc_text(value):
    """A datetime as Django's SQLite backend stores it: naive UTC text."""
    if value is None:
        return None
    return str(value.astimezone(UTC).replace(tzinfo=None) if timezone.is_aware(value) else value)


def _sqlite_value(f):
    """How a field's value is written on SQLite (None: as it is); quicker than ``get_db_prep_save``."""
    if f.is_relation or isinstance(f, models.CharField | models.TextField | models.IntegerField):
        return None
    if isinstance(f, models.BooleanField):
        return None
    if isinstance(f, models.DateTimeField):
        return _utc_text
    if isinstance(f, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(f, models.JSONField):
        return lambda v: json.dumps(v)
    return lambda v: f.get_db_prep_save(v, connection)
