"""CSV files on PostgreSQL: their validated rows staged at upload (COPY into the UNLOGGED
``StagedRow``), then processed set-based from there. docs/intake.md, "CSV".

The staged rows are a cache of the validation, not the truth: after a crash the table is empty
and processing validates the raw file again (the path SQLite always takes).
"""

import json
from datetime import date

from django.conf import settings
from django.db import connection
from django.utils import timezone

from casework import reactions
from casework.models import Facility, Suburb

from ..crypto import encrypt
from ..models import Admission, Channel, InboundMessage, PatientIdentity, StagedRow, age_band
from ..parsing.common import Record, paused_gc
from . import incidents
from .admissions import Lookups, apply_record, identity_of, pseudonym_of

_STAGED_COLUMNS = (
    "message_id", "row", "repeat", "facility_id", "visit_number", "arrival_at", "injury_at", "age_years",
    "age_band", "sex", "role", "mechanism", "icd10_codes", "triage", "place_type", "suburb_text",
    "suburb_id", "latitude", "longitude", "disposition", "police_informed", "gang_suspected", "pseudonym",
    "details",
)  # fmt: skip


def suburb_index() -> dict[str, int]:
    """Suburb id by lower-cased code and name: what ``Lookups.suburb`` answers, for a whole file."""
    index: dict[str, int] = {}
    for pk, code, name in Suburb.objects.order_by(*(Suburb._meta.ordering or ["pk"])).values_list(
        "pk", "code", "name"
    ):
        index.setdefault(code.lower(), pk)  # the first suburb in order wins, like .first()
        index.setdefault(name.lower(), pk)
    return index


def stage_rows(message: InboundMessage, records: list[Record], facilities: dict[str, Facility]) -> None:
    """COPY a file's validated rows into StagedRow, in the upload's transaction.

    Everything the admission needs is computed here, once: mechanism, age band, suburb,
    pseudonym and the identity token (one Fernet encryption per row). psycopg sends the rows
    while Python prepares the next ones, so PostgreSQL works on the other core meanwhile.
    """
    suburbs = suburb_index()
    seen: set[tuple[int, str]] = set()
    table = connection.ops.quote_name(StagedRow._meta.db_table)
    with (
        paused_gc(),
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY {table} ({', '.join(_STAGED_COLUMNS)}) FROM STDIN") as copy,
    ):
        for rec in records:
            facility_id = facilities[rec.facility_code].pk
            key = (facility_id, rec.visit_number)
            repeat = key in seen
            seen.add(key)
            copy.write_row(
                (
                    message.pk,
                    rec.row,
                    repeat,
                    facility_id,
                    rec.visit_number,
                    rec.arrival_at,
                    rec.injury_at,
                    rec.age_years,
                    age_band(rec.age_years),
                    rec.sex,
                    rec.role,
                    rec.mechanism,
                    json.dumps(rec.icd10_codes),
                    rec.triage,
                    rec.place_type,
                    rec.suburb_text[:120],
                    suburbs.get(rec.suburb_text.lower()) if rec.suburb_text else None,
                    rec.latitude,
                    rec.longitude,
                    rec.disposition,
                    rec.police_informed,
                    rec.gang_suspected,
                    pseudonym_of(rec),
                    encrypt(json.dumps(identity_of(rec), sort_keys=True)),
                )
            )


def has_staged_rows(message: InboundMessage) -> bool:
    return (
        message.channel == Channel.CSV
        and connection.vendor == "postgresql"
        and StagedRow.objects.filter(message=message).exists()
    )


def _join_staged_incidents(cur, message: InboundMessage) -> None:
    """The joining rule over a staged file's new visits; leaves temp table staged_incident(staged, incident).

    The same rule and order as ``admissions.apply_new``: per (suburb, mechanism), in time order, an
    admission joins the nearest incident within the window (one that exists, or one this file
    made earlier), else a new incident is made at its injury time through casework.
    """
    cur.execute(
        f"""SELECT id, suburb_id, mechanism, COALESCE(injury_at, arrival_at), place_type,
                   disposition = 'died', gang_suspected IS TRUE,
                   CASE WHEN gang_suspected THEN facility_id END,
                   CASE WHEN gang_suspected THEN visit_number END
            FROM {StagedRow._meta.db_table}
            WHERE message_id = %s AND NOT repeat AND suburb_id IS NOT NULL AND mechanism <> ''
            ORDER BY suburb_id, mechanism, 4, row""",
        [message.pk],
    )
    rows = cur.fetchall()
    # Dropped at commit; another file in the same transaction finds it and empties it.
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staged_incident (staged bigint, incident bigint) ON COMMIT DROP"
    )
    cur.execute("TRUNCATE staged_incident")
    if not rows:
        return
    index = incidents.IncidentIndex({(r[1], r[2]) for r in rows}, [r[3] for r in rows])
    # per row: an existing incident id, or the new Incident object
    chosen = [index.join((r[1], r[2]), r[3], place_type=r[4], fatal=r[5]) for r in rows]
    index.create_new()
    with cur.cursor.copy("COPY staged_incident (staged, incident) FROM STDIN") as copy:
        for row, ref in zip(rows, chosen, strict=True):
            copy.write_row((row[0], ref if isinstance(ref, int) else ref.pk))
    gang = [
        (ref if isinstance(ref, int) else ref.pk, r[7], r[8])
        for r, ref in zip(rows, chosen, strict=True)
        if r[6]
    ]
    codes = dict(Facility.objects.filter(pk__in={f for _i, f, _v in gang}).values_list("pk", "code"))
    incidents.assert_gang_suspected([(i, incidents.gang_basis(codes[f], v)) for i, f, v in gang])


