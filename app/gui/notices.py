"""The window's notice line for what the user should know that is no error of theirs: a damaged settings file set
aside (offline until it is fixed), links out of a knowledge folder that were not followed. Each is told once."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.gui.notice_bar import NoticeBar
from app.gui.tasks import TaskRunner
from app.services.knowledge_folders import LINKS_NOT_FOLLOWED
from app.services.session import Session

LINKS_NAMED = 3  # the first few links a notice names; the rest are counted



class Notices(NoticeBar):
    """Reads the settings notice in the background as the window opens; `tell_links` after a folder sync."""

    def __init__(self, session: Session, *, reads: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Notice"), parent)
        self.setAccessibleDescription(self.tr("Something Threadloom did on your behalf that you should know about"))
        self.action_button.setAccessibleDescription(self.tr("Dismiss this notice"))
        self._told: set[str] = set()
        reads.run(session.settings_service.damaged_notice, on_result=self.tell)

    def tell(self, text: str | None) -> None:
        """Show `text` unless it is None or was told already (a folder poll finds the same links every minute)."""
        if text and text not in self._told:
            self._told.add(text)
            self.show_notice(text, self.tr("OK"))

    def tell_links(self, changes: dict[str, list[str]]) -> None:
        links = changes.get(LINKS_NOT_FOLLOWED) or []
        if links:
            named = ", ".join(Path(link).name for link in links[:LINKS_NAMED])
            more = ""
            if len(links) > LINKS_NAMED:
                more = self.tr(" and {count} more").format(count=len(links) - LINKS_NAMED)
            self.tell(
                self.tr(
                    "Not followed: {count} link(s) leading out of a knowledge folder ({named}{more}). Only what is "
                    "inside a folder is shared with its threads."
                ).format(count=len(links), named=named, more=more)
            )
