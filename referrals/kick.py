"""Kick processing of stored messages without one broker round trip per message.

A task only "kicks" processing: whichever message id it names, it claims up to
``PROCESS_BATCH`` waiting messages. So a busy listener needs one task per batch of stored
messages, not one per message. ``kick`` notes that something was stored (after commit); a
daemon thread publishes at most one task per batch every ``INTERVAL`` seconds. If the process
dies between storing and publishing, nothing is lost: the rows are in PostgreSQL and the
sweeper re-kicks them. With eager tasks (no broker: tests, the embedded default) every kick
runs at once, in order.
"""

import logging
import threading

from django.conf import settings

log = logging.getLogger(__name__)
INTERVAL = 0.05  # seconds: well inside the ten-second freshness budget


class Kicker:
    def __init__(self, batch: int):
        self.batch = batch
        self.pending: list[int] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def kick(self, message_id: int) -> None:
        from . import tasks

        if settings.CELERY_TASK_ALWAYS_EAGER:
            tasks.process_inbound.delay(message_id)
            return
        with self.lock:
            self.pending.append(message_id)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="intake-kicker", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        from . import tasks

        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                ids, self.pending = sorted(self.pending), []
            for i in range(0, len(ids), self.batch):
                try:
                    tasks.process_inbound.delay(ids[i])
                except Exception:  # the broker is down: the sweeper re-kicks what is stored
                    log.exception("Could not queue intake processing; the sweeper will re-kick")
            threading.Event().wait(INTERVAL)
