"""Attachments in the window, on the real models: a PDF dropped on the thread view shows progress, then its summary;
a reply's citation opens the PDF page rendered by pymupdf with the span highlighted."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog

from app.core.documents import DocumentStatus
from app.core.domain import Role
from tests.conftest import SHARED_DATA
from tests.gui.conftest import REPLY_TIMEOUT_MS, limit_reply
from tests.gui.test_details_panel import details_text
from tests.gui.test_main_window import type_and_send, wait_until_idle, wait_until_streaming_text

pytestmark = pytest.mark.slow
PDF = SHARED_DATA / "pdf-corpus" / "files" / "sf-001-minimal-document.pdf"
ENCRYPTED = SHARED_DATA / "pdf-corpus" / "files" / "pypdf-encrypted-file.pdf"  # password "test"
ANNUAL_REPORT = SHARED_DATA / "financebench-dev" / "pdfs" / "AMAZON_2017_10K.pdf"  # 85 pages; income statement p.38


def drop_files(widget, paths) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = QPointF(24, 24)
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted() and drop.isAccepted()


def recorded_progress(panel) -> list:
    """The ingest progress the panel is shown, in order (it still shows it)."""
    progress = []
    show_progress = panel.show_progress
    panel.show_progress = lambda value: (progress.append(value), show_progress(value))
    return progress


def test_dropped_pdf_shows_progress_summary_and_a_citation_that_opens_its_page(qtbot, session, show_window):
    limit_reply(session, max_tokens=48)
    window = show_window(session)
    panel = window.attachments.panel
    progress = recorded_progress(panel)

    assert drop_files(window.conversation.viewport(), [PDF])
    qtbot.waitUntil(lambda: any(p.phase == "embedding" for p in progress), timeout=REPLY_TIMEOUT_MS)
    assert window.composer.isEnabled()  # the window stays usable while it runs
    qtbot.waitUntil(lambda: bool(panel.summary_label.text()), timeout=REPLY_TIMEOUT_MS)
    [chip] = panel.chips()
    assert chip.attachment.file_name == PDF.name
    assert chip.attachment.document.status == DocumentStatus.READY
    summary = chip.attachment.document.summary
    assert summary and summary in panel.summary_label.text() and chip.toolTip() == summary
    # The details column shows it (so the line under the chips waits until that column is hidden).
    qtbot.waitUntil(lambda: summary in details_text(window))
    assert not panel.summary_label.isVisible()
    window.details_button.click()
    assert panel.summary_label.isVisible()
    assert {"reading", "embedding", "summarising"} <= {p.phase for p in progress}
    assert progress[-1].phase == "done" and not panel.progress_box.isVisible()

    type_and_send(qtbot, window, "What is this document about?")
    wait_until_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(panel.citation_buttons()), timeout=REPLY_TIMEOUT_MS)
    button = panel.citation_buttons()[0]
    button_text = button.text()
    assert button_text == "[1] p.1 ✓"  # the passage is really on that page
    assert panel.citations_caption() == f"Sources in {PDF.name}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.attachments.viewer is not None)  # the page is rendered off the GUI thread
    viewer = window.attachments.viewer
    assert viewer.isVisible()
    assert viewer.image is not None and not viewer.image.isNull() and viewer.image.width() > 500
    assert viewer.highlight_count > 0
    viewer.close()

    # Another thread shows no sources; coming back shows this thread's latest reply's again.
    thread_id = window._open_thread_id
    window.new_thread()
    assert not panel.citations_box.isVisible() and not panel.chips()
    window.open_thread(thread_id)
    qtbot.waitUntil(lambda: [b.text() for b in panel.citation_buttons()][:1] == [button_text], timeout=10_000)


def test_an_annual_report_dropped_while_a_reply_streams_is_cited_at_its_income_statement(qtbot, session, show_window):
    """The user trial of issue 17: chat, drop a 10-K while the reply streams, ask a figure of its income statement,
    open the source and see the statement's whole width, the cited rows in view."""
    limit_reply(session, max_tokens=48)
    window = show_window(session)
    panel = window.attachments.panel
    progress = recorded_progress(panel)
    type_and_send(qtbot, window, "Tell me a long story about a lighthouse keeper.")
    wait_until_streaming_text(qtbot, window)
    assert drop_files(window.conversation.viewport(), [ANNUAL_REPORT])
    wait_until_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(progress) and progress[-1].phase == "done", timeout=5 * REPLY_TIMEOUT_MS)
    assert progress[-1].pages_done == 85 and progress[-1].chunks_done == progress[-1].chunks_total > 0

    type_and_send(qtbot, window, "What were Amazon's total net sales in 2017?")
    wait_until_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(panel.citation_buttons()), timeout=REPLY_TIMEOUT_MS)
    question = next(c.message for c in reversed(window.conversation.cards()) if c.message.role == Role.USER)
    given = session.attachments.documents.message_passages(question.id)
    assert given and given[0].page == 38  # the search put the income statement first, not the lighthouse story's words
    assert panel.citations_caption() == f"Sources in {ANNUAL_REPORT.name}"
    [statement] = [b for b in panel.citation_buttons() if " p.38 " in b.text()]
    assert statement.text().endswith("✓")
    qtbot.mouseClick(statement, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.attachments.viewer is not None)
    viewer = window.attachments.viewer
    assert "Total net sales" in viewer.citation.text  # the statement's rows, kept with their figures
    assert viewer.highlight_count > 0
    assert viewer.scroll.horizontalScrollBar().maximum() == 0  # the figures' columns are in view, not cut off

    def highlight_in_view() -> bool:
        top = viewer.scroll.verticalScrollBar().value()
        return top <= viewer.first_highlight_y < top + viewer.scroll.viewport().height()

    qtbot.waitUntil(highlight_in_view)
    viewer.close()


