"""A question's whole life, with no HTTP in it: asked, answered by the model, followed, stopped, asked again.

`Answers` is one process's answers (answering.py: claimed, run, stopped) and the three
ways in: asking (asking.py), following (following.py) and sweeping (sweeping.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import suppress

from quart import Quart, current_app

from ..config import Config
from ..model.catalog import Catalog
from ..storage import Database, Spool
from .answering import Answering
from .asking import Asked, Asking
from .calls import Calls
from .following import Ended, Following, Grew, Unfollowed
from .refusals import Behind, Busy, Conflict, Invalid, NotFound, Refused
from .sweeping import Sweeper

__all__ = [
    "Answers",
    "Asked",
    "Behind",
    "Busy",
    "Conflict",
    "Ended",
    "Grew",
    "Invalid",
    "NotFound",
    "Refused",
    "Unfollowed",
    "get_answers",
    "init_app",
]


class Answers(Answering):
    """The answers of one app process, and the ways in: asking, following, sweeping."""

    def __init__(self, db: Database, spool: Spool, catalog: Catalog, config: Config) -> None:
        super().__init__(db, spool, catalog, config)
        self.asking = Asking(self)
        self.calls = Calls(self)
        self.following = Following(self)
        self.sweeper = Sweeper(self)


def init_app(app: Quart) -> None:
    """Make the app's answers (and model client) while it serves; end running ones before the database closes.

    Call after storage.init_app: serving hooks are undone in reverse order.
    """

    @app.while_serving
    async def answers() -> AsyncGenerator[None]:
        config = app.config["ANSWERS"]
        answers = Answers(app.extensions["db"], app.extensions["spool"], Catalog(config), config)
        app.extensions["answers"] = answers
        listeners = app.extensions["settings"].listeners if "settings" in app.extensions else []
        listeners.append(answers.reconfigure)
        sweeper = asyncio.create_task(answers.sweeper.keep_sweeping(), name="sweeper")
        try:
            yield
        finally:
            listeners.remove(answers.reconfigure)
            sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await sweeper
            await answers.following.watching.close()
            await app.extensions.pop("answers").close()


def get_answers() -> Answers:
    """The answers of the app handling the current request."""
    return current_app.extensions["answers"]
