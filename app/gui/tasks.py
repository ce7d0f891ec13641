"""Run blocking service calls off the GUI thread and hand their outcome back on it.

The pattern is Anki's QueryOp: take what the call needs on the GUI thread, run the call on a background thread,
apply the result on the GUI thread. Each runner owns one Python thread that runs its calls in submission order, so a
long reply never queues behind a thread listing and a stale listing never lands after a fresh one.

A failure without its own `on_error` goes to the window's StatusBridge (app.gui.status): a ThreadloomError is said as
its message; anything else is logged with its traceback and the user is told where the log is.

Python threads rather than QThread/QThreadPool: the store keeps one SQLite connection per thread, and on a thread Qt
created, that connection is released while Python tears the thread state down, which crashes the process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.gui.status import StatusBridge

Report = Callable[[Any], None]


class _Relay(QObject):
    """Lives on the GUI thread; its signals are emitted from the runner's thread, so Qt queues their delivery."""

    progressed = Signal(object)  # emitted on the runner's thread with whatever the call reported
    finished = Signal(object, object)  # emitted on the runner's thread once: (result, exception or None)

    def __init__(
        self,
        runner: TaskRunner,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        on_progress: Callable[[Any], None] | None,
    ) -> None:
        super().__init__(runner)
        self._runner = runner
        self._on_result = on_result
        self._on_error = on_error
        self._on_progress = on_progress
        self.progressed.connect(self._deliver_progress)
        self.finished.connect(self._deliver_outcome)

    @Slot(object)
    def _deliver_progress(self, value: Any) -> None:
        if self._on_progress is not None and not self._runner.is_shut_down:
            self._on_progress(value)

    @Slot(object, object)
    def _deliver_outcome(self, result: Any, error: BaseException | None) -> None:
        self._runner._forget(self)
        if self._runner.is_shut_down:
            return
        if error is None:
            if self._on_result is not None:
                self._on_result(result)
        elif self._on_error is not None:
            self._on_error(error)
        else:
            self._runner.status.report(error)


class TaskRunner(QObject):
    """Runs callables one after another on its own thread; callbacks run on the GUI thread, never after `shutdown`.
    Failures without an `on_error` are told through `status`."""

    def __init__(self, parent: QObject | None = None, *, name: str, status: StatusBridge) -> None:
        super().__init__(parent)
        self._name = name
        self.status = status
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: set[_Relay] = set()
        self._stopped = threading.Event()  # plain Python, so the runner's thread can read it after the QObject is gone

    def run(
        self,
        work: Callable[[], Any],
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call `work()` in the background. Without `on_error`, an exception is told through the status bridge."""
        self._start(work, on_result, on_error, None, reports=False)

    def run_reporting(
        self,
        work: Callable[[Report], Any],
        *,
        on_progress: Callable[[Any], None],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call `work(report)`; each `report(value)` made in the background reaches `on_progress(value)` in order."""
        self._start(work, on_result, on_error, on_progress, reports=True)

    @property
    def busy(self) -> bool:
        """Some call's outcome has not been delivered yet."""
        return bool(self._pending)

    @property
    def is_shut_down(self) -> bool:
        return self._stopped.is_set()

    def shutdown(self) -> None:
        """Drop calls not started and callbacks not delivered; returns at once. The running call, if any, ends on
        its own (see `wait`); the thread is a daemon, so it cannot keep the process alive."""
        self._stopped.set()
        if self._thread is None:
            return
        while True:
            try:
                self._calls.get_nowait()
            except queue.Empty:
                break
        self._calls.put(None)

    def wait(self, timeout_s: float) -> bool:
        """Any thread: wait for the running call after `shutdown`; False if it outlived `timeout_s`."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self._thread is None or not self._thread.is_alive()

    def _start(self, work, on_result, on_error, on_progress, *, reports: bool) -> None:
        if self.is_shut_down:
            return
        relay = _Relay(self, on_result, on_error, on_progress)
        self._pending.add(relay)
        stopped = self._stopped

        def deliver(emit: Callable[[], None]) -> None:
            if stopped.is_set():
                return  # nobody is listening any more; the relay may be gone with its window
            try:
                emit()
            except RuntimeError:  # the relay was deleted between the check and the emit
                pass

        def call() -> None:
            if stopped.is_set():
                return
            try:
                result = work(lambda value: deliver(lambda: relay.progressed.emit(value))) if reports else work()
            except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, which decides what to say
                failure = exc  # `exc` is unbound once the except block ends; the emit below runs inside it anyway
                deliver(lambda: relay.finished.emit(None, failure))
            else:
                deliver(lambda: relay.finished.emit(result, None))

        self._calls.put(call)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=f"threadloom-{self._name}", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            call()

    def _forget(self, relay: _Relay) -> None:
        self._pending.discard(relay)
        relay.deleteLater()