def test_encrypted_pdf_asks_for_its_password_and_says_when_it_is_wrong(qtbot, session, show_window):
    window = show_window(session)
    prompts = []

    def answer(password: str) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(50, lambda: answer(password))
            return
        prompts.append(dialog.labelText())
        dialog.setTextValue(password)
        dialog.accept()

    QTimer.singleShot(50, lambda: answer("qwerty"))
    assert drop_files(window.composer.viewport(), [ENCRYPTED])
    qtbot.waitUntil(lambda: len(prompts) == 1, timeout=REPLY_TIMEOUT_MS)
    QTimer.singleShot(50, lambda: answer("test"))
    qtbot.waitUntil(lambda: len(prompts) == 2, timeout=REPLY_TIMEOUT_MS)
    assert prompts[0].startswith(f"{ENCRYPTED.name} is encrypted: give its password")
    assert prompts[1].startswith(f"{ENCRYPTED.name}: wrong password")
    qtbot.waitUntil(
        lambda: [c.attachment.document.status for c in window.attachments.panel.chips()] == [DocumentStatus.READY],
        timeout=REPLY_TIMEOUT_MS,
    )


def test_a_dropped_folder_is_watched_and_chips_remove_what_they_show(qtbot, session, show_window, tmp_path, monkeypatch):
    import app.gui.attachments as attachments_gui

    monkeypatch.setattr(attachments_gui, "FOLDER_POLL_MS", 3_600_000)  # only the watcher can notice in time
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "otters.txt").write_text("Otters hold hands while they sleep.\n")
    window = show_window(session)
    panel = window.attachments.panel

    def chips() -> dict[str, str]:
        return {chip.attachment.file_name: chip.attachment.document.sha256 for chip in panel.chips()}

    assert drop_files(window.conversation.viewport(), [folder])
    qtbot.waitUntil(lambda: list(chips()) == ["otters.txt"], timeout=REPLY_TIMEOUT_MS)
    [folder_record] = session.attachments.documents.folders()
    assert folder_record.path == str(folder)
    assert folder_record.thread_id is not None and folder_record.thread_id == window._open_thread_id
    qtbot.waitUntil(lambda: str(folder) in window.attachments._watcher.directories(), timeout=5_000)

    (folder / "beavers.md").write_text("# Beavers\n\nBeavers build dams from branches and mud.\n")
    qtbot.waitUntil(lambda: sorted(chips()) == ["beavers.md", "otters.txt"], timeout=REPLY_TIMEOUT_MS)
    before = chips()["otters.txt"]
    qtbot.waitUntil(lambda: str(folder / "otters.txt") in window.attachments._watcher.files(), timeout=5_000)
    (folder / "otters.txt").write_text("Sea otters keep a favourite stone in a pouch under their arm.\n")
    qtbot.waitUntil(lambda: chips().get("otters.txt") not in (None, before), timeout=REPLY_TIMEOUT_MS)
    stored = session.attachments.documents.chunks(chips_document_id(panel, "otters.txt"))
    assert "favourite stone" in stored[0][1].text

    # A chip's menu: a folder's file stops the watching of its folder; a file of the thread's own leaves it.
    single = tmp_path / "heron.txt"
    single.write_text("Herons stand still in shallow water.\n")
    assert drop_files(window.conversation.viewport(), [single])
    qtbot.waitUntil(lambda: "heron.txt" in chips(), timeout=REPLY_TIMEOUT_MS)
    [folder_chip] = [chip for chip in panel.chips() if chip.attachment.file_name == "beavers.md"]
    assert folder_chip.remove_action.text() == "Stop watching its folder"
    folder_chip.remove_action.trigger()
    qtbot.waitUntil(lambda: list(chips()) == ["heron.txt"], timeout=10_000)
    assert session.attachments.folders() == []
    qtbot.waitUntil(lambda: not window.attachments._watcher.directories(), timeout=5_000)
    [own_chip] = panel.chips()
    assert own_chip.remove_action.text() == "Remove from this thread"
    own_chip.remove_action.trigger()
    qtbot.waitUntil(lambda: not panel.chips(), timeout=10_000)
    assert session.attachments.attachments(window._open_thread_id) == []