def _record_of_staged(row: StagedRow, facility_code: str) -> Record:
    """A staged row back to the Record it was made from (for the one-by-one update path)."""
    identity = row.details
    return Record(
        facility_code=facility_code,
        visit_number=row.visit_number,
        arrival_at=row.arrival_at,
        event="CSV",
        injury_at=row.injury_at,
        date_of_birth=date.fromisoformat(identity["date_of_birth"]) if identity["date_of_birth"] else None,
        age_years=row.age_years,
        sex=row.sex,
        role=row.role,
        icd10_codes=row.icd10_codes,
        triage=row.triage,
        place_type=row.place_type,
        suburb_text=row.suburb_text,
        latitude=None if row.latitude is None else float(row.latitude),
        longitude=None if row.longitude is None else float(row.longitude),
        disposition=row.disposition,
        police_informed=row.police_informed,
        gang_suspected=row.gang_suspected,
        name=identity["name"],
        identifiers=identity["identifiers"],
        contact=identity["contact"],
        row=row.row,
    )


def apply_staged(message: InboundMessage, lookups: Lookups) -> tuple[int, Admission | None]:
    """Process a CSV file from its rows staged at upload: (admissions written, the last one).

    New visits go in set-based (one INSERT … SELECT for admissions and identities, incidents
    joined by ``_join_staged_incidents``); rows that update a known visit, or repeat a visit of
    an earlier row, go through ``apply_record`` one by one afterwards, as in every channel.
    """
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {StagedRow._meta.db_table} s SET repeat = true FROM {Admission._meta.db_table} a
                WHERE s.message_id = %s AND NOT s.repeat
                  AND a.facility_id = s.facility_id AND a.visit_number = s.visit_number""",
            [message.pk],
        )
        with paused_gc():  # a million rows and incidents in memory: see paused_gc
            _join_staged_incidents(cur, message)
        count = _insert_staged(cur, message)
        _emit_staged_days(cur, message)
    last = Admission.objects.filter(message=message).order_by("-source_row").first() if count else None
    updates = StagedRow.objects.filter(message=message, repeat=True).order_by("row")
    codes = dict(Facility.objects.values_list("pk", "code"))
    for row in updates.iterator():
        admission = apply_record(_record_of_staged(row, codes[row.facility_id]), message, lookups)
        if admission is not None:
            count, last = count + 1, admission
    StagedRow.objects.filter(message=message).delete()
    return count, last


def _insert_staged(cur, message: InboundMessage) -> int:
    """Admissions and identities of the file's new visits by one INSERT … SELECT; how many."""
    staged, admissions = StagedRow._meta.db_table, Admission._meta.db_table
    args = {"message": message.pk, "now": timezone.now()}
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [admissions])
    args["sequence"] = cur.fetchone()[0]
    # Ids drawn in the read of the staged rows, so admissions and identities are both written
    # from one pass over them (a join back on the visit spilled a million rows to disk). The
    # hash of the incident choices (16 bytes a row) fits in memory with a larger work_mem.
    cur.execute("SET LOCAL work_mem = '256MB'")
    cur.execute(
        f"""WITH src AS MATERIALIZED (
                SELECT nextval(%(sequence)s::regclass) AS admission_id, s.*, i.incident
                FROM {staged} s LEFT JOIN staged_incident i ON i.staged = s.id
                WHERE s.message_id = %(message)s AND NOT s.repeat),
            new AS (
                INSERT INTO {admissions} (
                    id, facility_id, visit_number, arrival_at, injury_at, age_years, age_band, sex, role,
                    mechanism, icd10_codes, triage, place_type, suburb_text, suburb_id, latitude,
                    longitude, disposition, police_informed, gang_suspected, pseudonym, incident_id,
                    message_id, source_row, event, created_at, updated_at)
                SELECT admission_id, facility_id, visit_number, arrival_at, injury_at, age_years,
                       age_band, sex, COALESCE(NULLIF(role, ''), 'victim'), mechanism, icd10_codes,
                       triage, place_type, suburb_text, suburb_id, latitude, longitude, disposition,
                       police_informed, gang_suspected, pseudonym, incident, message_id, row,
                       'CSV', %(now)s, %(now)s
                FROM src)
            INSERT INTO {PatientIdentity._meta.db_table}
                (admission_id, details, updated_at)
            SELECT admission_id, details, %(now)s FROM src""",
        args,
    )
    return cur.rowcount


def _emit_staged_days(cur, message: InboundMessage) -> None:
    args = {"message": message.pk, "zone": settings.TIME_ZONE}
    # One event for the file: one arrival per day is all reporting needs to refresh the days.
    cur.execute(
        f"""SELECT min(arrival_at) FROM {StagedRow._meta.db_table}
            WHERE message_id = %(message)s AND NOT repeat
            GROUP BY (arrival_at AT TIME ZONE %(zone)s)::date""",
        args,
    )
    reactions.emit("admission_recorded", arrivals=[t for (t,) in cur.fetchall()])
