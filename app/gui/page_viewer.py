"""The page a citation points to: a PDF page rendered by pymupdf with the cited span highlighted, or the text of
any other file with the span marked. Opens the stored copy read-only; nothing is written back."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QTextBrowser, QVBoxLayout, QWidget

from app.core.documents import Citation
from app.ingest.extract import UnreadableFile, kind_of, page_texts

ZOOM = 1.6  # pixels per PDF point: readable at the default window size
MIN_LINE_CHARS = 4  # shorter lines of a cited span match all over a page; skip them when highlighting


def render_pdf_page(path: Path, citation: Citation) -> tuple[QImage, int]:
    """The cited page as an image with the span's lines highlighted, and how many places were highlighted."""
    import pymupdf

    with pymupdf.open(path) as document:
        page = document[citation.page - 1]
        highlighted = 0
        for line in dict.fromkeys(part.strip() for part in citation.text.splitlines()):
            if len(line) < MIN_LINE_CHARS:
                continue
            quads = page.search_for(line, quads=True)
            if quads:
                page.add_highlight_annot(quads)
                highlighted += len(quads)
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(ZOOM, ZOOM), annots=True)
        image = QImage(pixmap.samples, pixmap.width, pixmap.height, pixmap.stride, QImage.Format.Format_RGB888)
        return image.copy(), highlighted  # copy: the samples buffer dies with the pixmap


class PageViewer(QDialog):
    """Shows one citation. `highlight_count` says how many places on the page were marked (tests read it)."""

    def __init__(self, citation: Citation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageViewer")
        state = "verified" if citation.verified else "not verified: the text was not found there in the file"
        self.setWindowTitle(f"[{citation.number}] {citation.file_name}, page {citation.page} ({state})")
        self.resize(820, 900)
        layout = QVBoxLayout(self)
        self.caption = QLabel(self.windowTitle())
        self.caption.setObjectName("pageViewerCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.highlight_count = 0
        self.image: QImage | None = None
        path = Path(citation.stored_path)
        if kind_of(path) == "pdf":
            try:
                self.image, self.highlight_count = render_pdf_page(path, citation)
            except (RuntimeError, ValueError, IndexError) as exc:  # encrypted, damaged or gone since
                layout.addWidget(QLabel(f"{citation.file_name}: the page cannot be shown ({exc})"))
                return
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(self.image))
            scroll = QScrollArea()
            scroll.setWidget(picture)
            layout.addWidget(scroll, 1)
            return
        self.text_view = QTextBrowser()
        layout.addWidget(self.text_view, 1)
        try:
            text = page_texts(path, kind=kind_of(path) or "text", name=citation.file_name)[citation.page - 1]
        except (UnreadableFile, OSError, IndexError) as exc:
            self.text_view.setPlainText(f"{citation.file_name}: the text cannot be shown ({exc})")
            return
        before, span, after = text[: citation.start], text[citation.start : citation.end], text[citation.end :]
        self.highlight_count = 1 if span.strip() else 0
        self.text_view.setHtml(
            f"<pre style='white-space: pre-wrap'>{html.escape(before)}<a name='cited'></a>"
            f"<span style='background: #ffe58a'>{html.escape(span)}</span>{html.escape(after)}</pre>"
        )
        self.text_view.scrollToAnchor("cited")
