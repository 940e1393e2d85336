import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

from referrals import permissions
from referrals.mllp import (
    FRAME_SECONDS,
    IDLE_SECONDS,
    MAX_CONNECTIONS,
    REFRESH_SECONDS,
    MllpServer,
    tls_context,
)


def _die_with_parent() -> None:
    """Linux: a child listener gets SIGTERM when the parent listener goes away."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Command(BaseCommand):
    help = (
        "Listen for HL7 v2 messages over MLLP: store each, then answer its ACK. TLS with client "
        "certificates (--cert --key --ca); plain MLLP only with --plain, --plain-allow and --plain-sender."
    )

    def add_arguments(self, parser):
        env = os.environ.get
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument(
            "--writers", type=int, default=2, help="database writer threads per process (group commit)"
        )
        parser.add_argument(
            "--processes", type=int, default=1, help="listener processes sharing the port (SO_REUSEPORT)"
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--refresh-seconds",
            type=float,
            default=REFRESH_SECONDS,
            help="how often the registered senders and their facilities are read again",
        )
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=float(env("MLLP_IDLE_SECONDS", IDLE_SECONDS)),
            help="a connection with no byte for this long is closed [MLLP_IDLE_SECONDS]",
        )
        parser.add_argument(
            "--frame-seconds",
            type=float,
            default=float(env("MLLP_FRAME_SECONDS", FRAME_SECONDS)),
            help="a frame not ended this long after its start block is dropped, unanswered "
            "[MLLP_FRAME_SECONDS]",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            default=int(env("MLLP_MAX_CONNECTIONS", MAX_CONNECTIONS)),
            help="connections served at once per process; more are closed at once [MLLP_MAX_CONNECTIONS]",
        )
        self._security_arguments(parser)

    @staticmethod
    def _security_arguments(parser):
        """TLS with client certificates, or plain MLLP explicitly enabled."""
        env = os.environ.get
        parser.add_argument(
            "--cert", default=env("MLLP_TLS_CERT", ""), help="server certificate (PEM) [MLLP_TLS_CERT]"
        )
        parser.add_argument("--key", default=env("MLLP_TLS_KEY", ""), help="its private key [MLLP_TLS_KEY]")
        parser.add_argument(
            "--ca",
            default=env("MLLP_TLS_CA", ""),
            help="CA that signs the senders' client certificates [MLLP_TLS_CA]",
        )
        parser.add_argument(
            "--crl", default=env("MLLP_TLS_CRL", ""), help="revoked client certificates [MLLP_TLS_CRL]"
        )
        parser.add_argument(
            "--plain",
            action="store_true",
            help="plain MLLP without TLS: only for a loopback or VPN deployment, with --plain-allow",
        )
        parser.add_argument(
            "--plain-allow",
            default=env("MLLP_PLAIN_ALLOW", ""),
            help="addresses / networks allowed to connect in plain mode, e.g. 127.0.0.1,10.8.0.0/16 "
            "[MLLP_PLAIN_ALLOW]",
        )
        parser.add_argument(
            "--plain-sender",
            default=env("MLLP_PLAIN_SENDER", ""),
            help="the registered sending system every plain connection is [MLLP_PLAIN_SENDER]",
        )

    def handle(
        self,
        *args,
        host,
        port,
        writers,
        processes,
        reuse_port,
        refresh_seconds,
        idle_seconds,
        frame_seconds,
        max_connections,
        **options,
    ):
        if idle_seconds <= 0 or frame_seconds <= 0 or max_connections < 1:
            raise CommandError(
                "--idle-seconds and --frame-seconds must be above 0, --max-connections at least 1."
            )
        logging.basicConfig(level=logging.INFO)
        tls, allow, mode = self._security(options)
        children = []
        if processes > 1:
            reuse_port = True
            argv = [sys.executable, sys.argv[0], "mllp_listen", "--host", host, "--port", str(port)]
            argv += ["--writers", str(writers), "--reuse-port", "--refresh-seconds", str(refresh_seconds)]
            argv += ["--idle-seconds", str(idle_seconds), "--frame-seconds", str(frame_seconds)]
            argv += ["--max-connections", str(max_connections)]
            for name in ("cert", "key", "ca", "crl", "plain_allow", "plain_sender"):
                if options[name]:
                    argv += [f"--{name.replace('_', '-')}", options[name]]
            argv += ["--plain"] if options["plain"] else []
            for _ in range(processes - 1):
                children.append(subprocess.Popen(argv, preexec_fn=_die_with_parent))  # noqa: PLW1509
        server = MllpServer(
            host,
            port,
            writers=writers,
            reuse_port=reuse_port,
            tls=tls,
            plain_allow=allow,
            plain_sender=options["plain_sender"],
            refresh_seconds=refresh_seconds,
            idle_seconds=idle_seconds,
            frame_seconds=frame_seconds,
            max_connections=max_connections,
        )
        self.stdout.write(f"MLLP listening on {host}:{port} ({processes} process(es), {mode})", ending="\n")
        self.stdout.flush()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(server.serve_forever())
        except ValueError as e:  # e.g. the plain sender is not registered
            raise CommandError(str(e)) from e
        finally:
            for child in children:
                child.terminate()

    def _security(self, options):
        """TLS with client certificates, or plain MLLP only when explicitly enabled and allow-listed."""
        cert, key, ca = options["cert"], options["key"], options["ca"]
        if options["plain"]:
            if cert or key or ca:
                raise CommandError("Give either --plain or --cert/--key/--ca, not both (one listener each).")
            try:
                allow = permissions.parse_networks(options["plain_allow"])
            except ValueError as e:
                raise CommandError(f"--plain-allow: {e}") from e
            if not allow:
                raise CommandError("--plain needs --plain-allow (MLLP_PLAIN_ALLOW): who may connect.")
            if any(net.prefixlen == 0 for net in allow):
                raise CommandError("--plain-allow: every address is not an allow-list; use TLS instead.")
            if not options["plain_sender"]:
                raise CommandError("--plain needs --plain-sender (MLLP_PLAIN_SENDER): who they send as.")
            shown = ", ".join(str(n) for n in allow)
            return None, allow, f"plain MLLP from {shown} as '{options['plain_sender']}'"
        missing = [n for n, v in (("--cert", cert), ("--key", key), ("--ca", ca)) if not v]
        if missing:
            raise CommandError(
                f"MLLP runs over TLS with client certificates: give {', '.join(missing)} "
                "(or MLLP_TLS_CERT / MLLP_TLS_KEY / MLLP_TLS_CA). Plain MLLP only with --plain, "
                "--plain-allow and --plain-sender."
            )
        try:
            return tls_context(cert, key, ca, options["crl"]), None, "TLS, client certificates required"
        except (OSError, ValueError) as e:
            raise CommandError(f"TLS: {e}") from e
