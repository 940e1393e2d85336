from django.core.management.base import BaseCommand

from referrals import retention


class Command(BaseCommand):
    help = (
        "Purge patient identity (and the raw messages that carry it) that no matter needs any more: "
        "IDENTITY_RETENTION_YEARS after every linked case ended, or after the last event of an "
        "admission with no police case. The de-identified record and every count stay. "
        "The daily schedule runs the same thing (referrals.tasks.purge_identities)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")

    def handle(self, *args, dry_run=False, **options):
        result = retention.purge_identities(dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(
            f"{verb} the identity of {sum(result.patients.values())} patients "
            f"({result.total_identities} admissions: {result.identities[retention.RULE_FINALISED]} "
            f"{retention.RULE_FINALISED}, {result.identities[retention.RULE_NO_CASE]} "
            f"{retention.RULE_NO_CASE}), {result.identity_versions} identity versions and "
            f"{result.total_messages} raw messages; matters ended before "
            f"{result.cutoff:%Y-%m-%d} ({result.years} years)."
        )
