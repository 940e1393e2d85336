from django.core.management.base import BaseCommand, CommandError

from casework.errors import InvalidInput
from referrals import dead_letters
from referrals.models import InboundMessage


class Command(BaseCommand):
    help = "Replay failed (and, with --rejected, rejected) intake messages, or one by --id."

    def add_arguments(self, parser):
        parser.add_argument("--id", type=int, help="replay this message only")
        parser.add_argument("--rejected", action="store_true", help="also replay rejected messages")

    def handle(self, *args, id=None, rejected=False, **options):
        statuses = list(InboundMessage.DEAD) if (rejected or id) else [InboundMessage.Status.FAILED]
        qs = InboundMessage.objects.filter(status__in=statuses).order_by("id")
        if id is not None:
            qs = qs.filter(pk=id)
            if not qs.exists():
                raise CommandError(f"No failed or rejected message {id}.")
        replayed = still_bad = 0
        for message in qs.iterator():
            try:
                dead_letters.dead_letter_replay(message=message, actor=None)
                replayed += 1
            except InvalidInput as e:
                still_bad += 1
                self.stderr.write(f"{message.pk}: {e}")
        self.stdout.write(f"Replayed {replayed}; still not acceptable {still_bad}.")
