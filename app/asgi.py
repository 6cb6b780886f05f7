"""ASGI's shapes as this app's middleware sees them, and the one way to put middleware around the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from quart import Quart

# Middleware reads and copies the scope and messages as plain dicts (ASGI lets it add keys).
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def wrap(app: Quart, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Serve the app through one more middleware, outside those already around it."""
    # Quart types the scope as Hypercorn's TypedDicts, which know no key beyond the specification's.
    inner = cast(ASGIApp, app.asgi_app)
    # Replacing `asgi_app` on the instance is Quart's documented way to add ASGI middleware.
    app.asgi_app = middleware(inner)  # type: ignore[method-assign, assignment]
