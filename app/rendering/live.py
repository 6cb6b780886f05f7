"""An answer as it streams: complete blocks rendered once each, the open one as text in its final container.

`Blocks` cuts the markdown into blocks line by line as it arrives (a blank line ends a
paragraph, a closing fence a code block, a new item a list item), so every character
is read a bounded number of times and nothing is rendered twice while the answer
streams, but for a table: it shows as a table from its delimiter row, each row rendered
as it completes, then the whole table once more when it ends. The cuts fall on complete
lines only: the same text cut in other pieces is cut in the same places, so a stream
that reconnects from an offset picks up the state the page shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import highlight
from .answers import markdown_block

FENCE = re.compile(r" *(`{3,}|~{3,})")
HEADING = re.compile(r" {0,3}(#{1,6})(?: |$)")
BULLET = re.compile(r" {0,3}[-*+](?: |$)")
NUMBER = re.compile(r" {0,3}(\d{1,9})[.)](?: |$)")
TABLE_START = re.compile(r" {0,3}\|")
DELIMITER_ROW = re.compile(r" {0,3}\|?(?: *:?-+:? *\|)*(?: *:?-+:? *)?\|? *\n?$")
CELL_EDGE = re.compile(r"(?<!\\)\|")
# Enough of a block's first line to tell its kind.
HEAD_CHARS = 80


@dataclass(slots=True)
class Step:
    """What one piece of text changed: blocks it completed, and the open block's new text."""

    done: str = ""
    reset: bool = False
    shown: str = ""
    rows: str = ""  # a table's rows that completed (its container stays)


class Blocks:
    """An answer's markdown cut into complete blocks and the block still being written."""

    def __init__(self) -> None:
        self.lines: list[str] = []  # the open block's complete lines
        self.partial: list[str] = []  # its last line so far
        self.size = 0  # characters in the open block
        self.fence: tuple[str, int] | None = None  # an open fence: its character and length
        self.is_list = False
        self.shown_as: tuple[str, str, int | None] = ("p", "", 0)  # kind, its detail, where its text starts

    def feed(self, piece: str) -> Step:
        """Take the next piece of the answer; say what completed and what the open block shows now."""
        done: list[str] = []
        size_before, shown_before, lines_before = self.size, self.shown_as, len(self.lines)
        rest = piece
        while (newline := rest.find("\n")) != -1:
            line = "".join(self.partial) + rest[: newline + 1]
            self.partial.clear()
            rest = rest[newline + 1 :]
            self._take(line, done)
        if rest:
            self.partial.append(rest)
        self.size = (
            sum(map(len, self.lines)) + sum(map(len, self.partial)) if done else size_before + len(piece)
        )
        self.shown_as = self._kind()
        start = self.shown_as[2]
        if done or self.shown_as != shown_before:
            shown = "" if start is None else self.text()[start:]
            return Step("".join(done), True, shown)
        if self.shown_as == ("table", "", None):
            return Step(rows="".join(self.lines[lines_before:]))
        if start is None:
            return Step()
        return Step("", False, piece[max(0, start - size_before) :])

    def text(self) -> str:
        """The open block's markdown so far."""
        return "".join(self.lines) + "".join(self.partial)

    def _take(self, line: str, done: list[str]) -> None:
        """Read one complete line into the open block, first cutting off what it ends."""
        cut = self._cut_before(line)
        if cut:
            done.append("".join(self.lines))
            self.lines.clear()
            self.fence, self.is_list = None, False
        first = not self.lines
        self.lines.append(line)
        if self.fence is not None:
            if _closes(line, self.fence):
                self.fence = None
                if not self.is_list:
                    self._cut(done)
            return
        if fence := FENCE.match(line):
            self.fence = (fence.group(1)[0], len(fence.group(1)))
        elif not line.strip() and not self.is_list:
            self._cut(done)
        elif first and HEADING.match(line):
            self._cut(done)
        elif first and (BULLET.match(line) or NUMBER.match(line)):
            self.is_list = True

    def _cut_before(self, line: str) -> bool:
        """Whether this line starts a new block, ending the open one."""
        if not self.lines or self.fence is not None or not line.strip() or line[0] in " \t":
            return False
        if self.is_list:
            return True
        # A list interrupts a paragraph only with a bullet or at 1, as in CommonMark.
        number = NUMBER.match(line)
        return bool(
            HEADING.match(line)
            or FENCE.match(line)
            or BULLET.match(line)
            or (number and number.group(1) == "1")
        )

    def _cut(self, done: list[str]) -> None:
        done.append("".join(self.lines))
        self.lines.clear()
        self.is_list = False

    def _head(self) -> str:
        """The start of the open block's first line, joined from as few pieces as tell its kind."""
        head = ""
        for part in self.partial:
            head += part
            if len(head) >= HEAD_CHARS:
                break
        return head

    def _kind(self) -> tuple[str, str, int | None]:
        """How the open block shows: its container, a detail (language, list start), where its text starts.

        A table shows no text: its rows once complete, nothing while its first line may start one.
        """
        head = self.lines[0] if self.lines else self._head()
        if len(self.lines) >= 2 and _columns(self.lines[1]) and _columns(self.lines[1]) == _columns(head):
            if DELIMITER_ROW.match(self.lines[1]) and "|" in self.lines[1]:
                return ("table", "", None)
        if len(self.lines) <= 1 and TABLE_START.match(head):
            return ("table", "pending", None)
        if fence := FENCE.match(head):
            language = head[fence.end() :].strip().split(" ")[0] if self.lines else ""
            return ("code", language, len(self.lines[0]) if self.lines else None)
        if heading := HEADING.match(head):
            return (f"h{len(heading.group(1))}", "", heading.end())
        if bullet := BULLET.match(head):
            return ("ul", "", bullet.end())
        if number := NUMBER.match(head):
            return ("ol", number.group(1), number.end())
        return ("p", "", 0)


