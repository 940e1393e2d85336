"""``manage.py grant_runtime_role ROLE``: give the app's runtime role exactly its privileges, as the owner.

``migrate`` does this itself when DATABASE_OWNER_URL is set; this command is for doing it by hand
(run it with DATABASE_URL naming the owner). See docs/security.md, "Database roles".
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from casework import dbroles


class Command(BaseCommand):
    help = (
        "Grant ROLE the runtime privileges: rows of ordinary tables read and written, append-only tables "
        "SELECT and INSERT only, no DDL, no TRUNCATE. Run as the role that owns the tables."
    )

    def add_arguments(self, parser):
        parser.add_argument("role")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, role, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only; this database is not one.")
        try:
            dbroles.plain_identifier(role)
        except ValueError as e:
            raise CommandError(str(e)) from e
        with connection.cursor() as cur:
            cur.execute(
                "SELECT rolsuper, pg_has_role(%s, current_user, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                [role, role],
            )
            found = cur.fetchone()
        if found is None:
            raise CommandError(f"No role named '{role}': create it first (manage.py setup_database_roles).")
        if found[0] or found[1]:
            raise CommandError(
                f"'{role}' is a superuser or a member of the owner: it would keep every privilege. "
                "The runtime role must be a role of its own."
            )
        dbroles.grant_runtime_role(connection, role)
        self.stdout.write(f"Runtime role {role}: privileges granted (append-only tables: SELECT and INSERT).")
