"""The page a citation points to: a PDF page rendered by pymupdf with the cited span highlighted, or the text of
any other file with the span marked. Opens the stored copy read-only; nothing is written back.

Reading and rendering (`render_citation`) run off the GUI thread: a large page takes a while. Only a QImage is
made there (QImage, unlike QPixmap, may be made on any thread); the dialog shows it on the GUI thread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QStyle, QTextBrowser, QVBoxLayout, QWidget

from app.core.documents import Citation
from app.core.errors import ThreadloomError
from app.services.cited_pages import is_pdf, page_text

ZOOM = 1.6  # pixels per PDF point: readable at the default window size
SCREEN_SHARE = 0.9  # at most this much of the screen's width and height for the viewer
HIGHLIGHT_MARGIN = 80  # pixels of the page shown above the first highlight
TEXT_VIEW_SIZE = QSize(820, 900)  # a cited text file's page (a PDF page sizes the viewer to itself)
MIN_LINE_CHARS = 4  # shorter lines of a cited span match all over a page; skip them when highlighting


@dataclass(frozen=True)
class CitedPage:
    """What the viewer shows: a rendered PDF page, or a text page as HTML, or why neither can be shown."""

    image: QImage | None = None
    html: str | None = None
    problem: str | None = None
    highlight_count: int = 0
    highlight_top: int = 0  # pixels from the image's top to the first highlight: the viewer opens there


def render_pdf_page(path: Path, citation: Citation) -> tuple[QImage, int, int]:
    """The cited page as an image with the span's lines highlighted, how many places were highlighted, and the
    pixel row of the topmost one."""
    import pymupdf

    with pymupdf.open(path) as document:
        page = document[citation.page - 1]
        highlighted, top = 0, page.rect.height
        for line in dict.fromkeys(part.strip() for part in citation.text.splitlines()):
            if len(line) < MIN_LINE_CHARS:
                continue
            quads = page.search_for(line, quads=True)
            if quads:
                page.add_highlight_annot(quads)
                highlighted += len(quads)
                top = min(top, *(quad.rect.y0 for quad in quads))
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(ZOOM, ZOOM), annots=True)
        image = QImage(pixmap.samples, pixmap.width, pixmap.height, pixmap.stride, QImage.Format.Format_RGB888)
        # copy: the samples buffer dies with the pixmap
        return image.copy(), highlighted, round(top * ZOOM) if highlighted else 0


def render_citation(citation: Citation) -> CitedPage:
    """Background: read the cited file and make the page to show."""
    if is_pdf(citation):
        try:
            image, highlighted, top = render_pdf_page(Path(citation.stored_path), citation)
        except (RuntimeError, ValueError, IndexError) as exc:  # encrypted, damaged or gone since
            return CitedPage(problem=f"{citation.file_name}: the page cannot be shown ({exc})")
        return CitedPage(image=image, highlight_count=highlighted, highlight_top=top)
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
        self.citation = citation
        state = (
            self.tr("verified")
            if citation.verified
            else self.tr("not verified: the text was not found there in the file")
        )
        self.setWindowTitle(
            self.tr("[{0}] {1}, page {2} ({3})").format(citation.number, citation.file_name, citation.page, state)
        )
        layout = QVBoxLayout(self)
        self.caption = QLabel(self.windowTitle())
        self.caption.setObjectName("pageViewerCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.highlight_count = page.highlight_count
        self.image = page.image
        if page.image is not None:
            self._show_image(page, layout)
            return
        self.resize(TEXT_VIEW_SIZE)
        if page.html is not None:
            self.text_view = QTextBrowser()
            layout.addWidget(self.text_view, 1)
            self.text_view.setHtml(page.html)
            self.text_view.scrollToAnchor("cited")
        else:
            layout.addWidget(QLabel(page.problem or ""))

    def _show_image(self, page: CitedPage, layout: QVBoxLayout) -> None:
        """The whole width of the page in view, scaled down only where the screen is narrower: a statement's figures
        sit in its right-hand columns, which a fixed-width viewer cut off. Opens at the first highlight."""
        available = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        chrome = 2 * layout.contentsMargins().left() + scroll_bar + 4
        width = min(page.image.width(), int(available.width() * SCREEN_SHARE) - chrome)
        image = page.image if width >= page.image.width() else page.image.scaledToWidth(
            width, Qt.TransformationMode.SmoothTransformation
        )
        picture = QLabel()
        picture.setPixmap(QPixmap.fromImage(image))
        self.scroll = QScrollArea()
        self.scroll.setWidget(picture)
        layout.addWidget(self.scroll, 1)
        self.resize(width + chrome, min(image.height() + chrome + 40, int(available.height() * SCREEN_SHARE)))
        scale = image.width() / page.image.width()
        self.first_highlight_y = round(page.highlight_top * scale)
        QTimer.singleShot(0, self, self._scroll_to_highlight)

    def _scroll_to_highlight(self) -> None:
        """A little of the page above the highlight stays in view, so the table's heading shows with its rows."""
        self.scroll.verticalScrollBar().setValue(max(0, self.first_highlight_y - HIGHLIGHT_MARGIN))
