"""File → text (pymupdf for PDF; text, Markdown, reST, code, HTML, DOCX, CSV) and chunking. No Qt, no store."""
