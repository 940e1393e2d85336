"""``manage.py setup_database_roles --owner X --runtime Y --database Z``: print the psql script that makes
the two roles and the database (run once, by a superuser). See docs/security.md, "Database roles"."""

from django.core.management.base import BaseCommand, CommandError

from casework import dbroles


class Command(BaseCommand):
    help = (
        "Print the SQL (a psql script) that creates the owner role, the runtime role and the database "
        "owned by the owner. Pipe it to psql as a superuser; passwords come from psql variables."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="casetrail_owner", help="owns the tables, runs migrate")
        parser.add_argument("--runtime", default="casetrail_app", help="the role in the app's DATABASE_URL")
        parser.add_argument("--database", default="casetrail")

    def handle(self, *args, owner, runtime, database, **options):
        if owner == runtime:
            raise CommandError("The owner and the runtime role must be two different roles.")
        try:
            sql = dbroles.setup_sql(owner=owner, runtime=runtime, database=database)
        except ValueError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(sql, ending="")
