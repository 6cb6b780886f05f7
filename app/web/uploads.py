"""Request bodies held to their limit as they arrive, files taken only where a view says so, cut uploads told.

Quart queues a request's body as fast as the client sends it and checks its size only
against the Content-Length header. Here every body is counted as it arrives: past its
limit the rest is dropped (never queued) and reading it raises 413, whatever the header
said or whether there was one. A multipart body sent to a view declared with
@takes_files gets the files limit (MAX_UPLOAD_MB_PER_QUESTION and room for the form)
instead of MAX_BODY_BYTES, and a longer wait for its body. A multipart body that stops
before its closing boundary (the upload was cut off) is refused rather than read as a
form missing its files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Any, cast

from quart import Quart, Request
from quart.formparser import FormDataParser, MultiPartParser
from quart.wrappers.request import Body
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import messages

TAKES_FILES = "_answers_takes_files"
# A slow connection may take this long to send a question's files.
UPLOAD_SECONDS = 600
MB = 1024 * 1024


def takes_files[View: Callable[..., Any]](view: View) -> View:
    """Declare a view that receives files: its requests may be as large as a question's files."""
    setattr(view, TAKES_FILES, True)
    return view


class UploadCut(BadRequest):
    """The multipart body ended before its closing boundary."""


class CountedBody(Body):
    """A request body that stops taking data past its limit, whatever the Content-Length said."""

    def __init__(self, expected_content_length: int | None, max_content_length: int | None) -> None:
        super().__init__(expected_content_length, max_content_length)
        self.received = 0

    async def put(self, data: bytes) -> None:
        if self._must_raise is not None:
            return
        self.received += len(data)
        if self._max_content_length is not None and self.received > self._max_content_length:
            self._must_raise = RequestEntityTooLarge()
            self._complete.set()
            # Whoever waits for data wakes to the error; what was queued is dropped.
            while not self._queue.empty():
                self._queue.get_nowait()
            await self._queue.put(b"")
            return
        await super().put(data)


class _EndChecked(MultiPartParser):
    """A multipart parser that refuses a body whose closing boundary never came."""

    async def parse(self, body: Body, boundary: bytes, content_length: int) -> tuple[MultiDict, MultiDict]:
        closing = b"--" + boundary + b"--"
        tail = bytearray()

        async def watched() -> AsyncIterator[bytes]:
            async for data in body:
                tail.extend(data)
                del tail[: max(len(tail) - len(closing) - 64, 0)]
                yield data

        parsed = await super().parse(cast(Body, watched()), boundary, content_length)
        if closing not in tail:
            raise UploadCut(messages.UPLOAD_CUT)
        return parsed


async def _parse_multipart(
    self: FormDataParser, body: Body, mimetype: str, content_length: int | None, options: dict[str, str]
) -> tuple[MultiDict, MultiDict]:
    boundary = options.get("boundary", "").encode("ascii")
    if not boundary:
        raise ValueError("Missing boundary")
    parser = _EndChecked(
        cls=self.cls or MultiDict,
        file_storage_cls=self.file_storage_class,
        max_content_length=self.max_content_length,
        max_form_memory_size=self.max_form_memory_size,
        max_form_parts=self.max_form_parts,
        stream_factory=self.stream_factory,
    )
    return await parser.parse(body, boundary, content_length or 0)


class _FormParser(FormDataParser):
    parse_functions = {**FormDataParser.parse_functions, "multipart/form-data": _parse_multipart}


def init_app(app: Quart) -> None:
    """Count every request's body; give the views that take files their larger limit."""
    config = app.config["ANSWERS"]
    files_limit = config.max_upload_mb_per_question * MB + config.max_body_bytes

    @lru_cache(maxsize=256)
    def takes_files_at(path: str) -> bool:
        try:
            endpoint, _ = app.url_map.bind("", default_method="POST").match(path, method="POST")
        except (NotFound, MethodNotAllowed, HTTPException):
            return False
        return bool(getattr(app.view_functions.get(str(endpoint)), TAKES_FILES, False))

    class CountedRequest(Request):
        body_class = CountedBody
        form_data_parser_class = _FormParser

        def __init__(
            self,
            method: str,
            scheme: str,
            path: str,
            query_string: bytes,
            headers: Headers,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            # Files come as multipart; any other body to the same view keeps the usual limit.
            with_files = (
                method == "POST"
                and headers.get("Content-Type", "").startswith("multipart/form-data")
                and takes_files_at(path)
            )
            if with_files:
                kwargs["max_content_length"] = files_limit
                kwargs["body_timeout"] = UPLOAD_SECONDS
            super().__init__(method, scheme, path, query_string, headers, *args, **kwargs)
            if with_files:
                self.max_content_length = files_limit

    app.request_class = CountedRequest
