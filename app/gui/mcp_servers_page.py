"""The MCP servers page (Ctrl+Shift+T, "MCP servers…"): the servers of mcp.json with their status, tools and stderr
log; add one, enable or disable it, remove it, or start it to see its tools. Starting a server and editing the file
run in the background (a server may take seconds to start, or never)."""

from __future__ import annotations

import shlex

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.services.mcp_servers import McpServers, McpServerStatus

LOG_TAIL_CHARS = 4000



class McpServersDialog(QDialog):
    def __init__(self, servers: McpServers, status: StatusBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("MCP servers"))
        self.setAccessibleName(self.tr("MCP servers"))
        self._servers = servers
        self._tasks = TaskRunner(self, name="mcp", status=status)
        self._statuses: list[McpServerStatus] = []
        self.server_list = QListWidget()
        self.server_list.setAccessibleName(self.tr("MCP servers"))
        self.server_list.setAccessibleDescription(
            self.tr("The servers of mcp.json; pick one to see its status and log")
        )
        self.server_list.currentRowChanged.connect(self._show_details)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setAccessibleName(self.tr("Server status"))
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setAccessibleName(self.tr("Server log"))
        self.log.setAccessibleDescription(self.tr("What the server printed on its standard error"))
        self.add_button = self._button(self.tr("Add…"), self.tr("Add a server by its command line"), self.add_server)
        self.toggle_button = self._button(
            self.tr("Disable"), self.tr("Offer or stop offering its tools"), self.toggle_server
        )
        self.remove_button = self._button(
            self.tr("Remove"), self.tr("Remove the server from mcp.json"), self.remove_server
        )
        self.tools_button = self._button(
            self.tr("Show tools"), self.tr("Start the server and list its tools"), self.list_tools
        )
        buttons = QHBoxLayout()
        for button in (self.add_button, self.toggle_button, self.remove_button, self.tools_button):
            buttons.addWidget(button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.server_list)
        layout.addLayout(buttons)
        layout.addWidget(self.details)
        layout.addWidget(self.log, 1)
        layout.addWidget(close)
        self.resize(560, 480)
        self.reload()

    def _button(self, text: str, description: str, handler) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.clicked.connect(handler)
        return button

    def reload(self, select: str | None = None) -> None:
        self._tasks.run(self._servers.statuses, on_result=lambda statuses: self._show(statuses, select))

    def selected(self) -> McpServerStatus | None:
        row = self.server_list.currentRow()
        return self._statuses[row] if 0 <= row < len(self._statuses) else None

    def add_server(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("Add an MCP server"), self.tr("Name:"))
        if not ok or not name.strip():
            return
        line, ok = QInputDialog.getText(self, self.tr("Add an MCP server"), self.tr("Command line that starts it:"))
        if not ok or not line.strip():
            return
        try:
            command = shlex.split(line)
        except ValueError as exc:
            self.details.setText(self.tr("Cannot read that command line: {error}").format(error=exc))
            return
        self._tasks.run(
            lambda: self._servers.add(name.strip(), command[0], command[1:]),
            on_result=lambda config: self.reload(select=config.name),
            on_error=self._failed,
        )

    def toggle_server(self) -> None:
        status = self.selected()
        if status is not None:
            name, enable = status.config.name, not status.config.enabled
            self._tasks.run(lambda: self._servers.set_enabled(name, enable), on_result=lambda _: self.reload(name))

    def remove_server(self) -> None:
        status = self.selected()
        if status is not None:
            name = status.config.name
            self._tasks.run(lambda: self._servers.remove(name), on_result=lambda _: self.reload())

    def list_tools(self) -> None:
        status = self.selected()
        if status is None:
            return
        name = status.config.name
        self.details.setText(self.tr("Starting {name}…").format(name=name))
        self._tasks.run(
            lambda: self._servers.server_tools(name), on_result=lambda _: self.reload(name), on_error=self._failed
        )

    def _failed(self, error: BaseException) -> None:
        self.details.setText(str(error))
        self.reload()

    def _show(self, statuses: list[McpServerStatus], select: str | None) -> None:
        previous = select or (self.selected().config.name if self.selected() else None)
        self._statuses = statuses
        self.server_list.blockSignals(True)
        self.server_list.clear()
        for status in statuses:
            state = self.tr("enabled") if status.config.enabled else self.tr("disabled")
            self.server_list.addItem(f"{status.config.name} — {state}, {status.state}")
        self.server_list.blockSignals(False)
        names = [s.config.name for s in statuses]
        self.server_list.setCurrentRow(names.index(previous) if previous in names else (0 if names else -1))
        self._show_details(self.server_list.currentRow())

    def _show_details(self, row: int) -> None:
        status = self._statuses[row] if 0 <= row < len(self._statuses) else None
        for button in (self.toggle_button, self.remove_button, self.tools_button):
            button.setEnabled(status is not None)
        if status is None:
            self.details.setText(self.tr("No MCP server yet: Add… one by the command line that starts it."))
            self.log.setPlainText("")
            return
        self.toggle_button.setText(self.tr("Disable") if status.config.enabled else self.tr("Enable"))
        command = " ".join([status.config.command, *status.config.args])
        lines = [
            self.tr("Command: {command}").format(command=command),
            self.tr("Status: {state}").format(state=status.state),
        ]
        if status.tools:
            lines.append(self.tr("Tools: {tools}").format(tools=", ".join(status.tools)))
        if status.error:
            lines.append(self.tr("Last error: {error}").format(error=status.error))
        self.details.setText("\n".join(lines))
        self.log.setPlainText(_log_tail(status.log_path))


def _log_tail(path) -> str:
    """The end of a server's stderr log (a bounded read: the log may be large)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - LOG_TAIL_CHARS))
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
