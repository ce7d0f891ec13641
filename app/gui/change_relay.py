"""The window's ear for the change broadcast (app.services.changes): services publish on whatever thread wrote,
and this relay hands each `Changes` to the GUI thread, where every view refreshes what concerns it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.services.changes import ChangeBroadcast, Changes


class ChangeRelay(QObject):
    """Lives on the GUI thread, subscribed from creation until `close`.

    Signals:
        changed(Changes): emitted on the GUI thread after each published write, in publishing order.
    """

    changed = Signal(object)
    _published = Signal(object)  # emitted on the writer's thread; queued to the GUI thread

    def __init__(self, broadcast: ChangeBroadcast, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._published.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._closed = False
        self._unsubscribe = broadcast.subscribe(self._receive)

    def close(self) -> None:
        self._closed = True
        self._unsubscribe()

    def _receive(self, changes: Changes) -> None:
        if not self._closed:
            self._published.emit(changes)

    @Slot(object)
    def _deliver(self, changes: Changes) -> None:
        if not self._closed:
            self.changed.emit(changes)
