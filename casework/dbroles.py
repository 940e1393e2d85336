"""Least privilege in PostgreSQL (docs/security.md, "Database roles").

Two roles: the *owner* owns the tables and runs ``manage.py migrate`` (``DATABASE_OWNER_URL``); the
*runtime* role is what the app connects as (``DATABASE_URL``). The runtime role reads and writes rows
and nothing else: it may not ALTER, DROP or TRUNCATE a table or disable its triggers (only an owner
may), and it may only SELECT and INSERT in the append-only tables. This module is the SQL plumbing
behind ``migrate`` (as the owner), ``grant_runtime_role`` and ``setup_database_roles``.
"""

import re
from contextlib import contextmanager

import environ
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction

# The append-only tables, by model: permanent records (audit logs) that the runtime role may only
# SELECT and INSERT, plus the privileges named beside a model (its trigger then decides which of those
# statements pass). When you protect a table against UPDATE/DELETE with a trigger, add its model here;
# tests/security/test_database_roles.py fails while a table with such a trigger is missing.
APPEND_ONLY_MODELS: dict[str, tuple[str, ...]] = {
    "casework.TransitionLog": (),
    "referrals.IdentityRead": (),
    # The retention purge blanks ``details``; the table's trigger refuses every other UPDATE.
    "referrals.IdentityVersion": ("UPDATE",),
}
# Written by ``migrate`` only: the runtime role may read it (runserver's check) but not forge history.
READ_ONLY_TABLES = ("django_migrations",)

TRUNCATE_GUARD = "casetrail_refuse_truncate"
# Statement-level, so it costs nothing per row. The owner may still TRUNCATE (the test runner resets
# tables that way, and an owner could drop the trigger anyway): the guard is a second lock against a
# runtime role that was granted TRUNCATE by mistake.
TRUNCATE_GUARD_FUNCTION = f"""
CREATE FUNCTION {TRUNCATE_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$"""

PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def plain_identifier(name: str) -> str:
    """A role or database name quoted for SQL. Only plain lower-case names are taken, so the name can
    also be written inside a string literal and no quoting can be escaped."""
    if not PLAIN_NAME.fullmatch(name or ""):
        raise ValueError(f"Not a plain PostgreSQL name (a-z, 0-9, _; not starting with a digit): {name!r}")
    return f'"{name}"'


def append_only_tables() -> dict[str, tuple[str, ...]]:
    """{table: the privileges beyond SELECT and INSERT the runtime role keeps on it}."""
    return {apps.get_model(label)._meta.db_table: extra for label, extra in APPEND_ONLY_MODELS.items()}


def _existing(cur, tables) -> list[str]:
    cur.execute("SELECT t FROM unnest(%s::text[]) t WHERE to_regclass(quote_ident(t)) IS NOT NULL", [tables])
    return [t for (t,) in cur.fetchall()]


def install_truncate_guards(connection) -> list[str]:
    """Put the TRUNCATE guard on every append-only table this connection's role owns; idempotent, and
    no DDL at all when the guards are in place. Returns the tables guarded by this call."""
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    added = []
    with connection.cursor() as cur:
        cur.execute(
            """SELECT c.relname FROM pg_class c
               WHERE c.oid = ANY(ARRAY(SELECT to_regclass(quote_ident(t)) FROM unnest(%s::text[]) AS t))
                 AND pg_has_role(current_user, c.relowner, 'MEMBER')
                 AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = %s)""",
            [list(append_only_tables()), f"{TRUNCATE_GUARD}_trigger"],
        )
        missing = [t for (t,) in cur.fetchall()]
        if not missing:
            return []
        cur.execute("SELECT to_regprocedure(%s) IS NULL", [f"{TRUNCATE_GUARD}()"])
        if cur.fetchone()[0]:
            cur.execute(TRUNCATE_GUARD_FUNCTION)
        for table in missing:
            cur.execute(
                f"CREATE TRIGGER {TRUNCATE_GUARD}_trigger BEFORE TRUNCATE ON {quote(table)} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE_GUARD}()"
            )
            added.append(table)
    return added


