"""The child process that reads a document's text: a PDF with PDFium, a Word document with python-docx.

Run as a script of its own (`python -I reader.py KIND PAGES CHARS MEMORY CPU`), not as part of
the app: it limits its own memory, CPU time and writes before it reads a byte, then reads
the document from its standard input and prints one JSON object: the text and how much of
the document it covers, or the reason it could not be read. A parser that loops or a
file that explodes in memory ends this process only.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import zipfile
from typing import Any

# A Word document's parts, unpacked, are rarely past a few megabytes.
DOCX_MAX_ENTRIES = 2000
DOCX_MAX_UNPACKED = 200 * 1024 * 1024
# Past a megabyte, a part that unpacks to over this many times its packed size is a bomb.
DOCX_MAX_RATIO = 100
DOCX_RATIO_FROM = 1024 * 1024


def limit(memory: int, cpu: int) -> None:
    """Hold this process to `memory` bytes of address space and `cpu` seconds, with no file written."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def read_pdf(data: bytes, max_pages: int, max_chars: int) -> dict[str, Any]:
    """The text of a PDF's first pages, page by page, until either limit."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:
        locked = "password" in str(error).lower()
        return {"refused": "locked" if locked else "broken"}
    pages = len(document)
    parts: list[str] = []
    chars = read = failed = 0
    for number in range(min(pages, max_pages)):
        try:
            page = document[number]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
        except pypdfium2.PdfiumError:
            text, failed = "", failed + 1
        text = text.replace("\r\n", "\n").strip()
        parts.append(f"[page {number + 1}]\n{text}" if pages > 1 else text)
        chars += len(parts[-1]) + 2
        read = number + 1
        if chars >= max_chars:
            break
    if pages and failed == read:
        return {"refused": "broken"}
    text = "\n\n".join(parts)
    return {
        "text": text[:max_chars],
        "pages": pages,
        "read_pages": read,
        "cut": read < pages or len(text) > max_chars,
    }


def read_docx(data: bytes, max_chars: int) -> dict[str, Any]:
    """The text of a Word document, paragraphs and tables in order, after its zip is found safe to open."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return {"refused": "broken"}
    if len(entries) > DOCX_MAX_ENTRIES or sum(entry.file_size for entry in entries) > DOCX_MAX_UNPACKED:
        return {"refused": "bomb"}
    for entry in entries:
        packed = max(entry.compress_size, 1)
        if entry.file_size > DOCX_RATIO_FROM and entry.file_size > DOCX_MAX_RATIO * packed:
            return {"refused": "bomb"}
    if "word/document.xml" not in archive.namelist():
        return {"refused": "not_docx"}
    from docx import Document
    from docx.table import Table

    try:
        document = Document(io.BytesIO(data))
        parts: list[str] = []
        chars = 0
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                text = "\n".join(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            else:
                text = block.text
            parts.append(text)
            chars += len(text) + 1
            if chars > max_chars:
                break
    except (KeyError, ValueError, zipfile.BadZipFile, SyntaxError) as error:
        return {"refused": "broken", "detail": type(error).__name__}
    text = "\n".join(parts).strip()
    return {"text": text[:max_chars], "cut": len(text) > max_chars}


def main(argv: list[str]) -> int:
    kind, max_pages, max_chars, memory, cpu = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5])
    limit(memory, cpu)
    data = sys.stdin.buffer.read()
    try:
        result = read_pdf(data, max_pages, max_chars) if kind == "pdf" else read_docx(data, max_chars)
    except MemoryError:
        result = {"refused": "memory"}
    except Exception as error:  # whatever a hostile file makes a parser raise
        result = {"refused": "broken", "detail": type(error).__name__}
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
