"""An asyncio MLLP server: many connections at once, several messages per connection.

Frame: 0x0B + message + 0x1C 0x0D. Each message is stored (committed) and only then is its ACK
written back, in order, on the same connection. Group commit: the messages that arrive while a
batch is being written wait and go together in the next one (``services.inbound_receive_hl7_batch``,
one transaction), so a busy listener pays one commit per batch, not per message, and an idle one
still answers a lone message at once. A connection that sends garbage outside a frame is answered
per frame that can be found; bytes before a 0x0B are skipped.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from . import services
from .models import Channel

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1_000_000  # bytes; a larger frame is refused (AR) rather than buffered without end


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return SB + data + EB + CR


RECEIVER_ERROR = frame("MSH|^~\\&|CASETRAIL|WCG||||||ACK|ERR|P|2.5\rMSA|AR||Receiver error: resend later.\r")
MAX_BATCH = 500  # messages in one transaction


def _receive(raws: list[bytes]) -> list[bytes]:
    """Store a batch in one transaction and return the ACK frames, in order (a writer thread)."""
    close_old_connections()
    try:
        answers = services.inbound_receive_hl7_batch(raws, channel=Channel.HL7_MLLP)
    except Exception:  # never leave a sender without an answer; nothing of the batch was stored
        log.exception("MLLP: storing %s message(s) failed", len(raws))
        return [RECEIVER_ERROR] * len(raws)
    return [frame(answer.body) for answer in answers]


class MllpServer:
    def __init__(self, host: str, port: int, *, writers: int = 2, reuse_port: bool = False):
        self.host, self.port, self.reuse_port = host, port, reuse_port
        # Each writer thread has its own database connection; two let one batch be prepared while
        # the other waits for its commit.
        self.writers = writers
        self.executor = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="mllp-store")
        self.waiting: list[tuple[bytes, asyncio.Future]] = []
        self.busy = 0
        self.server: asyncio.base_events.Server | None = None

    async def store(self, raw: bytes) -> bytes:
        """The ACK frame of this message, once it is committed (with whatever arrived alongside)."""
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append((raw, answer))
        self._write_next()
        return await answer

    def _write_next(self) -> None:
        if self.busy < self.writers and self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            self.busy += 1
            asyncio.get_running_loop().create_task(self._write(batch))

    async def _write(self, batch: list[tuple[bytes, asyncio.Future]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            acks = await loop.run_in_executor(self.executor, _receive, [raw for raw, _ in batch])
        except Exception:  # _receive answers its own failures; this is the executor going away
            log.exception("MLLP: writer failed")
            acks = [RECEIVER_ERROR] * len(batch)
        finally:
            self.busy -= 1
        for (_raw, answer), ack in zip(batch, acks, strict=True):
            if not answer.done():
                answer.set_result(ack)
        self._write_next()

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
        self.server = await asyncio.start_server(
            self.handle, self.host, self.port, limit=MAX_MESSAGE, reuse_port=self.reuse_port or None
        )
        log.info("MLLP listening on %s:%s", self.host, self.port)

    async def serve_forever(self) -> None:
        await self.start()
        async with self.server:
            await self.server.serve_forever()