def grant_runtime_role(connection, role: str) -> None:
    """Give ``role`` exactly the runtime privileges on every table in the schema, as the owner.

    Exact: everything the role held on tables and sequences is revoked first, so a mistaken earlier
    grant (ALL, TRUNCATE) does not survive. Default privileges give tables made by later migrations
    the ordinary grants; ``migrate`` calls this again afterwards, which restricts new append-only tables.
    """
    r = plain_identifier(role)
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        cur.execute(
            """SELECT current_schema(), current_database(), pg_has_role(current_user, d.datdba, 'MEMBER'),
                      pg_has_role(current_user, n.nspowner, 'MEMBER')
               FROM pg_database d, pg_namespace n
               WHERE d.datname = current_database() AND n.nspname = current_schema()"""
        )
        schema, database, owns_database, owns_schema = cur.fetchone()
        s = quote(schema)
        statements = []
        if owns_database:  # else setup_database_roles granted it (as a superuser)
            statements.append(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database)} TO {r}")
        if owns_schema:
            statements.append(f"GRANT USAGE ON SCHEMA {s} TO {r}")
        statements += [
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        ]
        append_only = append_only_tables()
        for table in _existing(cur, list(append_only)):
            refused = ", ".join(p for p in ("UPDATE", "DELETE") if p not in append_only[table])
            if refused:
                statements.append(f"REVOKE {refused} ON {quote(table)} FROM {r}")
        for table in _existing(cur, list(READ_ONLY_TABLES)):
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {quote(table)} FROM {r}")
        for statement in statements:
            cur.execute(statement)
        install_truncate_guards(connection)


def owner_settings() -> dict:
    """The connection settings of DATABASE_OWNER_URL, or {} when it is not set.

    Only its user, password, host and port are used: ``migrate`` always migrates the database the
    app uses (DATABASE_URL's, or the test runner's test database), never another one by accident.
    """
    url = getattr(settings, "DATABASE_OWNER_URL", "")
    if not url:
        return {}
    config = environ.Env.db_url_config(url)
    # Never the runtime role's password for the owner; its host and port unless the URL names others.
    owner = {"USER": config.get("USER") or "", "PASSWORD": config.get("PASSWORD") or ""}
    return owner | {key: config[key] for key in ("HOST", "PORT") if config.get(key)}


@contextmanager
def connected_as(alias: str, **overrides):
    """Within the block, the ``alias`` connection logs in with ``overrides`` (USER, PASSWORD…) instead."""
    connection = connections[alias]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(overrides)
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _hand_objects_to(owner: str) -> str:
    """The psql lines that give every table, sequence, view and function of ``public`` to ``owner``."""
    return f"""\
-- A database made before the split (tables owned by a superuser): hand every object to the owner.
-- Sequences of identity and serial columns follow their table.
DO $$
DECLARE obj record;
BEGIN
    FOR obj IN
        SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                              WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %I OWNER TO %I', obj.kind, obj.relname, '{owner}');
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', obj.fn, '{owner}');
    END LOOP;
END
$$;"""


def setup_sql(*, owner: str, runtime: str, database: str) -> str:
    """The psql script a superuser runs once to make both roles and the database (docs/security.md)."""
    o, r = plain_identifier(owner), plain_identifier(runtime)
    db = plain_identifier(database)
    return f"""\
-- Casetrail database roles (docs/security.md, "Database roles"). Run once, as a superuser, with psql:
--   manage.py setup_database_roles --owner {owner} --runtime {runtime} --database {database} \\
--     | psql -v owner_password="$OWNER_PASSWORD" -v runtime_password="$RUNTIME_PASSWORD" \\
--            "postgres://postgres@HOST:5432/postgres"
-- Safe to run again. Then: DATABASE_OWNER_URL=postgres://{owner}:...@HOST/{database} runs migrate,
-- DATABASE_URL=postgres://{runtime}:...@HOST/{database} runs the app.
\\set ON_ERROR_STOP 1
SELECT 'CREATE ROLE {o}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}')
\\gexec
SELECT 'CREATE ROLE {r}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{runtime}')
\\gexec
-- Neither is a superuser; the runtime role is not a member of the owner, so it inherits nothing.
ALTER ROLE {o} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SELECT 'REVOKE {o} FROM {r}' WHERE pg_has_role('{runtime}', '{owner}', 'MEMBER')
\\gexec
\\if :{{?owner_password}}
ALTER ROLE {o} PASSWORD :'owner_password';
\\endif
\\if :{{?runtime_password}}
ALTER ROLE {r} PASSWORD :'runtime_password';
\\endif
SELECT 'CREATE DATABASE {db} OWNER {o}'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')
\\gexec
ALTER DATABASE {db} OWNER TO {o};
REVOKE ALL ON DATABASE {db} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {o}, {r};
\\connect {database}
ALTER SCHEMA public OWNER TO {o};
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {r};
{_hand_objects_to(owner)}
-- Tables the owner makes from now on are readable and writable by the runtime role; migrate narrows
-- the append-only ones (casework/dbroles.py).
ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r};
ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {r};
"""
