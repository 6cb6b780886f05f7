"""Files made at test time: images, PDFs, DOCX and text, good and hostile (no binary is committed)."""

from __future__ import annotations

import functools
import io
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image


def image(kind: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "red", **save: object) -> bytes:
    """A plain image in a format Pillow writes (PNG, JPEG, WEBP, GIF)."""
    picture = Image.new("RGB", size, color)
    out = io.BytesIO()
    picture.save(out, kind, **save)
    return out.getvalue()


def photo_turned(size: tuple[int, int] = (80, 40)) -> bytes:
    """A JPEG stored sideways whose EXIF says to turn it (orientation 6), with a camera and a place."""
    picture = Image.new("RGB", size, "blue")
    picture.paste(Image.new("RGB", (size[0] // 4, size[1]), "yellow"), (0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    exif[0x010F] = "Camera Maker"
    exif[0x0131] = "Secret Software 1.0"
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    """A GIF whose first frame is green and whose others are not."""
    colors = ["green", "black", "white", "purple"]
    pictures = [Image.new("RGB", (30, 30), colors[n % len(colors)]) for n in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return out.getvalue()


def pixel_bomb(side: int = 30_000) -> bytes:
    """A small PNG that claims `side`×`side` pixels: a decompression bomb (its first rows are enough)."""
    width = height = side
    data = zlib.compress((b"\x00" + b"\x00" * width) * 64, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def pdf(pages: list[str], *, compress: bool = False) -> bytes:
    """A PDF with one page per text (Helvetica, the text on the page's first lines)."""
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for number, text in enumerate(pages):
        lines = text.split("\n")
        shown = " ".join(f"({_pdf_text(line)}) Tj 0 -14 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 760 Td {shown} ET".encode()
        extra = b""
        if compress:
            stream, extra = zlib.compress(stream), b" /Filter /FlateDecode"
        page = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            f" /Contents {5 + 2 * number} 0 R >>"
        ).encode()
        objects.append(page)
        objects.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(stream), extra, stream))
    return _pdf_file(objects)


def _pdf_text(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_file(objects: list[bytes], root: int = 1) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out.write(trailer % (len(objects) + 1, root, xref))
    return out.getvalue()


def pdf_encrypted(text: str = "secret words", password: str = "open sesame") -> bytes:
    """A PDF that needs a password to open."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf([text]))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_page_loop() -> bytes:
    """A PDF whose page tree lists itself as its own child: a naive reader walks it forever."""
    return _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def pdf_stream_bomb(megabytes: int = 512) -> bytes:
    """A one-page PDF whose content stream inflates from about a megabyte to `megabytes` MB."""
    compressor = zlib.compressobj(1)
    block = b"0 0 m " * (1024 * 1024 // 6)
    data = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    return _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data),
        ]
    )


def pdf_malformed() -> bytes:
    """Something that starts like a PDF and is not one."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n1 0 obj << /Type /Catalog /Pages 9 0 R"


def docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word document with these paragraphs (and a table)."""
    from docx import Document

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, cells in zip(grid.rows, table, strict=True):
            for cell, text in zip(row.cells, cells, strict=True):
                cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(megabytes: int = 1024) -> bytes:
    """A DOCX whose document part inflates from a few megabytes to `megabytes` MB: a zip bomb."""
    real = zipfile.ZipFile(io.BytesIO(docx(["cover"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for item in real.infolist():
            if item.filename != "word/document.xml":
                bomb.writestr(item, real.read(item))
        with bomb.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><w:document xmlns:w="x"><w:body>')
            block = b" " * (1024 * 1024)
            for _ in range(megabytes):
                part.write(block)
    return out.getvalue()


def docx_many_entries(entries: int = 20_000) -> bytes:
    """A DOCX padded with tens of thousands of empty entries."""
    real = zipfile.ZipFile(io.BytesIO(docx(["hello"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as padded:
        for item in real.infolist():
            padded.writestr(item, real.read(item))
        for number in range(entries):
            padded.writestr(f"pad/{number}", b"")
    return out.getvalue()


@dataclass(frozen=True)
class Hostile:
    """One file of the hostile corpus: its name, bytes, and whether it may be kept (read safely) at all."""

    name: str
    data: bytes
    storable: bool = False


@functools.cache
def hostile_corpus() -> tuple[Hostile, ...]:
    """Files that have broken or frozen readers: each must be refused clearly or read within limits."""
    return (
        Hostile("bomb.png", pixel_bomb()),
        Hostile("bomb.docx", docx_bomb()),
        Hostile("crowded.docx", docx_many_entries()),
        Hostile("locked.pdf", pdf_encrypted()),
        Hostile("broken.pdf", pdf_malformed()),
        Hostile("truncated.pdf", pdf(["cut short"] * 3)[:300]),
        Hostile("loop.pdf", pdf_page_loop(), storable=True),
        Hostile("inflating.pdf", pdf_stream_bomb(), storable=True),
        Hostile("empty.txt", b""),
        Hostile("nul.bin", b"\x00" * 4096),
        Hostile("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        Hostile("fake.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 50),
        Hostile("not-a-docx.docx", b"PK\x03\x04" + b"\x00" * 200),
        Hostile("page.html", b"<!doctype html><script>alert(1)</script>", storable=True),
        Hostile("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', storable=True),
        Hostile("program.exe", b"MZ\x90\x00" + b"\x00" * 500),
    )


def multipart(
    fields: dict[str, str], files: list[tuple[str, bytes]], field: str = "files"
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it: the fields, then each (name, bytes) as a file."""
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartEncoder, Preamble

    boundary = b"----AnswersTestBoundary7MA4YWxk"
    encoder = MultipartEncoder(boundary)
    body = encoder.send_event(Preamble(data=b""))
    for name, value in fields.items():
        body += encoder.send_event(Field(name=name, headers=Headers()))
        body += encoder.send_event(Data(data=value.encode(), more_data=False))
    for filename, data in files:
        headers = Headers({"Content-Type": "application/octet-stream"})
        body += encoder.send_event(File(name=field, filename=filename, headers=headers))
        body += encoder.send_event(Data(data=data, more_data=False))
    body += encoder.send_event(Epilogue(data=b""))
    return body, f"multipart/form-data; boundary={boundary.decode()}"
