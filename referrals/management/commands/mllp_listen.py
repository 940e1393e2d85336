import asyncio
import contextlib
import logging

from django.core.management.base import BaseCommand

from referrals.mllp import MllpServer


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP: store each, then answer its ACK."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument("--threads", type=int, default=16, help="database writer threads")

    def handle(self, *args, host, port, threads, **options):
        logging.basicConfig(level=logging.INFO)
        server = MllpServer(host, port, threads=threads)
        self.stdout.write(f"MLLP listening on {host}:{port}", ending="\n")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.serve_forever())
