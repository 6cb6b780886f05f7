"""Why something asked of the answers cannot be done, in words for the person who asked."""

from __future__ import annotations


class Refused(Exception):
    """What was asked cannot be done; the message says why, in words for the person who asked."""


class NotFound(Refused):
    """The conversation or exchange does not exist, or belongs to someone else."""


class Conflict(Refused):
    """The exchange is not in a state that allows this."""


class Behind(Conflict):
    """The asker's screen is out of date: the conversation went on elsewhere (another tab, another device)."""


class Busy(Refused):
    """Every answer place of this client is taken, or a quota is spent (`retry_after`: seconds it lasts)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Invalid(Refused):
    """The question cannot be sent as it is."""
