"""Read an attached file into text, page by page, or say in one line why it cannot be read.

Every error names the file (by the name the user knows) and what to do. Text offsets are into the strings returned
here, and `page_texts` returns exactly the same strings again, so a citation can be checked against the source.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ThreadloomError

KINDS = {
    ".pdf": "pdf",
    ".txt": "text", ".text": "text", ".log": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".docx": "docx",
    ".csv": "csv", ".tsv": "csv",
}  # fmt: skip
CODE_SUFFIXES = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".go", ".rs", ".rb",
    ".php", ".swift", ".kt", ".scala", ".sh", ".bash", ".zsh", ".sql", ".r", ".m", ".lua", ".pl", ".toml", ".yaml",
    ".yml", ".json", ".ini", ".cfg", ".xml", ".css", ".tex", ".el", ".hs", ".ml", ".dart", ".vue",
}
# Share of control characters (other than line breaks and tabs) above which extracted text is mojibake: fonts whose
# glyphs have no Unicode mapping give strings like "3HQČåQt\x03SURVW".
GARBLED_SHARE = 0.05
# What the members of a ZIP-based file (DOCX) may unpack to in all; far above any real document's text and media.
MAX_INFLATED_BYTES = 256 * 2**20


class UnreadableFile(ThreadloomError):
    """The file cannot be turned into text; the message says why and what to do."""


class PasswordNeeded(UnreadableFile):
    def __init__(self, name: str, *, wrong: bool) -> None:
        self.wrong = wrong
        if wrong:
            super().__init__(f"{name}: wrong password; try again with the right one")
        else:
            super().__init__(f"{name} is encrypted: give its password to read it")


@dataclass(frozen=True)
class Extracted:
    kind: str
    pages: list[str]  # page 1 is pages[0]; a file without pages is one page


def kind_of(path: Path) -> str | None:
    """The kind of file by its name, or None when attachments do not support it."""
    suffix = path.suffix.lower()
    if suffix in KINDS:
        return KINDS[suffix]
    if suffix in CODE_SUFFIXES:
        return "code"
    return None


def preload_readers() -> None:
    """Import the PDF and DOCX libraries now. Their first import holds the interpreter lock for ~80 ms (measured:
    pymupdf), which a window feels as a frozen frame if it happens mid-reply, on the first attachment."""
    import docx  # noqa: F401
    import pymupdf  # noqa: F401


def extract(path: Path, *, kind: str, name: str, password: str | None = None) -> Extracted:
    """The text of `path` (a stored copy) as pages. Raises UnreadableFile (or PasswordNeeded) naming `name`."""
    pages = page_texts(path, kind=kind, name=name, password=password)
    if not any(any(ch.isalnum() for ch in page) for page in pages):
        if kind == "pdf":
            raise UnreadableFile(f"{name}: no text found (scanned?); run it through OCR and attach the result")
        raise UnreadableFile(f"{name} has no text to read")
    text = "".join(pages)
    visible = sum(1 for ch in text if not ch.isspace())
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and not ch.isspace())
    if visible and control / visible > GARBLED_SHARE:
        raise UnreadableFile(
            f"{name}: its text could not be decoded (fonts without a Unicode map); export it again from its source"
        )
    return Extracted(kind, pages)


def page_texts(path: Path, *, kind: str, name: str, password: str | None = None) -> list[str]:
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{name} is empty (0 bytes); attach the file again from its source")
    if kind == "pdf":
        return _pdf_pages(path, name, password)
    if kind == "docx":
        return [_docx_text(path, name)]
    text = decode_text(path.read_bytes(), name)
    if kind == "html":
        return [html_to_text(text)]
    if kind == "csv":
        return [_csv_text(text, name, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")]
    return [text.replace("\r\n", "\n")]


def _pdf_pages(path: Path, name: str, password: str | None) -> list[str]:
    import pymupdf

    try:
        document = pymupdf.open(path)
    except pymupdf.EmptyFileError as exc:
        raise UnreadableFile(f"{name} is empty (0 bytes); attach the file again from its source") from exc
    except (pymupdf.FileDataError, RuntimeError) as exc:
        raise UnreadableFile(f"{name} is damaged or not a PDF (it cannot be opened); attach an intact copy") from exc
    with document:
        if document.needs_pass:
            if password is None:
                raise PasswordNeeded(name, wrong=False)
            if not document.authenticate(password):
                raise PasswordNeeded(name, wrong=True)
        if document.page_count == 0:
            raise UnreadableFile(f"{name} is damaged: no page can be read; attach an intact copy")
        try:
            return [_page_text(page) for page in document]
        except (RuntimeError, ValueError) as exc:
            raise UnreadableFile(f"{name} is damaged ({exc}); attach an intact copy") from exc


# A figure in a table cell: 1,234 / (459) / $ / 12.5% / — .
_FIGURE = re.compile(r"^[(\[]?[-−–—$€£%]?\d[\d,.]*%?[)\]]?$|^[$€£%—–-]$")
TABLE_ROWS_MIN = 5  # rows with two or more figures after their label that make a page read row by row


def _page_text(page) -> str:
    """A page's text. A page holding a table (a financial statement) is read row by row, each printed line one line
    with its cells in order and two spaces between columns, so a row's label and figures stay together and a chunk
    of the table reads as rows under their column headings; every other page as pymupdf reads it, block by block
    (a two-column article stays in column order). pymupdf's find_tables was tried first: on the shaded rows of SEC
    filings it finds each row as a table of its own (issue 17)."""
    rows = _rows(page.get_text("words"))
    figures_rows = sum(1 for row in rows if sum(1 for cell in row[2] if _FIGURE.match(cell)) >= 2)
    if figures_rows < TABLE_ROWS_MIN:
        return page.get_text()
    lines: list[str] = []
    for index, (top, height, _cells, text) in enumerate(rows):
        if index and top - (rows[index - 1][0] + rows[index - 1][1]) > height:  # a paragraph's gap
            lines.append("")
        lines.append(text)
    return "\n".join(lines) + "\n"


def _rows(words: list) -> list[tuple[float, float, list[str], str]]:
    """Words grouped into printed lines (by vertical middle): (top, height, cells, text) top to bottom, where cells
    are the runs of words separated by more than a word gap."""
    ordered = sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0]))
    groups: list[list] = []
    middle = 0.0
    for word in ordered:
        centre, height = (word[1] + word[3]) / 2, word[3] - word[1]
        if not groups or abs(centre - middle) > height / 2:
            groups.append([])
            middle = centre
        groups[-1].append(word)
    rows = []
    for group in groups:
        group.sort(key=lambda w: w[0])
        cells = [group[0][4]]
        for before, word in zip(group, group[1:], strict=False):
            if word[0] - before[2] > 0.8 * (before[3] - before[1]):
                cells.append(word[4])
            else:
                cells[-1] += " " + word[4]
        top = min(w[1] for w in group)
        rows.append((top, max(w[3] for w in group) - top, cells[1:], "  ".join(cells)))
    return rows


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) first, then the encoding charset-normalizer finds; binary data is refused."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile(f"{name} is a binary file, not text; attach it under its real type")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise UnreadableFile(f"{name} is a binary file or its text encoding cannot be recognised; save it as UTF-8")
    best = matches[0]
    # Western European text decodes equally cleanly as several code pages; Windows-1252 is by far the likeliest.
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return str(next((m for m in tied if m.encoding == "cp1252"), best))


# A tag never spans a `<`: so a scan for its end stops at the next one, and a page full of unclosed `<` costs one
# pass instead of a rescan to the end of the file per `<`.
_DROPPED_OPEN = re.compile(r"<(script|style|head)\b", re.IGNORECASE)
_DROPPED_CLOSE = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("script", "style", "head")}
_BLOCK_TAGS = re.compile(r"<\s*/?\s*(p|div|br|li|tr|h[1-6]|section|article|blockquote|pre|table)\b[^<>]*>", re.I)
_ANY_TAG = re.compile(r"<[^<>]+>")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML page: scripts and styles dropped, blocks on their own lines."""
    text = _without_dropped_elements(markup)
    text = _BLOCK_TAGS.sub("\n", text)
    text = html.unescape(_ANY_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _without_dropped_elements(markup: str) -> str:
    """Scripts, styles and the head left out, in one pass: an element never closed stays (as its tags are then
    stripped) and, once a closing tag is known to be missing, it is not looked for again."""
    kept, position, unclosed = [], 0, set()
    for opening in _DROPPED_OPEN.finditer(markup):
        tag = opening[1].lower()
        if opening.start() < position or tag in unclosed:
            continue
        closing = _DROPPED_CLOSE[tag].search(markup, opening.end())
        if closing is None:
            unclosed.add(tag)
            continue
        kept += [markup[position : opening.start()], " "]
        position = closing.end()
    kept.append(markup[position:])
    return "".join(kept)


def _docx_text(path: Path, name: str) -> str:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    _check_inflated_size(path, name)
    try:
        document = docx.Document(str(path))
        parts = [paragraph.text for paragraph in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.LxmlError) as exc:
        raise UnreadableFile(f"{name} is damaged or not a Word document; attach an intact .docx") from exc
    return "\n\n".join(part for part in parts if part.strip()) + "\n"


def _check_inflated_size(path: Path, name: str) -> None:
    """Refuse a ZIP-based file whose members would inflate past MAX_INFLATED_BYTES (a decompression bomb) before
    any member is read. The sizes the archive declares are the most zipfile will ever inflate a member to."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"{name} is damaged or not a Word document; attach an intact .docx") from exc
    if inflated > MAX_INFLATED_BYTES:
        raise UnreadableFile(
            f"{name} would unpack to {inflated / 2**20:,.0f} MiB (over {MAX_INFLATED_BYTES / 2**20:,.0f} MiB): "
            "it is a damaged or hostile file; attach an intact .docx"
        )


def _csv_text(text: str, name: str, *, delimiter: str) -> str:
    """One line per row, `header: value` pairs, so a chunk of rows still says what each value means."""
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(f"{name} is not valid CSV ({exc}); check its format") from exc
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    if not body:
        return delimiter.join(header) + "\n"
    lines = ["; ".join(f"{key}: {value}" for key, value in zip(header, row, strict=False)) for row in body]
    return "\n".join(lines) + "\n"
