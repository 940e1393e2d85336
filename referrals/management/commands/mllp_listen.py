import asyncio
import contextlib
import ctypes
import logging
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand

from referrals.mllp import MllpServer


def _die_with_parent() -> None:
    """Linux: a child listener gets SIGTERM when the parent listener goes away."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP: store each, then answer its ACK."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument(
            "--writers", type=int, default=2, help="database writer threads per process (group commit)"
        )
        parser.add_argument(
            "--processes", type=int, default=1, help="listener processes sharing the port (SO_REUSEPORT)"
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse_hidden())

    def handle(self, *args, host, port, writers, processes, reuse_port, **options):
        logging.basicConfig(level=logging.INFO)
        children = []
        if processes > 1:
            reuse_port = True
            argv = [sys.executable, sys.argv[0], "mllp_listen", "--host", host, "--port", str(port)]
            argv += ["--writers", str(writers), "--reuse-port"]
            for _ in range(processes - 1):
                children.append(subprocess.Popen(argv, preexec_fn=_die_with_parent))  # noqa: PLW1509
        server = MllpServer(host, port, writers=writers, reuse_port=reuse_port)
        self.stdout.write(f"MLLP listening on {host}:{port} ({processes} process(es))", ending="\n")
        self.stdout.flush()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(server.serve_forever())
        finally:
            for child in children:
                child.terminate()


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
