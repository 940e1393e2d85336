"""Inserting many new rows at once with PostgreSQL COPY (intake backfills, batch processing)."""

import json

from django.db import connection
from django.db.models import JSONField
from django.utils import timezone


def copy_insert(model, objs: list, *, prepared: tuple[type, ...] = ()) -> None:
    """Insert these unsaved objects with COPY, their ids drawn from the sequence first (bulk_create's
    SQL costs ≈ 20 µs an object). PostgreSQL only.

    auto_now / auto_now_add fields get the time of the insert and JSON fields their JSON text; fields
    of the classes in ``prepared`` go through their own ``get_prep_value`` (e.g. encryption); every
    other value is written as it is, so the objects must hold validated values.
    """
    if not objs:
        return
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    now = timezone.now()
    converters = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                setattr(obj, f.attname, now)
            converters.append((f.attname, None))
        elif isinstance(f, prepared):
            converters.append((f.attname, f.get_prep_value))
        elif isinstance(f, JSONField):
            converters.append((f.attname, json.dumps))
        else:
            converters.append((f.attname, None))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
        )
        for obj, (pk,) in zip(objs, cur.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cur.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [conv(getattr(obj, name)) if conv else getattr(obj, name) for name, conv in converters]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"
