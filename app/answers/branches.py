"""A conversation's branches: which exchanges are on screen, and the versions of each."""

from __future__ import annotations

from dataclasses import dataclass

from ..storage import Row


@dataclass(frozen=True, slots=True)
class Branch:
    """The exchanges shown, oldest first, and every exchange's versions (itself included, oldest first)."""

    ids: list[int]
    versions: dict[int, list[int]]


def branch(tree: list[Row], leaf: int | None = None) -> Branch:
    """The branch through `leaf` (by default the newest exchange), down its newest versions to the end."""
    children: dict[int, list[int]] = {}
    parents: dict[int, int] = {}
    for exchange in tree:
        children.setdefault(exchange["parent_id"], []).append(exchange["id"])
        parents[exchange["id"]] = exchange["parent_id"]
    if not parents:
        return Branch([], {})
    end = leaf if leaf in parents else max(parents)
    while children.get(end):
        end = children[end][-1]
    ids = []
    while end in parents:
        ids.append(end)
        end = parents[end]
    ids.reverse()
    return Branch(ids, {exchange_id: children[parents[exchange_id]] for exchange_id in ids})
