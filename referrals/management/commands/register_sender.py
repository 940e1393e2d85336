import hashlib
import ssl
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from casework.models import Facility
from referrals import permissions, services
from referrals.models import SendingSystem


class Command(BaseCommand):
    help = (
        "Register (or update) a sending system: the facilities it may send for and its credential "
        "(the client certificate for MLLP over TLS; its account's API token over HTTP)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--facility", action="append", default=[], help="facility code it may send for (repeat)"
        )
        parser.add_argument(
            "--cert-file", default="", help="its client certificate (PEM): pins the fingerprint"
        )
        parser.add_argument("--fingerprint", default="", help="SHA-256 fingerprint of its client certificate")
        parser.add_argument("--cn", default="", help="subject CN of its client certificate")
        parser.add_argument("--username", default="", help="an existing account to use (default: made)")
        parser.add_argument("--inactive", action="store_true")

    def handle(self, *args, name, facility, cert_file, fingerprint, cn, username, inactive, **options):
        facilities = list(Facility.objects.filter(code__in=facility))
        unknown = sorted(set(facility) - {f.code for f in facilities})
        if unknown:
            raise CommandError(f"--facility: unknown code(s) {', '.join(unknown)}")
        if cert_file:
            try:
                fingerprint = hashlib.sha256(
                    ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())
                ).hexdigest()
            except (OSError, ValueError) as e:
                raise CommandError(f"--cert-file: {e}") from e
        account = None
        if username:
            account = get_user_model().objects.filter(username=username).first()
            if account is None:
                raise CommandError(f"--username: no account '{username}'")
        system = SendingSystem.objects.filter(name=name).first()
        try:
            if system is None:
                system = services.sending_system_register(
                    name=name,
                    facilities=facilities,
                    account=account,
                    certificate_sha256=fingerprint,
                    certificate_subject=cn,
                    active=not inactive,
                )
            else:
                system = services.sending_system_update(
                    system=system,
                    facilities=facilities if facility else None,
                    certificate_sha256=fingerprint or None,
                    certificate_subject=cn or None,
                    active=not inactive,
                )
        except ValidationError as e:
            raise CommandError(f"{e.message_dict if hasattr(e, 'message_dict') else e}") from e
        codes = ", ".join(sorted(f.code for f in permissions.sender_facilities(system))) or "none"
        self.stdout.write(
            f"Sending system '{system.name}' (account {system.account.username}, "
            f"{'active' if system.active else 'inactive'}): facilities {codes}; "
            f"certificate {system.certificate_sha256 or '-'} CN {system.certificate_subject or '-'}"
        )
