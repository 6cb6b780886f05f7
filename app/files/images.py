"""Images made ready for the model: the first frame, turned upright, without metadata, shrunk, re-encoded.

Pillow decodes in a worker thread (`prepare` blocks). An image claiming more than
MAX_PIXELS is refused from its header, before any pixel is decoded: Pillow's bomb warning
is an error here, as is its bomb error.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

from .. import messages

# About 8,000 × 5,000: every camera's photos and screenshots of the widest screens.
MAX_PIXELS = 40_000_000
# What vision models use of an image: larger ones are shrunk by the model's server anyway.
LONGEST_SIDE = 2048
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


class Unreadable(Exception):
    """The image cannot be used; the message says why, for the person who attached it."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """An image as the model is sent it, and its thumbnail."""

    data: bytes
    media_type: str
    width: int
    height: int
    thumbnail: bytes


def prepare(source: BinaryIO) -> Prepared:
    """Read an image and make it ready for the model; Unreadable when it cannot be (run in a thread)."""
    try:
        with Image.open(source) as opened:
            if opened.format not in FORMATS:
                raise Unreadable(messages.IMAGE_UNREADABLE)
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise Unreadable(messages.image_too_large(width, height, MAX_PIXELS))
            opened.seek(0)
            source_format = opened.format
            if source_format == "JPEG":
                # Decode at a fraction of the size when that is enough: faster, and less memory.
                opened.draft("RGB", (LONGEST_SIDE, LONGEST_SIDE))
            upright = ImageOps.exif_transpose(opened)
            return _encoded(upright, source_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable(messages.IMAGE_BOMB) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise Unreadable(messages.IMAGE_UNREADABLE) from None


def _encoded(picture: Image.Image, source_format: str) -> Prepared:
    """The picture shrunk and saved anew (no EXIF, no text chunks: nothing but pixels), and its thumbnail."""
    transparent = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    picture = picture.convert("RGBA" if transparent else "RGB")
    picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
    # Screenshots and drawings keep sharp edges as PNG; photos are smaller as JPEG.
    lossless = transparent or source_format in ("PNG", "GIF")
    data = _saved(picture, "PNG" if lossless else "JPEG", JPEG_QUALITY)
    small = picture.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    thumbnail = _saved(small, "PNG" if transparent else "JPEG", THUMBNAIL_QUALITY)
    return Prepared(
        data=data,
        media_type="image/png" if lossless else "image/jpeg",
        width=picture.width,
        height=picture.height,
        thumbnail=thumbnail,
    )


def _saved(picture: Image.Image, kind: str, quality: int) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        picture.save(out, "JPEG", quality=quality, optimize=True)
    else:
        picture.save(out, "PNG", optimize=kind == "PNG" and picture.width * picture.height < 1_000_000)
    return out.getvalue()
