"""Which Pygments lexers stay linear on hostile code: the evidence behind the highlighting allow-list.

    python -m bench.scan_lexers [--sizes 750,3000,12000,20000] [--jobs 2] [--only python,scala]

feeds every lexer Pygments ships (or those named; allowed ones as `app/highlight.py`
uses them) each hostile shape of `tests/hostile.py` at growing sizes, and prints
one line per lexer:

- `linear`  — lexing time grows with the input;
- `bounded` — time grows faster (an unterminated string lexed again from each quote, say),
  but every single step (the wait for one token) grows with the input, so the CPU budget
  of `app.highlight` stops it in time: fit for the allow-list;
- `SLOW`    — some single step grows faster than the input, or ran past a second: no
  budget can cut one regular-expression match short, so the lexer must stay off the list.

Each text is lexed for at most `--seconds`; a step past one second is stopped by an
alarm. Not part of the test run: all lexers take the best part of an hour on two cores.
"""

from __future__ import annotations

import argparse
import signal
from dataclasses import dataclass
from multiprocessing import Pool

from pygments.lexer import Lexer
from pygments.lexers import LEXERS, find_lexer_class

from app.rendering import highlight
from app.rendering.highlight import ALLOWED
from bench.timing import FLOOR_SECONDS, Steps, lex_steps
from tests.hostile import CODE_SHAPES, Shape

STEP_TIMEOUT = 1.0
TRIES = 3


class TimedOut(Exception):
    """One step ran past the timeout."""


@dataclass
class Verdict:
    """What one lexer did with the hostile shapes."""

    name: str
    aliases: str
    allowed: bool
    kind: str = "linear"
    why: str = ""
    longest_ms: float = 0.0


def _alarm(_signum: int, _frame: object) -> None:
    raise TimedOut


def _lexer_class(name: str) -> type[Lexer]:
    """The allow-list's own class for an allowed lexer (some are rewritten), else Pygments'."""
    allowed = {highlight.lexer_class(one).name: highlight.lexer_class(one) for one in ALLOWED}
    return allowed.get(name) or find_lexer_class(name)


def scan(job: tuple[str, list[int], float]) -> Verdict:
    """Lex every shape at each size; stop at the first sign of a step growing faster than its input."""
    name, sizes, seconds = job
    lexer_class = _lexer_class(name)
    lexer = lexer_class()
    verdict = Verdict(name, ",".join(lexer_class.aliases), lexer_class.__name__ in ALLOWED)
    signal.signal(signal.SIGALRM, _alarm)
    for shape in CODE_SHAPES:
        try:
            _judge(verdict, lexer, shape, sizes, seconds)
        except TimedOut:
            verdict.kind, verdict.why = "SLOW", f"{shape.name}: one step past {STEP_TIMEOUT:g} s"
        except Exception as error:  # noqa: BLE001 - a lexer that crashes is reported, not fatal
            verdict.kind, verdict.why = "SLOW", f"{shape.name}: {type(error).__name__}: {error}"[:160]
        if verdict.kind == "SLOW":
            break
    return verdict


def _judge(verdict: Verdict, lexer: Lexer, shape: Shape, sizes: list[int], seconds: float) -> None:
    """Compare each size with the next, keeping the worst finding in the verdict."""
    runs = [_best(lexer, shape.text(size), seconds) for size in sizes]
    verdict.longest_ms = max(verdict.longest_ms, 1000 * runs[-1].longest)
    measured = list(zip(sizes, runs, strict=True))
    for (small, quick), (big, slow) in zip(measured, measured[1:], strict=False):
        limit = 2 * big / small
        if slow.longest > limit * max(quick.longest, FLOOR_SECONDS):
            verdict.kind = "SLOW"
            verdict.why = (
                f"{shape.name}: longest step {1000 * quick.longest:.2f} ms at {small} chars, "
                f"{1000 * slow.longest:.2f} ms at {big}"
            )
            return
        grew = not slow.finished or slow.seconds > limit * max(quick.seconds, FLOOR_SECONDS)
        if grew and verdict.kind == "linear":
            verdict.kind = "bounded"
            verdict.why = f"{shape.name}: lexing time grows faster than {big}/{small}"


def _best(lexer: Lexer, text: str, seconds: float) -> Steps:
    """The best of a few timed lexings: noise only ever adds time."""
    runs = []
    for _ in range(TRIES):
        signal.setitimer(signal.ITIMER_REAL, seconds + STEP_TIMEOUT)
        try:
            runs.append(lex_steps(lexer, text, seconds))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return Steps(
        all(run.finished for run in runs), min(run.seconds for run in runs), min(run.longest for run in runs)
    )


def main() -> None:
    """Scan the lexers asked for and print the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="750,3000,12000,20000")
    parser.add_argument("--seconds", type=float, default=0.1, help="lex each text for at most this long")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="lexer names or aliases, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    wanted = {name.strip().lower() for name in args.only.split(",") if name.strip()}
    names = sorted(
        entry[1]
        for entry in LEXERS.values()
        if not wanted or entry[1].lower() in wanted or wanted & {alias.lower() for alias in entry[2]}
    )
    found: dict[str, list[Verdict]] = {"linear": [], "bounded": [], "SLOW": []}
    with Pool(args.jobs) as pool:
        for verdict in pool.imap_unordered(scan, [(name, sizes, args.seconds) for name in names]):
            found[verdict.kind].append(verdict)
            mark = " [allowed]" if verdict.allowed else ""
            detail = verdict.why or f"longest step {verdict.longest_ms:.2f} ms at {sizes[-1]} chars"
            print(f"{verdict.kind:8} {verdict.name} ({verdict.aliases}){mark}: {detail}", flush=True)
    print(f"\nof {len(names)} lexers, sizes {args.sizes}:")
    for kind, verdicts in found.items():
        print(
            f"{kind} ({len(verdicts)}):",
            ", ".join(sorted(verdict.aliases.split(",")[0] or verdict.name for verdict in verdicts)),
        )
    slow_allowed = [verdict.name for verdict in found["SLOW"] if verdict.allowed]
    print("allowed but SLOW:", ", ".join(slow_allowed) or "none")


if __name__ == "__main__":
    main()
