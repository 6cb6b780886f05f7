"""How pytest-xdist shares the tests out: each test on its own, except those that must not run twice at once.

xdist's own `--dist loadgroup` reads `xdist_group` marks by appending the group to each test's
node id, which pytest 9.2 no longer lets it do: the marks were silently ignored, and two workers
each started a Galera cluster at once (pytest-xdist issue #1386). This scheduler finds the groups
from the node ids themselves, on the controller, where they are known before any test runs.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# Tests that use the machine's Redis: counters of two workers must not mix.
SHARE_REDIS = {
    "test_questions_per_minute_are_shared_by_instances_through_redis",
    "test_rate_limits_are_shared_through_redis",
}


def group_of(nodeid: str) -> str | None:
    """The group a test must run in, with every other test of it, in one worker; None for a test alone."""
    path, _, name = nodeid.partition("::")
    if "/cluster/" in path or path.startswith("cluster/"):
        return "cluster"
    if name.partition("[")[0] in SHARE_REDIS:
        return "redis"
    return None


class Grouped(LoadScopeScheduling):
    """xdist's load scheduling with the groups above as units (the largest first), every other test alone."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or nodeid
