"""Addresses that carry a secret (a link's token), found in the url map and masked in the logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

from werkzeug.routing import Rule

from ..logs import MASK

# A route placeholder with one of these names holds a secret: whoever knows it holds the link.
SECRET_ARGUMENTS = frozenset({"token", "secret"})
_PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def secret_rules(rules: Iterable[Rule]) -> list[Rule]:
    """The rules with a secret in their path."""
    return [rule for rule in rules if any(_secret(found) for found in _PLACEHOLDER.finditer(rule.rule))]


class SecretPaths:
    """Finds the secrets in a request's path, by the start of every route that carries one."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        starts = sorted({_start(rule.rule) for rule in secret_rules(rules)})
        self.pattern = re.compile("|".join(starts), re.IGNORECASE) if starts else None

    def secrets(self, path: str) -> tuple[str, ...]:
        """The secrets in a path (none for an address that carries none)."""
        found = self.pattern.match(path) if self.pattern else None
        return tuple(secret for secret in found.groups() if secret) if found else ()

    def mask(self, path: str) -> str:
        """The path with its secrets replaced by an ellipsis."""
        found = self.pattern.match(path) if self.pattern else None
        if found is None:
            return path
        spans = [found.span(group) for group in range(1, len(found.groups()) + 1) if found.group(group)]
        for start, end in reversed(spans):
            path = path[:start] + MASK + path[end:]
        return path


def _start(rule: str) -> str:
    """A pattern for a rule's path up to its last secret: the rest (a mistyped tail too) is left to match."""
    segments = rule.strip("/").split("/")
    last = max(i for i, segment in enumerate(segments) for m in _PLACEHOLDER.finditer(segment) if _secret(m))
    # Repeated slashes are one slash to the router; a path that spells them is still the same link.
    return "^/+" + "/+".join(_segment(segment) for segment in segments[: last + 1]) + "(?=/|$)"


def _segment(segment: str) -> str:
    pattern, at = "", 0
    for placeholder in _PLACEHOLDER.finditer(segment):
        pattern += re.escape(segment[at : placeholder.start()])
        if _secret(placeholder):
            pattern += "([^/]+?)"
        else:
            pattern += ".+?" if placeholder.group(1) == "path" else "[^/]+?"
        at = placeholder.end()
    return pattern + re.escape(segment[at:])


def _secret(placeholder: re.Match[str]) -> bool:
    return placeholder.group(2) in SECRET_ARGUMENTS
