"""An asyncio MLLP server: many connections at once, several messages per connection.

Frame: 0x0B + message + 0x1C 0x0D. Each message is stored (committed) and only then is its ACK
written back, in order, on the same connection.

On PostgreSQL the common message (known facility, an assault code, valid) is decided in the event
loop without a database read and stored by group commit: the messages that arrive while a batch
is being written wait and go together in the next one, one INSERT on one of the listener's own
asynchronous connections, so a busy listener pays one commit per batch and no thread hand-offs,
and an idle one still answers a lone message at once. Whatever needs a read (an unknown facility,
a visit with no assault code, a rejected copy of a known id, a duplicate) and every message on
SQLite takes the synchronous path (``services.inbound_receive_hl7_batch``) in a worker thread.
A connection that sends garbage outside a frame is answered per frame that can be found; bytes
before a 0x0B are skipped.

Who may send (issue 10): every connection is a registered sending system. Over TLS (the default,
mutual TLS as IHE ATNA's secure node expects) the client certificate must be signed by our CA and
registered (its SHA-256 fingerprint and/or subject CN); an unknown certificate is closed without an
answer, and no certificate fails the handshake. Plain MLLP exists only when explicitly enabled, for
a loopback or VPN deployment: then only from allow-listed addresses, and every such connection is
the one configured sender. MSH-4 must be one of the sender's facilities, else AR (stored as
rejected). The senders and their facilities are held in memory (loaded at start, refreshed every
``refresh_seconds``), so the event loop still reads nothing for the common message.
"""

import asyncio
import hashlib
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection

from . import permissions, services
from .models import Channel

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1_000_000  # bytes; a larger frame is refused (AR) rather than buffered without end
MAX_BATCH = 500  # messages in one INSERT
REFRESH_SECONDS = 30  # how often the senders and their facilities are read again
HANDSHAKE_SECONDS = 10  # a TLS client that does not finish its handshake by then is dropped


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return SB + data + EB + CR


RECEIVER_ERROR = frame("MSH|^~\\&|CASETRAIL|WCG||||||ACK|ERR|P|2.5\rMSA|AR||Receiver error: resend later.\r")


def tls_context(cert: str, key: str, ca: str, crl: str = "") -> ssl.SSLContext:
    """The server side of mutual TLS: our certificate, and a client certificate signed by ``ca``
    required of every sender (TLS 1.2 at least; ``crl``: revoked client certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=ca)
    if crl:
        context.load_verify_locations(cafile=crl)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def certificate_identity(ssl_object) -> tuple[str, str]:
    """(SHA-256 fingerprint of the DER certificate, subject CN) of a verified peer, else ("", "")."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return "", ""
    subject = (ssl_object.getpeercert() or {}).get("subject", ())
    cn = next((value for rdn in subject for key, value in rdn if key == "commonName"), "")
    return hashlib.sha256(der).hexdigest(), cn


def _load_senders() -> permissions.SenderDirectory:
    """The registered senders and their facilities (a worker thread); the facility cache too."""
    close_old_connections()
    services.inbound_load_facilities()
    return permissions.sender_directory()


def _receive(raws: list[bytes], sender: permissions.Sender) -> list[bytes]:
    """The synchronous path (a worker thread): store in one transaction, return the ACK frames."""
    close_old_connections()
    try:
        answers = services.inbound_receive_hl7_batch(raws, channel=Channel.HL7_MLLP, sender=sender)
    except Exception:  # never leave a sender without an answer; nothing of the batch was stored
        log.exception("MLLP: storing %s message(s) failed", len(raws))
        return [RECEIVER_ERROR] * len(raws)
    return [frame(answer.body) for answer in answers]


def _prepare() -> dict:
    """Before serving (a worker thread): the facility cache and the parameters of our own connections."""
    close_old_connections()
    services.inbound_load_facilities()
    if connection.vendor != "postgresql":
        return {}
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)  # Django's is synchronous; psycopg's default binds on the server
    params.pop("prepare_threshold", None)  # psycopg's default: the few statement shapes we send get prepared
    return params


