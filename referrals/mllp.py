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
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection

from . import services
from .models import Channel

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1_000_000  # bytes; a larger frame is refused (AR) rather than buffered without end
MAX_BATCH = 500  # messages in one INSERT


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return SB + data + EB + CR


RECEIVER_ERROR = frame("MSH|^~\\&|CASETRAIL|WCG||||||ACK|ERR|P|2.5\rMSA|AR||Receiver error: resend later.\r")


def _receive(raws: list[bytes]) -> list[bytes]:
    """The synchronous path (a worker thread): store in one transaction, return the ACK frames."""
    close_old_connections()
    try:
        answers = services.inbound_receive_hl7_batch(raws, channel=Channel.HL7_MLLP)
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
    def __init__(self, host: str, port: int, *, writers: int = 2, reuse_port: bool = False):
        self.host, self.port, self.reuse_port = host, port, reuse_port
        # Two writers let one batch be prepared while the other waits for its commit.
        self.writers = writers
        self.executor = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="mllp-store")
        self.connections = 0  # our own asynchronous connections (PostgreSQL)
        self.free: list[psycopg.AsyncConnection] = []  # those not writing now
        self.waiting: list[tuple] = []  # (message row, its answer, the sender's future)
        self.server: asyncio.base_events.Server | None = None

    async def store(self, raw: bytes) -> bytes:
        """The ACK frame of this message, once it is committed (with whatever arrived alongside)."""
        loop = asyncio.get_running_loop()
        try:
            if not self.connections:
                raise services.NeedsDatabase  # no connection of our own (SQLite)
            row, answer = services.inbound_decide_hl7_offline(raw)
        except services.NeedsDatabase:
            return (await loop.run_in_executor(self.executor, _receive, [raw]))[0]
        except Exception:  # a bug in deciding must not cost the sender its answer
            log.exception("MLLP: deciding a message failed")
            return RECEIVER_ERROR
        if row is None:
            return frame(answer.body)
        done = loop.create_future()
        self.waiting.append((row, answer, done))
        self._write_next()
        return await done

    def _write_next(self) -> None:
        if self.free and self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            asyncio.get_running_loop().create_task(self._write(self.free.pop(), batch))

    async def _write(self, conn: psycopg.AsyncConnection, batch: list[tuple]) -> None:
        rows = [row for row, _answer, _done in batch]
        loop = asyncio.get_running_loop()
        try:
            sql, values = services.inbound_insert_statement(rows, skip_duplicates=True)
            cur = await conn.execute(sql, values)  # autocommit: one statement, its own commit
            services.inbound_inserted(rows, await cur.fetchall(), skip_duplicates=True)
        except Exception:
            log.exception("MLLP: storing %s message(s) failed", len(batch))
            for _row, _answer, done in batch:  # one statement: none of them was stored
                if not done.done():
                    done.set_result(RECEIVER_ERROR)
            if conn.broken or conn.closed:
                try:
                    conn = await self._connect()
                except psycopg.Error:  # the database is away: one connection fewer until restart
                    log.exception("MLLP: reconnecting failed")
                    self.connections -= 1
                    if not self.connections:  # nobody left to write what waits: ask for a resend
                        for _row, _answer, waiting in self.waiting:
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
        for row, answer, done in batch:
            if done.done():
                continue
            if row.pk is None:  # a duplicate: answer as the first copy was (a read: a worker thread)
                done.set_result((await loop.run_in_executor(self.executor, _receive, [row.raw or b""]))[0])
            else:
                done.set_result(frame(answer.body))

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(**self.params, autocommit=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
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
                writer.write(await self.store(data[:-2]))
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.params = await loop.run_in_executor(self.executor, _prepare)
        if self.params:
            self.free = [await self._connect() for _ in range(self.writers)]
            self.connections = len(self.free)
        self.server = await asyncio.start_server(
            self.handle, self.host, self.port, limit=MAX_MESSAGE, reuse_port=self.reuse_port or None
        )
        log.info("MLLP listening on %s:%s", self.host, self.port)

    async def serve_forever(self) -> None:
        await self.start()
        async with self.server:
            await self.server.serve_forever()
