"""How long rendering takes on hostile input: the figures the tests count as work, printed as CPU time.

    python -m bench.rendering [--size 5000] [--only python,javascript] [--tries 2]

prints, for each allowed lexer, its slowest hostile shape at `--size` characters (time,
work, and whether it ran out of work and was shown plain); then each hostile markdown shape
at 50,000 characters and at the length that still renders on the event loop; then the
history previews of hostile answers. CPU time of this thread, the best of `--tries`.
Nothing here is asserted: the tests hold the work, which is the same on every machine.
"""

from __future__ import annotations

import argparse

from app.rendering import highlight
from app.rendering.answers import INLINE_CHARS
from app.rendering.markdown import markdown_to_html
from app.rendering.preview import PREVIEW_SCAN_CHARS, preview
from bench.timing import best_seconds
from tests.hostile import CODE_SHAPES, MARKDOWN_SHAPES, PREVIEW_SHAPES


def highlighting(size: int, only: list[str], tries: int) -> None:
    """Each allowed lexer's slowest hostile shape."""
    print(f"== highlighting: the slowest hostile shape of each lexer at {size:,} characters")
    worst = 0.0
    for name in highlight.ALLOWED:
        lexer = highlight.lexer_class(name)
        if only and not set(only) & set(lexer.aliases):
            continue
        allowed = highlight.lexer_for(lexer.aliases[0])
        slowest = (0.0, "", 0, False)
        for shape in CODE_SHAPES:
            code = shape.text(size)
            allowance = highlight.WORK_PER_CHAR * len(code)
            seconds = best_seconds(
                lambda text, lexer=allowed, most=allowance: highlight.colour(text, lexer, most), code, tries
            )
            if seconds > slowest[0]:
                body, work = highlight.colour(code, allowed, allowance)
                slowest = (seconds, shape.name, work, body is None)
        seconds, shape_name, work, plain = slowest
        worst = max(worst, seconds)
        print(
            f"{name:22} {seconds * 1000:8.1f} ms  {seconds * 1e6 / size:6.1f} µs a character  "
            f"work {work:>9,}{'  (plain)' if plain else ''}  {shape_name}",
            flush=True,
        )
    print(f"slowest block: {worst * 1000:.0f} ms")


def markdown(tries: int) -> None:
    """Each hostile markdown shape, long and inline-short."""
    print(f"== markdown: hostile shapes at 50,000 characters and at {INLINE_CHARS:,} (rendered on the loop)")
    for shape in MARKDOWN_SHAPES:
        long = best_seconds(markdown_to_html, shape.text(50_000), tries)
        short = best_seconds(markdown_to_html, shape.text(INLINE_CHARS), tries)
        print(f"{shape.name:40} {long * 1000:8.1f} ms  {short * 1000:6.2f} ms inline", flush=True)


def previews(tries: int) -> None:
    """The history previews of hostile answers, at the scan limit and past it."""
    print(f"== previews: hostile answers at {PREVIEW_SCAN_CHARS:,} characters (the most a preview reads)")
    for name, make in PREVIEW_SHAPES.items():
        seconds = best_seconds(preview, make(PREVIEW_SCAN_CHARS), tries)
        print(f"{name:40} {seconds * 1000:8.2f} ms", flush=True)


def main() -> None:
    """Print every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5_000)
    parser.add_argument("--only", default="")
    parser.add_argument("--tries", type=int, default=2)
    args = parser.parse_args()
    highlighting(args.size, [name for name in args.only.split(",") if name], args.tries)
    markdown(args.tries)
    previews(args.tries)


if __name__ == "__main__":
    main()
