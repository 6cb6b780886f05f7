"""Places held right now in this process, per key: checked and taken in one step, so none can be overtaken."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class Places:
    """At most `limit` places per key (a client, an answer); the rest are refused, not queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken: Counter[Hashable] = Counter()

    def full(self, key: Hashable) -> bool:
        """Whether every place of this key is taken."""
        return self.taken[key] >= self.limit

    def take(self, key: Hashable) -> bool:
        """Take a place if one is free; say whether it was taken."""
        # No await between the check and the take: two callers cannot both pass a full check.
        if self.full(key):
            return False
        self.taken[key] += 1
        return True

    def release(self, key: Hashable) -> None:
        """Give a place back."""
        self.taken[key] -= 1
        if self.taken[key] <= 0:
            del self.taken[key]

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[bool]:
        """Hold a place for the block and yield True, or yield False (holding nothing) when all are taken."""
        taken = self.take(key)
        try:
            yield taken
        finally:
            if taken:
                self.release(key)
