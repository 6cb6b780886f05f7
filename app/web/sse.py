"""Server-sent events: the wire format of the answer stream."""

from __future__ import annotations

from collections.abc import AsyncIterable

from quart import Response


def event(name: str, data: str, id: str | None = None) -> bytes:
    """Encode one event; every line of the data gets its own `data:` field.

    A browser that reconnects on its own sends the last `id` back as `Last-Event-ID`.
    """
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head = f"id: {id}\n" if id is not None else ""
    return (f"{head}event: {name}\ndata: " + "\ndata: ".join(lines) + "\n\n").encode()


def response(body: AsyncIterable[bytes]) -> Response:
    """Wrap an async iterator of encoded events in a response no proxy will buffer."""
    stream = Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # An answer may stream for minutes; Quart's default response timeout would cut it.
    stream.timeout = None
    return stream
