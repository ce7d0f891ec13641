"""The page a citation points to, read from the attachment's stored copy, for whoever shows it (the window's page
viewer). Reads only; raises what the ingest readers raise (UnreadableFile is a ThreadloomError)."""

from __future__ import annotations

from pathlib import Path

from app.core.documents import Citation
from app.ingest.extract import kind_of, page_texts


def is_pdf(citation: Citation) -> bool:
    return kind_of(Path(citation.stored_path)) == "pdf"


def page_text(citation: Citation) -> str:
    """The text of the cited page; IndexError when the file has fewer pages now, OSError when it is gone."""
    path = Path(citation.stored_path)
    return page_texts(path, kind=kind_of(path) or "text", name=citation.file_name)[citation.page - 1]
