"""Answers are markdown from an untrusted model: rendered richly, sanitised strictly."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.render import markdown_to_html


SAFE_TAGS = {"a", "p", "em", "strong", "code", "pre", "span", "ul", "ol", "li", "br"}


class Elements(HTMLParser):
    """Collect every element and its attributes from an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, [(name, value or "") for name, value in attrs]))


def test_markdown_becomes_html():
    html = markdown_to_html("**bold** and *it*\n\n- one\n- two\n\n`code`")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<li>one</li>" in html and "<code>code</code>" in html


def test_code_blocks_are_highlighted_with_classes_not_inline_styles():
    html = markdown_to_html('```python\nprint("<hi>")\n```')
    assert '<pre class="code" data-language="python">' in html
    assert '<span class="nb">print</span>' in html
    assert "&lt;hi&gt;" in html and "style=" not in html


def test_table_alignment_uses_classes_because_the_csp_forbids_inline_styles():
    html = markdown_to_html("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html
    assert "style" not in html


def test_links_get_safe_rel():
    html = markdown_to_html("[docs](https://example.com)")
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html,<script>alert(1)</script>)",
        "![img](https://example.com/x.png)",
        '<a href="/x" hx-get="/evil" hx-trigger="load">x</a>',
        "<svg onload=alert(1)>",
        '<div onclick="alert(1)">x</div>',
        "<iframe src=https://example.com></iframe>",
        "<style>body{display:none}</style>",
    ],
)
def test_nothing_active_survives(payload):
    elements = Elements()
    elements.feed(markdown_to_html(payload))
    for tag, attrs in elements.found:
        assert tag in SAFE_TAGS, (payload, tag)
        for name, value in attrs:
            assert name in ("href", "title", "rel", "class", "data-language"), (payload, name)
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:")), (payload, value)


def test_raw_html_is_shown_as_text():
    assert "&lt;b&gt;bold&lt;/b&gt;" in markdown_to_html("<b>bold</b>")
