"""The page a citation points to: a PDF page rendered by pymupdf with the cited span highlighted, or the text of
any other file with the span marked. Opens the stored copy read-only; nothing is written back.

Reading and rendering (`render_citation`) run off the GUI thread: a large page takes a while. Only a QImage is
made there (QImage, unlike QPixmap, may be made on any thread); the dialog shows it on the GUI thread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QTextBrowser, QVBoxLayout, QWidget

from app.core.documents import Citation
from app.core.errors import ThreadloomError
from app.services.cited_pages import is_pdf, page_text

ZOOM = 1.6  # pixels per PDF point: readable at the default window size
MIN_LINE_CHARS = 4  # shorter lines of a cited span match all over a page; skip them when highlighting


@dataclass(frozen=True)
class CitedPage:
    """What the viewer shows: a rendered PDF page, or a text page as HTML, or why neither can be shown."""

    image: QImage | None = None
    html: str | None = None
    problem: str | None = None
    highlight_count: int = 0


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


def render_citation(citation: Citation) -> CitedPage:
    """Background: read the cited file and make the page to show."""
    if is_pdf(citation):
        try:
            image, highlighted = render_pdf_page(Path(citation.stored_path), citation)
        except (RuntimeError, ValueError, IndexError) as exc:  # encrypted, damaged or gone since
            return CitedPage(problem=f"{citation.file_name}: the page cannot be shown ({exc})")
        return CitedPage(image=image, highlight_count=highlighted)
    try:
        text = page_text(citation)
    except (ThreadloomError, OSError, IndexError) as exc:
        return CitedPage(problem=f"{citation.file_name}: the text cannot be shown ({exc})")
    before, span, after = text[: citation.start], text[citation.start : citation.end], text[citation.end :]
    return CitedPage(
        html=f"<pre style='white-space: pre-wrap'>{html.escape(before)}<a name='cited'></a>"
        f"<span style='background: #ffe58a'>{html.escape(span)}</span>{html.escape(after)}</pre>",
        highlight_count=1 if span.strip() else 0,
    )


class PageViewer(QDialog):
    """Shows one citation's `page`. `highlight_count` says how many places on the page were marked (tests read it)."""

    def __init__(self, citation: Citation, page: CitedPage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageViewer")
        state = (
            self.tr("verified")
            if citation.verified
            else self.tr("not verified: the text was not found there in the file")
        )
        self.setWindowTitle(
            self.tr("[{0}] {1}, page {2} ({3})").format(citation.number, citation.file_name, citation.page, state)
        )
        self.resize(820, 900)
        layout = QVBoxLayout(self)
        self.caption = QLabel(self.windowTitle())
        self.caption.setObjectName("pageViewerCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.highlight_count = page.highlight_count
        self.image = page.image
        if page.image is not None:
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(page.image))
            scroll = QScrollArea()
            scroll.setWidget(picture)
            layout.addWidget(scroll, 1)
        elif page.html is not None:
            self.text_view = QTextBrowser()
            layout.addWidget(self.text_view, 1)
            self.text_view.setHtml(page.html)
            self.text_view.scrollToAnchor("cited")
        else:
            layout.addWidget(QLabel(page.problem or ""))
