"""Charts drawn on the server as SVG shapes: bars placed here, coloured by CSS classes, no script or style."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 720
HEIGHT = 180
LABEL_ROOM = 150
BAR_HEIGHT = 18
BAR_GAP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: where it stands, its share drawn in the warning class, and what it says."""

    x: float
    y: float
    width: float
    height: float
    part_y: float
    part_height: float
    label: str
    title: str


def columns(values: list[tuple[str, int, int]], width: int = WIDTH, height: int = HEIGHT) -> list[Bar]:
    """Upright bars for (label, total, part) in order, the part (errors) drawn at each bar's foot."""
    if not values:
        return []
    top = max(total for _, total, _ in values) or 1
    step = width / len(values)
    bars = []
    for index, (label, total, part) in enumerate(values):
        tall = height * total / top
        low = height * part / top
        bars.append(
            Bar(
                x=round(index * step + step * 0.1, 1),
                y=round(height - tall, 1),
                width=round(step * 0.8, 1),
                height=round(tall, 1),
                part_y=round(height - low, 1),
                part_height=round(low, 1),
                label=label,
                title=f"{label}: {total:,} ({part:,} errors)",
            )
        )
    return bars


def rows(values: list[tuple[str, int]], width: int = WIDTH) -> list[Bar]:
    """Lying bars for (label, amount), longest first as given, labels in the room on the left."""
    top = max((amount for _, amount in values), default=0) or 1
    room = width - LABEL_ROOM - 80
    return [
        Bar(
            x=LABEL_ROOM,
            y=index * (BAR_HEIGHT + BAR_GAP),
            width=round(max(1.0, room * amount / top), 1),
            height=BAR_HEIGHT,
            part_y=0,
            part_height=0,
            label=label,
            title=f"{label}: {amount:,}",
        )
        for index, (label, amount) in enumerate(values)
    ]


def rows_height(count: int) -> int:
    """The height of a chart of `count` lying bars."""
    return max(1, count) * (BAR_HEIGHT + BAR_GAP)
