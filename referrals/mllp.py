"""An asyncio MLLP server: many connections at once, several messages per connection.

Frame: 0x0B + message + 0x1C 0x0D. Each message is stored (committed) by a worker thread
through ``services.inbound_receive_hl7`` and only then is its ACK written back, in order, on
the same connection. A connection that sends garbage outside a frame is answered per frame
that can be found; bytes before a 0x0B are skipped.
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


def _receive(raw: bytes) -> bytes:
    close_old_connections()
    try:
        answer = services.inbound_receive_hl7(raw=raw, channel=Channel.HL7_MLLP)
    except Exception:  # never leave a sender without an answer
        log.exception("MLLP: storing a message failed")
        return frame("MSH|^~\\&|CASETRAIL|WCG||||||ACK|ERR|P|2.5\rMSA|AR||Receiver error: resend later.\r")
    return frame(answer.body)


class MllpServer:
    def __init__(self, host: str, port: int, *, threads: int = 16, reuse_port: bool = False):
        self.host, self.port, self.reuse_port = host, port, reuse_port
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mllp-store")
        self.server: asyncio.base_events.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
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
                ack = await loop.run_in_executor(self.executor, _receive, data[:-2])
                writer.write(ack)
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
