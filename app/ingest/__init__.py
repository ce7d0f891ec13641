"""File → text (pymupdf for PDF; text, Markdown, reST, code, HTML, DOCX, CSV), chunking, summaries. No Qt, no store."""
