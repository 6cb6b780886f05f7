"""Stored times and durations as people read them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..storage.dialects import as_datetime


def iso_time(value: object) -> str:
    """A stored time as ISO 8601 UTC, for `<time datetime>`."""
    moment = as_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def short_time(value: object, zone: str | None = None) -> str:
    """A stored time as people read it: `2026-11-24 14:05 UTC`, or in a time zone, `2026-11-24 15:05 CET`."""
    moment = as_datetime(value)
    if not isinstance(moment, datetime):
        return ""
    if zone:
        try:
            local = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(ZoneInfo(zone))
        except (ValueError, ZoneInfoNotFoundError):
            return moment.strftime("%Y-%m-%d %H:%M UTC")
        return local.strftime("%Y-%m-%d %H:%M %Z")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def seconds(milliseconds: int | None) -> str:
    """A latency in milliseconds as seconds, `1.4 s`."""
    return "" if milliseconds is None else f"{milliseconds / 1000:.1f} s"
