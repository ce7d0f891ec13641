"""Which tools the open thread's model may call: the details column's Tools section, kept by one controller.

The list is read on the window's read lane (listing an enabled MCP server's tools starts it, once, off the GUI
thread); a tick or untick writes the thread's choice on the write lane, and the next turn is offered only the ticked
tools (`ToolService.choose`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.core.domain import Thread
from app.gui.details_panel import DetailsPanel
from app.gui.tasks import TaskRunner
from app.services.tools import ToolService


class ThreadToolsController(QObject):
    def __init__(
        self, panel: DetailsPanel, tools: ToolService, *, reads: TaskRunner, writes: TaskRunner,
        parent: QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self._panel, self._tools = panel, tools
        self._reads, self._writes = reads, writes
        self._thread_id: int | None = None
        panel.tools_chosen.connect(self.choose)

    def show_for(self, thread: Thread | None) -> None:
        self._thread_id = thread.id if thread else None
        if thread is None:
            self._panel.show_tools(None, [])
            return
        self._reads.run(lambda: self._tools.tools(thread), on_result=lambda tools: self._show(thread.id, tools))

    def choose(self, thread_id: int, names: list[str]) -> None:
        self._writes.run(lambda: self._tools.choose(thread_id, names))

    def _show(self, thread_id: int, tools) -> None:
        if thread_id == self._thread_id:  # the user has not opened another thread since
            self._panel.show_tools(thread_id, tools)
