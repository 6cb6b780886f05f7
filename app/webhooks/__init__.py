"""Webhooks: the outbox's events sent, signed, to the endpoints the settings name (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from quart import Quart, current_app

from .delivery import Deliverer

__all__ = ["Deliverer", "get_deliverer", "init_app"]


def init_app(app: Quart) -> None:
    """Route events and deliver them while the app serves; stop before the database closes.

    Call after storage.init_app: serving hooks are undone in reverse order.
    """

    @app.while_serving
    async def webhooks() -> AsyncGenerator[None]:
        deliverer = Deliverer(app.extensions["db"], app.config["ANSWERS"])
        await deliverer.start()
        app.extensions["deliverer"] = deliverer
        try:
            yield
        finally:
            await app.extensions.pop("deliverer").close()


def get_deliverer() -> Deliverer:
    """The deliverer of the app handling the current request."""
    return current_app.extensions["deliverer"]