class MllpServer:
    """``tls``: a context from ``tls_context`` (certificate → sender). Without it, plain MLLP, which
    needs ``plain_allow`` (networks) and ``plain_sender`` (the registered sender's name)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        writers: int = 2,
        reuse_port: bool = False,
        tls: ssl.SSLContext | None = None,
        plain_allow: list | None = None,
        plain_sender: str = "",
        refresh_seconds: float = REFRESH_SECONDS,
    ):
        if tls is None and not (plain_allow and plain_sender):
            raise ValueError(
                "MLLP needs TLS with client certificates, or plain MLLP explicitly enabled with an "
                "allow-list of addresses and the sender they send as."
            )
        self.host, self.port, self.reuse_port = host, port, reuse_port
        self.tls, self.plain_allow, self.plain_sender = tls, plain_allow or [], plain_sender
        self.refresh_seconds = refresh_seconds
        self.directory = permissions.SenderDirectory({}, {}, {}, {})
        # Two writers let one batch be prepared while the other waits for its commit.
        self.writers = writers
        self.executor = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="mllp-store")
        self.connections = 0  # our own asynchronous connections (PostgreSQL)
        self.free: list[psycopg.AsyncConnection] = []  # those not writing now
        self.waiting: list[tuple] = []  # (message row, its answer, the sender's future, the sender)
        self.server: asyncio.base_events.Server | None = None

    async def store(self, raw: bytes, sender: permissions.Sender) -> bytes:
        """The ACK frame of this message, once it is committed (with whatever arrived alongside)."""
        loop = asyncio.get_running_loop()
        try:
            if not self.connections:
                raise services.NeedsDatabase  # no connection of our own (SQLite)
            row, answer = services.inbound_decide_hl7_offline(raw, sender=sender)
        except services.NeedsDatabase:
            return (await loop.run_in_executor(self.executor, _receive, [raw], sender))[0]
        except Exception:  # a bug in deciding must not cost the sender its answer
            log.exception("MLLP: deciding a message failed")
            return RECEIVER_ERROR
        if row is None:
            return frame(answer.body)
        done = loop.create_future()
        self.waiting.append((row, answer, done, sender))
        self._write_next()
        return await done

    def _write_next(self) -> None:
        if self.free and self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            asyncio.get_running_loop().create_task(self._write(self.free.pop(), batch))

    async def _write(self, conn: psycopg.AsyncConnection, batch: list[tuple]) -> None:
        rows = [row for row, _answer, _done, _sender in batch]
        loop = asyncio.get_running_loop()
        try:
            sql, values = services.inbound_insert_statement(rows, skip_duplicates=True)
            cur = await conn.execute(sql, values)  # autocommit: one statement, its own commit
            services.inbound_inserted(rows, await cur.fetchall(), skip_duplicates=True)
        except Exception:
            log.exception("MLLP: storing %s message(s) failed", len(batch))
            for _row, _answer, done, _sender in batch:  # one statement: none of them was stored
                if not done.done():
                    done.set_result(RECEIVER_ERROR)
            if conn.broken or conn.closed:
                try:
                    conn = await self._connect()
                except psycopg.Error:  # the database is away: one connection fewer until restart
                    log.exception("MLLP: reconnecting failed")
                    self.connections -= 1
                    if not self.connections:  # nobody left to write what waits: ask for a resend
                        for _row, _answer, waiting, _sender in self.waiting:
                            waiting.set_result(RECEIVER_ERROR)
                        self.waiting = []
                    return
            self.free.append(conn)
            self._write_next()
            return
        self.free.append(conn)
        self._write_next()
        stored = [row.pk for row in rows if row.pk is not None and row.status == "received"]
        if settings.CELERY_TASK_ALWAYS_EAGER:  # the task would run here, in the event loop
            await loop.run_in_executor(self.executor, services.inbound_kick, stored)
        else:
            services.inbound_kick(stored)  # hands the ids to the kicker thread
        for row, answer, done, sender in batch:
            if done.done():
                continue
            if row.pk is None:  # a duplicate: answer as the first copy was (a read: a worker thread)
                again = await loop.run_in_executor(self.executor, _receive, [row.raw or b""], sender)
                done.set_result(again[0])
            else:
                done.set_result(frame(answer.body))

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(**self.params, autocommit=True)

    def authenticate(self, writer: asyncio.StreamWriter) -> permissions.Sender | None:
        """The registered sender this connection is (its certificate; plain: its address), or None."""
        if self.tls is not None:
            fingerprint, cn = certificate_identity(writer.get_extra_info("ssl_object"))
            return self.directory.for_certificate(fingerprint, cn) if fingerprint else None
        peer = writer.get_extra_info("peername") or ("",)
        if not permissions.plain_peer_allowed(str(peer[0]), self.plain_allow):
            return None
        return self.directory.named(self.plain_sender)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        sender = self.authenticate(writer)
        if sender is None:  # no answer at all: an unknown caller learns nothing
            log.warning("MLLP %s: not a registered sender (certificate or address), closed", peer)
            writer.close()
            return
        try:
            while True:
                try:
                    await reader.readuntil(SB)  # skip anything before the start block
                    data = await reader.readuntil(EB + CR)
                except asyncio.IncompleteReadError:
                    break  # the sender closed the connection
                except asyncio.LimitOverrunError:
                    log.warning("MLLP %s: frame over the size limit, closing", peer)
                    writer.write(
                        frame("MSH|^~\\&|CASETRAIL|WCG||||||ACK|ERR|P|2.5\rMSA|AR||Message too large.\r")
                    )
                    await writer.drain()
                    break
                sender = self.directory.get(sender.id)  # as registered now (refreshed)
                if sender is None:
                    log.warning("MLLP %s: the sender is no longer registered, closing", peer)
                    break
                writer.write(await self.store(data[:-2], sender))
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            writer.close()

    async def _refresh(self) -> None:
        """Read the senders and their facilities again every ``refresh_seconds`` (a registry change
        reaches the listener without a restart; a failed read keeps the last good one)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                self.directory = await loop.run_in_executor(self.executor, _load_senders)
            except Exception:
                log.exception("MLLP: reading the sending systems failed; keeping the last ones read")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.params = await loop.run_in_executor(self.executor, _prepare)
        self.directory = await loop.run_in_executor(self.executor, _load_senders)
        if self.tls is None and self.directory.named(self.plain_sender) is None:
            raise ValueError(f"No active sending system named '{self.plain_sender}' (plain MLLP).")
        if self.params:
            self.free = [await self._connect() for _ in range(self.writers)]
            self.connections = len(self.free)
        self.server = await asyncio.start_server(
            self.handle,
            self.host,
            self.port,
            limit=MAX_MESSAGE,
            reuse_port=self.reuse_port or None,
            ssl=self.tls,
            ssl_handshake_timeout=HANDSHAKE_SECONDS if self.tls else None,
        )
        self.refresher = loop.create_task(self._refresh())
        log.info(
            "MLLP listening on %s:%s (%s)",
            self.host,
            self.port,
            "TLS, client certificates" if self.tls else f"plain, as '{self.plain_sender}'",
        )

    async def serve_forever(self) -> None:
        await self.start()
        async with self.server:
            await self.server.serve_forever()
