"""Closing the window's session off the GUI thread, after the window's background calls have ended."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Qt, Signal

from app.services.session import Session

CLOSE_WAIT_S = 30.0  # after the window is gone, how long a running call may take before the session closes anyway

log = logging.getLogger(__name__)


class SessionCloser(QObject):
    """Closes the session on its own thread once the window's background calls have ended (or outlived
    CLOSE_WAIT_S), so closing the window never waits for them or for the model workers to stop.

    Signals:
        done(): emitted on the GUI thread once the session is shut down.
    """

    done = Signal()
    _workers_stopped = Signal()  # emitted on the closing thread; queued to the GUI thread

    def __init__(self) -> None:
        super().__init__()
        self._session: Session | None = None
        self._workers_stopped.connect(self._finish, Qt.ConnectionType.QueuedConnection)

    def close(self, session: Session, waits: list) -> None:
        self._session = session

        def run() -> None:
            try:
                for wait in waits:
                    wait(CLOSE_WAIT_S)
                session.close()  # stops the workers; the store's connections are per thread: each closes its own
            except Exception:  # noqa: BLE001 - the app must still end; what failed is in the log
                log.exception("closing the session failed")
            finally:
                self._workers_stopped.emit()

        # Not a daemon: the process lets it finish, so the model workers are always stopped and the store closed.
        threading.Thread(target=run, name="threadloom-closing").start()

    def _finish(self) -> None:
        try:
            self._session.close()  # again, on the GUI thread, for its own store connection (the workers are gone)
        except Exception:  # noqa: BLE001 - as above
            log.exception("closing the session failed")
        finally:
            self.done.emit()
