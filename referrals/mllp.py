"""An asyncio MLLP server: many connections at once, several messages per connection.

Frame: 0x0B + message + 0x1C 0x0D. Each message is stored (committed) and only then is its ACK
written back, in order, on the same connection.

On PostgreSQL the common message (known facility, an assault code, valid) is decided in the event
loop without a database read and stored by group commit: the messages that arrive while a batch
is being written wait and go together in the next one, one INSERT on one of the listener's own
asynchronous connections, so a busy listener pays one commit per batch and no thread hand-offs,
and an idle one still answers a lone message at once. Whatever needs a read (an unknown facility,
a visit with no assault code, a rejected copy of a known id, a duplicate) and every message on
SQLite takes the synchronous path (``receive.inbound_receive_hl7_batch``) in a worker thread.
A connection that sends garbage outside a frame is answered per frame that can be found; bytes
before a 0x0B are skipped. A new 0x0B before the end block ends the broken frame: it is answered AE
(stored as rejected, raw kept) and the next message is read on its own.

Every answer echoes MSH-10 in MSA-2 when it can be read and carries an ERR with an HL7 table 0357
code; AR with 207 is the only "resend later" (see ``receive.RESEND_LATER``).

Bounded (issue 11): a connection with no byte for ``idle_seconds`` is closed, a frame not ended
``frame_seconds`` after its start block is dropped unanswered (nothing stored) and the connection
closed, a frame over ``MAX_MESSAGE`` is refused, and beyond ``max_connections`` a new connection is
closed at once, so the listener holds at most ``max_connections`` × ``MAX_MESSAGE`` of frames.

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
import contextlib
import ctypes
import hashlib
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection

from . import permissions, tasks
from .intake import receive, store
from .models import Channel

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1_000_000  # bytes; a larger frame is refused (AR) rather than buffered without end
MAX_BATCH = 500  # messages in one INSERT
REFRESH_SECONDS = 30  # how often the senders and their facilities are read again
HANDSHAKE_SECONDS = 10  # a TLS client that does not finish its handshake by then is dropped
IDLE_SECONDS = 60  # a connection with no byte for this long is closed
FRAME_SECONDS = 60  # a frame not ended this long after its start block is dropped (a half-sent frame)
MAX_CONNECTIONS = 200  # connections served at once; more are closed at once
READ_CHUNK = 65536
# A writer whose connection broke tries again after 0.1 s, doubling up to 1 s: back within a second
# of the database.
RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS = 0.1, 1.0
CONNECT_SECONDS = 5.0  # one connection attempt of a writer
# A connection closed holding at least this much of a frame has the freed memory handed back to the
# system (``_hand_back_memory``).
HAND_BACK_BYTES = 256 * 1024
# Kicks of what this listener stored are sent at most this often (see MllpServer.kick): well inside
# the ten-second freshness budget, and one broker publish per interval instead of one per batch.
KICK_SECONDS = 0.05


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return SB + data + EB + CR


def resend_later(raw: str | bytes) -> bytes:
    """AR 207 "resend later" for a message that could not be stored (MSA-2 = its MSH-10)."""
    return frame(receive.refusal_ack(raw, receive.RESEND_LATER))


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
    store.load_facilities()
    return permissions.sender_directory()


def _receive(raws: list[bytes], sender: permissions.Sender) -> list[bytes]:
    """The synchronous path (a worker thread): store in one transaction, return the ACK frames."""
    close_old_connections()
    try:
        answers = receive.inbound_receive_hl7_batch(raws, channel=Channel.HL7_MLLP, sender=sender)
    except Exception:  # never leave a sender without an answer; nothing of the batch was stored
        log.exception("MLLP: storing %s message(s) failed", len(raws))
        return [resend_later(raw) for raw in raws]
    return [frame(answer.body) for answer in answers]


def _refuse_broken(raw: bytes, sender: permissions.Sender) -> bytes:
    """A frame cut short by the next start block (a worker thread): kept as rejected, answered AE."""
    close_old_connections()
    try:
        answer = receive.inbound_refuse_hl7(
            raw, receive.BROKEN_FRAME, channel=Channel.HL7_MLLP, sender=sender
        )
    except Exception:
        log.exception("MLLP: storing a broken frame failed")
        return resend_later(raw)
    return frame(answer.body)


def _prepare() -> dict:
    """Before serving (a worker thread): the facility cache and the parameters of our own connections."""
    close_old_connections()
    store.load_facilities()
    if connection.vendor != "postgresql":
        return {}
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)  # Django's is synchronous; psycopg's default binds on the server
    params.pop("prepare_threshold", None)  # psycopg's default: the few statement shapes we send get prepared
    return params


def _hand_back_memory() -> None:
    """Return the free memory of the C heap to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Frames of up to ``MAX_MESSAGE`` are gathered in a buffer per connection. glibc serves such sizes
    from the heap once a large block was freed (its mmap threshold rises), and a freed block below
    the top of the heap stays with the process: 200 half-sent 900 KB frames left the listener at
    293 MB after they closed (issue 11, finding 5g). Trimming after such a close brings it back.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _Watch:
    """A connection's reading state, checked by the listener's watchdog."""

    __slots__ = ("writer", "waiting", "started", "why")

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.waiting: float | None = None  # loop time since which we wait for its bytes (None: busy)
        self.started: float | None = None  # loop time of the start block of its unfinished frame
        self.why = ""

    def close(self, why: str) -> None:
        self.why = why
        self.writer.close()  # the pending read sees the end of the stream


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
        idle_seconds: float = IDLE_SECONDS,
        frame_seconds: float = FRAME_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ):
        if tls is None and not (plain_allow and plain_sender):
            raise ValueError(
                "MLLP needs TLS with client certificates, or plain MLLP explicitly enabled with an "
                "allow-list of addresses and the sender they send as."
            )
        self.host, self.port, self.reuse_port = host, port, reuse_port
        self.tls, self.plain_allow, self.plain_sender = tls, plain_allow or [], plain_sender
        self.refresh_seconds = refresh_seconds
        self.idle_seconds, self.frame_seconds = idle_seconds, frame_seconds
        self.max_connections, self.open = max_connections, 0  # senders' connections being served
        self.watched: set[_Watch] = set()  # their reading state, for the watchdog
        self.directory = permissions.SenderDirectory({}, {}, {}, {})
        # Two writers let one batch be prepared while the other waits for its commit.
        self.writers = writers
        self.executor = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="mllp-store")
        self.connections = 0  # our own asynchronous connections (PostgreSQL)
        self.free: list[psycopg.AsyncConnection] = []  # those not writing now
        self.waiting: list[tuple] = []  # (message row, its answer, the sender's future, the sender)
        self.unkicked: list[int] = []  # stored, processing not yet kicked (see kick)
        self.kicking = False
        self.hand_back = False  # a large frame buffer was freed since the watchdog last looked
        self.server: asyncio.base_events.Server | None = None

    async def store(self, raw: bytes, sender: permissions.Sender) -> bytes:
        """The ACK frame of this message, once it is committed (with whatever arrived alongside)."""
        loop = asyncio.get_running_loop()
        try:
            if not self.connections:
                raise receive.NeedsDatabase  # no connection of our own (SQLite)
            row, answer = receive.decide_hl7_offline(raw, sender=sender)
        except receive.NeedsDatabase:
            return (await loop.run_in_executor(self.executor, _receive, [raw], sender))[0]
        except Exception:  # a bug in deciding must not cost the sender its answer
            log.exception("MLLP: deciding a message failed")
            return resend_later(raw)
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
        try:
            sql, values = store.insert_statement(rows, skip_duplicates=True)
            cur = await conn.execute(sql, values)  # autocommit: one statement, its own commit
            store.inserted(rows, await cur.fetchall(), skip_duplicates=True)
        except Exception:
            log.exception("MLLP: storing %s message(s) failed", len(batch))
            for row, _answer, done, _sender in batch:  # one statement: none of them was stored
                if not done.done():
                    done.set_result(resend_later(row.raw or b""))
            if conn.broken or conn.closed:
                self._lost(conn)
                return
            self.free.append(conn)
            self._write_next()
            return
        self.free.append(conn)
        self._write_next()
        await self._answer(batch)

    async def _answer(self, batch: list[tuple]) -> None:
        """A committed batch: kick its processing and answer each sender (a duplicate as its first copy)."""
        loop = asyncio.get_running_loop()
        stored = [row.pk for row, *_rest in batch if row.pk is not None and row.status == "received"]
        if stored:
            await self.kick(stored)
        for row, answer, done, sender in batch:
            if done.done():
                continue
            if row.pk is None:  # a duplicate: answer as the first copy was (a read: a worker thread)
                again = await loop.run_in_executor(self.executor, _receive, [row.raw or b""], sender)
                done.set_result(again[0])
            else:
                done.set_result(frame(answer.body))

    async def kick(self, message_ids: list[int]) -> None:
        """Have the messages this listener stored processed (``tasks.kick``, from a worker thread:
        Django's connection must not be touched in the event loop).

        The one cross-transaction coalescing of kicks: every group-commit batch is its own
        transaction, and one kick (a Celery publish) measured ≈ 2 ms of CPU here, against ≈ 0.35 ms
        of the listener's work per message, with batches of a few messages (8 senders each wait
        for their ACK). So ids stored while a kick is under way wait and go together, at most one
        kick per ``KICK_SECONDS`` (≤ 40 ms of publishing a second); a task claims a batch of
        waiting messages whatever id it names, and the sweeper re-kicks anything a lost kick left
        behind. Eager tasks (tests, the embedded default) run at once, before the answers, in order.
        """
        loop = asyncio.get_running_loop()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            await loop.run_in_executor(self.executor, tasks.kick, message_ids)
            return
        self.unkicked += message_ids
        if not self.kicking:
            self.kicking = True
            loop.create_task(self._kick_waiting())

    async def _kick_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.unkicked:
                ids, self.unkicked = self.unkicked, []
                await loop.run_in_executor(self.executor, tasks.kick, ids)
                await asyncio.sleep(KICK_SECONDS)
        finally:
            self.kicking = False

    async def _connect(self) -> psycopg.AsyncConnection:
        async with asyncio.timeout(CONNECT_SECONDS):
            return await psycopg.AsyncConnection.connect(**self.params, autocommit=True)

    def _lost(self, conn: psycopg.AsyncConnection) -> None:
        """A writer whose connection broke (the database went away) reconnects in the background until
        the database answers, so the listener returns to its full rate by itself (issue 11, finding
        5f: one failed reconnect used to cost the writer until a restart). With no writer left,
        messages take the synchronous path meanwhile, refused AR 207 while the database is away."""
        self.connections -= 1
        if not self.connections:  # nobody left to write what waits: ask for a resend
            for row, _answer, waiting, _sender in self.waiting:
                waiting.set_result(resend_later(row.raw or b""))
            self.waiting = []
        loop = asyncio.get_running_loop()
        loop.create_task(conn.close())
        loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        pause = RECONNECT_FIRST_SECONDS
        while True:
            try:
                conn = await self._connect()
                break
            except (psycopg.Error, OSError, TimeoutError):
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_SECONDS)
        self.connections += 1
        self.free.append(conn)
        log.info("MLLP: a writer reconnected (%s of %s)", self.connections, self.writers)
        self._write_next()

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
        if self.open >= self.max_connections:  # memory stays bounded: no answer, closed at once
            log.warning("MLLP %s: %s connections open already, closed", peer, self.open)
            writer.close()
            return
        sender = self.authenticate(writer)
        if sender is None:  # no answer at all: an unknown caller learns nothing
            log.warning("MLLP %s: not a registered sender (certificate or address), closed", peer)
            writer.close()
            return
        self.open += 1
        buffer = bytearray()
        watch = _Watch(writer)
        self.watched.add(watch)
        try:
            while True:
                kind, data = await self._next_frame(reader, buffer, watch)
                if kind == "closed":
                    if watch.why:
                        log.info("MLLP %s: %s, closed", peer, watch.why)
                    break
                if kind == "too large":
                    log.warning("MLLP %s: frame over the size limit, closing", peer)
                    writer.write(frame(receive.refusal_ack(data, receive.TOO_LARGE)))
                    await writer.drain()
                    # Closing with the rest unread would reset the connection and could cost the
                    # sender the answer: drop what still comes, briefly.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(2):
                            while await reader.read(READ_CHUNK):
                                pass
                    break
                sender = self.directory.get(sender.id)  # as registered now (refreshed)
                if sender is None:
                    log.warning("MLLP %s: the sender is no longer registered, closing", peer)
                    break
                if kind == "broken":
                    loop = asyncio.get_running_loop()
                    writer.write(await loop.run_in_executor(self.executor, _refuse_broken, data, sender))
                else:
                    writer.write(await self.store(data, sender))
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        except Exception:  # a bug here must not take the listener down; this sender resends
            log.exception("MLLP %s: serving the connection failed", peer)
        finally:
            self.open -= 1
            self.watched.discard(watch)
            self.hand_back = self.hand_back or len(buffer) >= HAND_BACK_BYTES
            writer.close()

    async def _next_frame(
        self, reader: asyncio.StreamReader, buffer: bytearray, watch: "_Watch"
    ) -> tuple[str, bytes]:
        """The next frame of this connection, read into ``buffer`` (what follows it stays there):
        ("message", its content), ("broken", the content of a frame cut by the next start block),
        ("too large", its first bytes), or ("closed", b"") — by the sender, or by the watchdog
        (``watch.why``: idle, half-sent)."""
        loop = asyncio.get_running_loop()
        started = None  # loop time of this frame's start block
        searched = 1  # where the search for an end or the next start resumes
        while True:
            if started is None:
                at = buffer.find(SB)
                if at < 0:
                    buffer.clear()  # anything before a start block is skipped
                else:
                    del buffer[:at]
                    started, searched = loop.time(), 1
            if started is not None:
                end = buffer.find(EB + CR, searched)
                again = buffer.find(SB, searched)
                if min([len(buffer)] + [at for at in (end, again) if at >= 0]) > MAX_MESSAGE + 1:
                    return "too large", bytes(buffer[1:4097])
                if again >= 0 and (end < 0 or again < end):
                    data = bytes(buffer[1:again])
                    del buffer[:again]
                    if data.strip():  # a stray start block with nothing after it is skipped
                        return "broken", data
                    searched = 1  # the frame's clock runs on: start blocks alone do not keep it open
                    continue
                if end >= 0:
                    data = bytes(buffer[1:end])
                    del buffer[: end + 2]
                    return "message", data
                searched = max(1, len(buffer) - 1)  # an end block may be split across reads
            # The time limits are the watchdog's (a timer per read cost 30 µs a message).
            watch.waiting, watch.started = loop.time(), started
            chunk = await reader.read(READ_CHUNK)
            watch.waiting = None
            if not chunk:
                return "closed", b""  # a frame cut by the close was never answered: nothing stored
            buffer += chunk

    async def _watchdog(self) -> None:
        """Close the connections past their time limits: no byte for ``idle_seconds`` while waiting
        for one, or a frame not ended ``frame_seconds`` after its start block."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.idle_seconds / 4, self.frame_seconds / 4))
            if self.hand_back:
                self.hand_back = False
                await loop.run_in_executor(None, _hand_back_memory)
            now = loop.time()
            for watch in list(self.watched):
                if watch.waiting is None or watch.why:
                    continue  # storing or answering: not the sender's time
                if watch.started is not None and now - watch.started > self.frame_seconds:
                    watch.close("a frame half-sent for too long (nothing stored)")
                elif now - watch.waiting > self.idle_seconds:
                    watch.close(f"no byte for {self.idle_seconds:g} s")

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
            limit=READ_CHUNK,  # the stream's own buffer; frames are gathered (and capped) by _next_frame
            reuse_port=self.reuse_port or None,
            ssl=self.tls,
            ssl_handshake_timeout=HANDSHAKE_SECONDS if self.tls else None,
        )
        self.refresher = loop.create_task(self._refresh())
        self.watchdog = loop.create_task(self._watchdog())
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
