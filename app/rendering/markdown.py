"""Markdown from the model, turned into HTML that is safe to put in the page, in time bounded by its size."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from . import highlight

# Longer answers are shown as escaped preformatted text: past this, even linear parsing
# takes seconds (hostile markdown costs up to ~8 µs a character).
MAX_MARKDOWN_CHARS = 200_000
# As in markdown-it's CommonMark preset (its default allows 100): the work a run of `[`
# costs grows with this limit, a fifth of it here. Blocks nested deeper are not rendered.
MAX_NESTING = 20


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType) -> str:
    """A fenced code block, coloured within the answer's highlighting budget."""
    token = tokens[idx]
    info = unescapeAll(token.info).strip()
    language = info.split(maxsplit=1)[0] if info else ""
    return highlight.code_block(token.content, language, env["highlighting"])


def _alignment_classes(state: StateCore) -> None:
    """Turn table alignment into classes, since the CSP forbids inline styles."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (style := token.attrGet("style")):
            token.attrs.pop("style")
            token.attrSet("class", "align-" + str(style).rpartition(":")[2])


_MARKDOWN = (
    MarkdownIt("js-default", {"maxNesting": MAX_NESTING}).disable("image").enable(["table", "strikethrough"])
)
_MARKDOWN.core.ruler.push("alignment_classes", _alignment_classes)
_MARKDOWN.add_render_rule("fence", _fence)

# Everything else (raw HTML, images, styles, scripts, hx-* and on* attributes) is dropped.
_CLEANER = nh3.Cleaner(
    tags={
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    },
    attributes={
        "a": {"href", "title"},
        "code": {"class"},
        "ol": {"start"},
        "pre": {"class", "data-language"},
        "span": {"class"},
        "td": {"class"},
        "th": {"class"},
    },
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def markdown_to_html(text: str, budget: highlight.Budget | None = None) -> str:
    """Render an answer's markdown once, then sanitise it against an allow-list (too long: as plain text).

    The answer's blocks rendered one by one as it streams share one highlighting `budget`.
    """
    if len(text) > MAX_MARKDOWN_CHARS:
        html = f'<pre class="plain">{escape(text, quote=False)}</pre>\n'
    else:
        html = _MARKDOWN.render(text, {"highlighting": budget or highlight.Budget()})
    return _CLEANER.clean(html)
