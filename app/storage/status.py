"""Where an answer stands: the one list of statuses, stored as text and passed to SQL as parameters."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The status of an exchange's answer."""

    PENDING = "pending"
    STREAMING = "streaming"
    # Asked to stop while another process streams it; that process ends it as `stopped`.
    STOPPING = "stopping"
    DONE = "done"
    ERROR = "error"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"


FINISHED = frozenset({Status.DONE, Status.ERROR, Status.STOPPED, Status.INTERRUPTED})
LIVE = frozenset({Status.PENDING, Status.STREAMING, Status.STOPPING})
# Answers that count as context for the next question: their text is what the person saw.
CONTEXT = frozenset({Status.DONE, Status.STOPPED, Status.INTERRUPTED})
