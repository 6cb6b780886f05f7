"""Markdown from the model, turned into HTML that is safe to put in the page."""

from __future__ import annotations

from html import escape

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)


def _highlight(code: str, language: str, _attrs: str) -> str:
    """Colour a fenced code block with Pygments CSS classes (no inline styles)."""
    name = language.strip().split(maxsplit=1)[0].lower() if language.strip() else ""
    try:
        lexer = get_lexer_by_name(name) if name else None
    except ClassNotFound:
        lexer = None
    label = escape(name, quote=True)
    body = highlight(code, lexer, _FORMATTER) if lexer else escape(code)
    data = f' data-language="{label}"' if label else ""
    return f'<pre class="code"{data}><code class="highlight">{body}</code></pre>\n'


def _alignment_classes(state: StateCore) -> None:
    """Turn table alignment into classes, since the CSP forbids inline styles."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (style := token.attrGet("style")):
            token.attrs.pop("style")
            token.attrSet("class", "align-" + str(style).rpartition(":")[2])


_MARKDOWN = (
    MarkdownIt("js-default", {"highlight": _highlight})
    .disable("image")
    .enable(["table", "strikethrough"])
)
_MARKDOWN.core.ruler.push("alignment_classes", _alignment_classes)

# Everything else (raw HTML, images, styles, scripts, hx-* and on* attributes) is dropped.
_CLEANER = nh3.Cleaner(
    tags={
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
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


def markdown_to_html(text: str) -> str:
    """Render an answer's markdown once, then sanitise it against an allow-list."""
    return _CLEANER.clean(_MARKDOWN.render(text))
