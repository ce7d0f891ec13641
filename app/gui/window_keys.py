"""The window's keys and menus: every action has a key (UI.md's list) and a place in the File, View or Thread menu;
the status bar's Models…, Settings… and Details buttons; import and export (app.gui.transfer_dialogs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QPushButton

from app.gui.transfer_dialogs import Transfers

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

TEXT_SCALE_STEP = 1.1


class WindowKeys(QObject):
    """Made once by the window; `actions` by name (English, stable), `file_menu`, `transfers`."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.actions: dict[str, QAction] = {}
        self._add_actions(window)

    def _add_actions(self, window: MainWindow) -> None:
        for name, label, keys, handler in (
            ("New thread", self.tr("New thread"), [QKeySequence.StandardKey.New], window.new_thread),
            ("Go to thread", self.tr("Go to thread"), [QKeySequence("Ctrl+K")], window.open_quick_switcher),
            ("Stop reply or cancel editing", self.tr("Stop reply or cancel editing"), [QKeySequence(Qt.Key.Key_Escape)],
             window.escape),
            ("Edit last message", self.tr("Edit last message"), [QKeySequence("Ctrl+Up")], window.edit_last_message),
            ("Copy last reply", self.tr("Copy last reply"), [QKeySequence("Ctrl+Shift+C")], window.copy_last_reply),
            ("Focus composer", self.tr("Focus composer"), [QKeySequence("Ctrl+L")], window.composer.setFocus),
            ("Models and providers", self.tr("Models and providers"), [QKeySequence("Ctrl+Shift+M")],
             window.open_model_manager),
            ("Settings", self.tr("Settings"), [QKeySequence("Ctrl+,")], window.open_settings),
            ("MCP servers", self.tr("MCP servers"), [QKeySequence("Ctrl+Shift+T")], window.open_mcp_servers),
            ("Insights", self.tr("Insights"), [QKeySequence("Ctrl+Shift+I")], window.open_insights),
            ("Memories", self.tr("Memories"), [QKeySequence("Ctrl+Shift+Y")],
             lambda: window.personal.open_memories()),
            ("Remember from this thread", self.tr("Remember from this thread"), [QKeySequence("Ctrl+Shift+R")],
             lambda: window.personal.remember_from(window.open_thread_id)),
            ("Thread details", self.tr("Thread details"), [QKeySequence("Ctrl+I")], window.details_button.toggle),
            ("Search threads", self.tr("Search threads"), [QKeySequence.StandardKey.Find], window.sidebar.focus_search),
            ("Larger text", self.tr("Larger text"), [QKeySequence("Ctrl+="), QKeySequence("Ctrl++")],
             lambda: window.scale_text(TEXT_SCALE_STEP)),
            ("Smaller text", self.tr("Smaller text"), [QKeySequence("Ctrl+-")],
             lambda: window.scale_text(1 / TEXT_SCALE_STEP)),
            ("Usual text size", self.tr("Usual text size"), [QKeySequence("Ctrl+0")], lambda: window.scale_text(None)),
            ("Quit", self.tr("Quit"), [QKeySequence("Ctrl+Q")], window.close),
        ):  # fmt: skip
            action = self.actions[name] = QAction(label, window)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handler)
            window.addAction(action)
        rename = QAction(self.tr("Rename thread"), window.centre)  # F2 in the thread list renames there
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        rename.triggered.connect(window.rename_open_thread_in_place)
        window.centre.addAction(rename)
        delete = QAction(self.tr("Delete thread"), window.thread_list)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(window.delete_current_thread)
        window.thread_list.addAction(delete)
        for label, name, tip, handler in (
            (self.tr("Models…"), self.tr("Models and providers"),
             self.tr("Local models, hosted providers and the offline switch (Ctrl+Shift+M)"), window.open_model_manager),
            (self.tr("Settings…"), self.tr("Settings"),
             self.tr("Theme, send key, attachment size limit, saved model states (Ctrl+,)"), window.open_settings),
            (self.tr("Insights…"), self.tr("Insights"),
             self.tr("Tokens, speed and ratings of the model calls over time (Ctrl+Shift+I)"), window.open_insights),
        ):  # fmt: skip
            button = QPushButton(label, window)
            button.setFlat(True)
            button.setToolTip(tip)
            button.setAccessibleName(name)
            button.setAccessibleDescription(tip)
            button.clicked.connect(handler)
            window.statusBar().addPermanentWidget(button)
        window.statusBar().addPermanentWidget(window.details_button)
        self._add_menus(window)

    def _add_menus(self, window: MainWindow) -> None:
        """The menu bar: every action is also a key (UI.md), and the menus make them findable."""
        self.transfers = Transfers(
            window._session.threads, writes=window._writes, reads=window._reads, status=window.status, parent=window
        )
        self.transfers.imported.connect(window.open_thread_and_focus)
        window.thread_list.export_requested.connect(
            lambda thread_id, fmt: self.transfers.choose_export(thread_id, fmt, window.thread_list.title_of(thread_id))
        )
        actions = self.actions
        file_menu = self.file_menu = window.menuBar().addMenu(self.tr("&File"))
        file_menu.addAction(actions["New thread"])
        file_menu.addAction(actions["Go to thread"])
        file_menu.addSeparator()
        file_menu.addAction(self.tr("Import…"), self.transfers.choose_import)
        this_thread = file_menu.addMenu(self.tr("Export this thread"))
        every_thread = file_menu.addMenu(self.tr("Export all threads"))
        for fmt, label in (("md", self.tr("Markdown…")), ("json", self.tr("JSON (lossless)…"))):
            this_thread.addAction(label, lambda fmt=fmt: self._export_open_thread(window, fmt))
            every_thread.addAction(label, lambda fmt=fmt: self.transfers.choose_export(None, fmt))
        this_thread.aboutToShow.connect(lambda: this_thread.setEnabled(window.open_thread_id is not None))
        file_menu.addSeparator()
        file_menu.addAction(actions["Settings"])
        file_menu.addAction(actions["Models and providers"])
        file_menu.addAction(actions["MCP servers"])
        file_menu.addSeparator()
        file_menu.addAction(actions["Quit"])
        view_menu = window.menuBar().addMenu(self.tr("&View"))
        for name in ("Search threads", "Thread details", "Insights", "Memories", "Larger text", "Smaller text",
                     "Usual text size"):
            view_menu.addAction(actions[name])
        thread_menu = window.menuBar().addMenu(self.tr("&Thread"))
        for name in ("Edit last message", "Copy last reply", "Remember from this thread", "Stop reply or cancel editing",
                     "Focus composer"):
            thread_menu.addAction(actions[name])
        for menu in (file_menu, this_thread, every_thread, view_menu, thread_menu):
            menu.setAccessibleName(menu.title().replace("&", ""))

    def _export_open_thread(self, window: MainWindow, fmt: str) -> None:
        if window.open_thread_id is None:
            window.status.show_hint(self.tr("Open a thread to export it (or export all threads)."))
            return
        self.transfers.choose_export(window.open_thread_id, fmt, window.header.title.label.full_text())
