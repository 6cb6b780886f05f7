"""Files asked about, served to the person who attached them and to admins; 404 to everyone else."""

from __future__ import annotations

from urllib.parse import quote

from quart import Blueprint, Response, abort

from .. import messages
from ..files import parts
from ..files.kinds import download_name
from ..people.access import signed_in_only
from ..people.identity import is_admin, owner
from ..storage import Row, attachments, get_db

bp = Blueprint("files", __name__)

# Shown in the page: the browser may show these itself; anything else is a download.
INLINE = frozenset({"image/png", "image/jpeg"})
# An image opened on its own: nothing runs or loads in it, and the browser's image viewer may style itself.
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
NAME_SHOWN_CHARS = 60
THUMBNAIL_SHOWN = 160


@bp.get("/files/<int:attachment_id>")
@signed_in_only
async def download(attachment_id: int) -> Response:
    """A file's bytes as they were kept, chunk by chunk: images shown, anything else downloaded."""
    found = await _visible(attachment_id)
    body = attachments.chunks(get_db(), attachment_id, found["chunks"])
    media_type = found["media_type"]
    response = Response(body, content_type=media_type)
    response.headers["Content-Length"] = str(found["size"])
    response.headers["Content-Disposition"] = disposition(
        "inline" if media_type in INLINE else "attachment", found["name"]
    )
    response.headers["Cache-Control"] = "private, no-store"
    if media_type in INLINE:
        response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.timeout = None
    return response


@bp.get("/files/<int:attachment_id>/thumbnail")
@signed_in_only
async def thumbnail(attachment_id: int) -> Response:
    """An image's thumbnail, for the chat and the history."""
    await _visible(attachment_id)
    data = await attachments.thumbnail(get_db(), attachment_id)
    if data is None:
        abort(404)
    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    response = Response(data, content_type=kind)
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def _visible(attachment_id: int) -> Row:
    """The file, if this visitor may see it: theirs (unless they deleted it), or anyone's for an admin."""
    found = await attachments.get(get_db(), attachment_id)
    if found is None or not ((found["owner"] == owner() and not found["hidden"]) or is_admin()):
        abort(404, messages.PLAIN[404])
    return found


def disposition(how: str, name: str) -> str:
    """A Content-Disposition header: an ASCII name for old clients, the real one encoded for the rest."""
    saved = download_name(name)
    plain = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\;%' else "_" for char in saved
    )
    return f"{how}; filename=\"{plain}\"; filename*=UTF-8''{quote(saved, safe='')}"


@bp.app_template_filter("file_size")
def file_size(size: int) -> str:
    """A size as people read it."""
    return messages.megabytes(int(size or 0))


@bp.app_template_filter("file_label")
def file_label(attachment: Row) -> str:
    """What kind of file it is, in a word or two."""
    return parts.label(attachment)


@bp.app_template_filter("file_note")
def file_note(attachment: Row) -> str:
    """How much of the file the model was given, when not all of it."""
    return parts.note(attachment)


@bp.app_template_filter("thumbnail_size")
def thumbnail_size(attachment: Row, side: int = THUMBNAIL_SHOWN) -> tuple[int, int]:
    """The size an image's thumbnail is shown at: its shape, its longer side at most `side` pixels."""
    width, height = attachment.get("width") or side, attachment.get("height") or side
    scale = min(side / max(width, height), 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


@bp.app_template_filter("short_name")
def short_name(name: str) -> str:
    """A name short enough for a chip: its start and its extension."""
    if len(name) <= NAME_SHOWN_CHARS:
        return name
    stem, dot, extension = name.rpartition(".")
    tail = f"{dot}{extension}" if dot and len(extension) <= 10 else ""
    return name[: NAME_SHOWN_CHARS - len(tail) - 1] + "…" + tail
