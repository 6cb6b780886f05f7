"""Hostile markdown at the largest size the app renders: is any shape super-linear?

    python -m bench.scan_markdown [--sizes 50000,200000]

renders each markdown shape of `tests/hostile.py` through `app.rendering.markdown` at each
size (the last defaults to `MAX_MARKDOWN_CHARS`) and prints the CPU time and its growth;
a shape whose time grows more than twice as fast as its length is marked `SUPER-LINEAR`.
Not part of the test run (about a minute); the test suite counts the same shapes' work at 4,000.
"""

from __future__ import annotations

import argparse

from app.rendering.markdown import MAX_MARKDOWN_CHARS, markdown_to_html
from bench.timing import best_seconds
from tests.hostile import MARKDOWN_SHAPES


def main() -> None:
    """Time every shape at every size and print one line per shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=f"50000,{MAX_MARKDOWN_CHARS}")
    parser.add_argument("--tries", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    worst = 0.0
    for shape in MARKDOWN_SHAPES:
        seconds = [best_seconds(markdown_to_html, shape.text(size), args.tries) for size in sizes]
        ratios = [later / max(earlier, 1e-4) for earlier, later in zip(seconds, seconds[1:], strict=False)]
        limits = [2 * later / earlier for earlier, later in zip(sizes, sizes[1:], strict=False)]
        super_linear = any(ratio > limit for ratio, limit in zip(ratios, limits, strict=True))
        verdict = "SUPER-LINEAR" if super_linear else "linear"
        times = " ".join(f"{1000 * value:8.1f} ms" for value in seconds)
        growth = " ".join(f"×{ratio:.1f}" for ratio in ratios)
        print(f"{verdict:12} {shape.name:40} {times}  {growth}", flush=True)
        worst = max(worst, seconds[-1])
    per_char = 1e6 * worst / sizes[-1]
    print(f"\nslowest: {1000 * worst:.0f} ms at {sizes[-1]} characters ({per_char:.1f} µs a character)")


if __name__ == "__main__":
    main()