def chips_document_id(panel, file_name: str) -> int:
    return next(chip.attachment.document.id for chip in panel.chips() if chip.attachment.file_name == file_name)


def test_a_folder_watched_for_all_threads_shows_in_every_thread(qtbot, session, show_window, tmp_path, monkeypatch):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of paid leave a year.\n")
    first, second = session.chat.new_thread("First"), session.chat.new_thread("Second")
    window = show_window(session)
    panel = window.attachments.panel
    window.open_thread(first.id)
    qtbot.waitUntil(lambda: not window.is_loading)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))  # the user picks it

    [for_this, for_all] = panel.watch_button.menu().actions()
    assert (for_this.text(), for_all.text()) == ("For this thread…", "For all threads…")
    for_all.trigger()
    qtbot.waitUntil(lambda: [c.attachment.file_name for c in panel.chips()] == ["leave.md"], timeout=REPLY_TIMEOUT_MS)
    [(record, files)] = session.attachments.folders()
    assert record.thread_id is None and files == 1
    window.new_thread()
    assert not panel.chips()
    window.open_thread(second.id)  # its chips are read anew: the folder is the second thread's too
    qtbot.waitUntil(lambda: [c.attachment.file_name for c in panel.chips()] == ["leave.md"])
    [chip] = panel.chips()
    assert chip.remove_action.text() == "Stop watching its folder (in every thread)"


def test_many_sources_scroll_sideways_and_long_names_are_shortened_not_cut(qtbot):
    from app.core.documents import Citation
    from app.gui.attachments import AttachmentPanel

    panel = AttachmentPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 200)
    panel.show()
    narrow = panel.minimumSizeHint().width()
    long_names = ["QUARTERLY_REPORT_OF_THE_COMPANY_2023_Q4_EARNINGS.pdf", "ANNUAL_REPORT_OF_THE_COMPANY_2022_10K.pdf"]
    citations = [
        Citation(n, long_names[n % 2], page=n + 10, start=0, end=5, text="Total net sales", verified=n % 3 != 0,
                 document_id=n % 2, stored_path="/nowhere")  # fmt: skip
        for n in range(1, 13)
    ]
    panel.show_citations(citations)
    buttons = panel.citation_buttons()
    assert len(buttons) == 12
    assert panel.minimumSizeHint().width() <= max(narrow, 600)  # twelve sources do not widen the panel
    assert buttons[0].text().startswith("[1] ANNUAL_") and "…" in buttons[0].text() and buttons[0].text().endswith(
        "p.11 ✓"
    )
    assert buttons[0].accessibleName() == f"Source 1: {long_names[1]}, page 11"
    assert panel.citations_box.horizontalScrollBar().maximum() > 0  # the rest are a sideways scroll away
    panel.show_citations(citations[:2])
    assert [b.text() for b in panel.citation_buttons()] == [buttons[0].text(), buttons[1].text()]
    panel.show_citations([c for c in citations if c.file_name == long_names[1]][:3])
    assert [b.text() for b in panel.citation_buttons()] == ["[1] p.11 ✓", "[3] p.13 ?", "[5] p.15 ✓"]
    assert "…" in panel.citations_caption()
