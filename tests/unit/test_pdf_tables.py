"""Tables in PDFs (issue 17): a statement's rows are read as rows (label and figures on one line, under the column
headings), while prose keeps pymupdf's block order, so a two-column page is not interleaved."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from app.ingest.chunking import chunk_pages
from app.ingest.extract import page_texts

ROWS = [
    ("Net product sales", "$ 79,268", "$ 94,665", "$ 118,573"),
    ("Net service sales", "27,738", "41,322", "59,293"),
    ("Total net sales", "107,006", "135,987", "177,866"),
    ("Cost of sales", "71,651", "88,265", "111,934"),
    ("Fulfillment", "13,410", "17,619", "25,249"),
    ("Operating income", "2,233", "4,186", "4,106"),
    ("Interest expense", "(459)", "(484)", "(848)"),
]


def _statement_pdf(path: Path) -> None:
    """An income statement laid out the way filings print them: each cell placed on its own, not one text line."""
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((200, 60), "CONSOLIDATED STATEMENTS OF OPERATIONS", fontsize=10)
    for x, year in zip((330, 420, 510), ("2015", "2016", "2017"), strict=True):
        page.insert_text((x, 90), year, fontsize=9)
    for row, cells in enumerate(ROWS):
        y = 110 + 16 * row
        page.insert_text((40, y), cells[0], fontsize=9)
        for x, cell in zip((320, 410, 500), cells[1:], strict=True):
            page.insert_text((x, y), cell, fontsize=9)
    document.save(path)


def _two_column_pdf(path: Path) -> None:
    document = pymupdf.open()
    page = document.new_page()
    left = "The left column tells one story about otters and rivers, line after line, in order."
    right = "The right column tells another about mountains and snow, also line after line."
    page.insert_textbox(pymupdf.Rect(40, 40, 280, 400), left * 3, fontsize=10)
    page.insert_textbox(pymupdf.Rect(320, 40, 560, 400), right * 3, fontsize=10)
    document.save(path)


def test_a_statement_is_read_row_by_row(tmp_path: Path):
    path = tmp_path / "statement.pdf"
    _statement_pdf(path)
    (text,) = page_texts(path, kind="pdf", name="statement.pdf")
    lines = text.splitlines()
    assert "2015  2016  2017" in lines
    assert "Net product sales  $ 79,268  $ 94,665  $ 118,573" in lines
    assert "Interest expense  (459)  (484)  (848)" in lines
    # The years stand above the rows, in the same chunk.
    (chunk,) = chunk_pages([text])
    assert chunk.text.index("2015  2016  2017") < chunk.text.index("Total net sales  107,006")


def test_prose_in_two_columns_keeps_its_column_order(tmp_path: Path):
    path = tmp_path / "columns.pdf"
    _two_column_pdf(path)
    (text,) = page_texts(path, kind="pdf", name="columns.pdf")
    flat = " ".join(text.split())
    assert "otters and rivers, line after line, in order." in flat
    assert flat.index("otters") < flat.index("mountains")  # the whole left column first, not row by row


def test_the_page_text_is_the_same_on_every_read(tmp_path: Path):
    """Citations are checked against a second read of the stored file: it must give the very same string."""
    path = tmp_path / "statement.pdf"
    _statement_pdf(path)
    assert page_texts(path, kind="pdf", name="s.pdf") == page_texts(path, kind="pdf", name="s.pdf")