def _columns(line: str) -> int:
    """How many cells a table row has (pipes escaped with a backslash are text)."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return len(CELL_EDGE.split(inner)) if inner else 0


def _closes(line: str, fence: tuple[str, int]) -> bool:
    stripped = line.strip()
    return len(stripped) >= fence[1] and stripped == fence[0] * len(stripped)


class LiveAnswer:
    """One stream's view of an answer: its events, and the same HTML for a page loaded mid-answer."""

    def __init__(self, exchange_id: int) -> None:
        self.exchange_id = exchange_id
        self.blocks = Blocks()
        # One highlighting budget for the whole answer, as when it is rendered at its end.
        self.budget = highlight.Budget()

    def skip(self, text: str) -> None:
        """Take text the page already shows."""
        self.blocks.feed(text)

    async def event(self, text: str) -> tuple[str, str] | None:
        """The event that shows this new text: `blocks` (rendered blocks, the open one anew) or `delta`."""
        step = self.blocks.feed(text)
        if step.reset:
            rendered = await markdown_block(step.done, self.budget) if step.done.strip() else Markup()
            swap = Markup('<div id="open-{}" hx-swap-oob="innerHTML">{}</div>').format(
                self.exchange_id, await self.open_block(step.shown)
            )
            return "blocks", rendered + swap
        if step.rows:
            rows = Markup('<tbody hx-swap-oob="beforeend:#rows-{}">{}</tbody>').format(
                self.exchange_id, await self._rows(step.rows)
            )
            return "blocks", rows
        if step.shown:
            return "delta", str(escape(step.shown))
        return None

    async def parts(self, text: str) -> tuple[Markup, Markup]:
        """A page loaded mid-answer: the complete blocks rendered, and the open block in its container."""
        step = self.blocks.feed(text)
        rendered = await markdown_block(step.done, self.budget) if step.done.strip() else Markup()
        # Fed from the start, the step's open text is all of it.
        return rendered, await self.open_block(step.shown)

    async def open_block(self, shown: str) -> Markup:
        """The open block's container: a table so far (its complete rows), else as `open_html`."""
        kind, detail, _ = self.blocks.shown_as
        if kind != "table":
            return self.open_html(shown)
        if detail == "pending":
            return Markup()
        html = await markdown_block("".join(self.blocks.lines), self.budget)
        # Rows that complete later are appended to this body.
        body = Markup('<tbody id="rows-{}">').format(self.exchange_id)
        if "<tbody>" in html:
            return Markup(html.replace("<tbody>", body, 1))
        return Markup(html.replace("</table>", body + Markup("</tbody></table>"), 1))

    async def _rows(self, rows: str) -> Markup:
        """Complete rows of the open table, rendered with its alignment (under a blank header, not shown)."""
        delimiter = self.blocks.lines[1]
        blank = "|" + " |" * _columns(delimiter) + "\n"
        html = await markdown_block(blank + delimiter + rows, self.budget)
        start, end = html.find("<tbody>"), html.rfind("</tbody>")
        return Markup(html[start + len("<tbody>") : end]) if start != -1 else Markup()

    def open_html(self, shown: str) -> Markup:
        """The open block's container holding its text so far."""
        kind, detail, _ = self.blocks.shown_as
        text = escape(shown)
        if kind == "code":
            label = Markup(' data-language="{}"').format(detail.lower()) if detail else ""
            return Markup('<pre class="code"{}><code class="highlight open-text">{}</code></pre>').format(
                label, text
            )
        if kind == "ul":
            return Markup('<ul><li class="open-text">{}</li></ul>').format(text)
        if kind == "ol":
            start = Markup(' start="{}"').format(int(detail)) if detail != "1" else ""
            return Markup('<ol{}><li class="open-text">{}</li></ol>').format(start, text)
        return Markup('<{0} class="open-text">{1}</{0}>').format(kind, text)


async def live_answer(text: str | None, exchange_id: int) -> tuple[Markup, Markup]:
    """The parts of an answer shown mid-answer (a template filter)."""
    return await LiveAnswer(exchange_id).parts(text or "")
