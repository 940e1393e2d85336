"""``manage.py migrate``, as the owner role when DATABASE_OWNER_URL is set (docs/security.md, "Database
roles").

The app's connection (DATABASE_URL) is the runtime role, which may not create or alter tables. With
DATABASE_OWNER_URL set, this logs the same connection in as the owner for the migrations, then gives
the runtime role exactly its privileges again (new tables included, append-only ones narrowed). On
PostgreSQL it (re)installs the TRUNCATE guards of the append-only tables in every case.
"""

import environ
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from casework import dbroles


class Command(migrate.Command):
    help = migrate.Command.help + " Runs as the owner role of DATABASE_OWNER_URL when that is set."

    def handle(self, *args, **options):
        alias = options["database"]
        owner = dbroles.owner_settings() if alias == DEFAULT_DB_ALIAS else {}
        only_looking = options["plan"] or options["check_unapplied"]
        if not owner:
            super().handle(*args, **options)
            if not only_looking:
                dbroles.install_truncate_guards(connections[alias])
            return
        if connections[alias].vendor != "postgresql":
            raise CommandError("DATABASE_OWNER_URL is set but DATABASE_URL is not a PostgreSQL database.")
        runtime = connections[alias].settings_dict.get("USER") or ""
        named = environ.Env.db_url_config(settings.DATABASE_OWNER_URL).get("NAME")
        if named and named != connections[alias].settings_dict["NAME"]:
            self.stderr.write(
                f"DATABASE_OWNER_URL names the database {named}; migrating "
                f"{connections[alias].settings_dict['NAME']}, DATABASE_URL's, as its owner."
            )
        with dbroles.connected_as(alias, **owner) as connection:
            super().handle(*args, **options)
            if only_looking:
                return
            if runtime and runtime != owner.get("USER"):
                dbroles.grant_runtime_role(connection, runtime)
                if options["verbosity"]:
                    self.stdout.write(f"Runtime role {runtime}: privileges granted again.")
            else:
                dbroles.install_truncate_guards(connection)
