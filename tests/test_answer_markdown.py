"""Answers are markdown from an untrusted model: rendered richly, sanitised strictly."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest

from app.rendering import highlight
from app.rendering.markdown import MAX_MARKDOWN_CHARS, MAX_NESTING, markdown_to_html

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


def fence(language: str, code: str) -> str:
    return f"```{language}\n{code}\n```"


def coloured(html: str) -> bool:
    return '<span class="' in html


def test_scala_with_a_run_of_backslashes_comes_back_as_escaped_labelled_code_never_lexed():
    # Pygments' Scala lexer took 6 s on this, and 2.5 times longer for each two more backslashes.
    answer = fence("scala", '"' + "\\" * 60 + "<b>")
    html = markdown_to_html(answer)
    assert highlight.lexer_for("scala") is None
    assert '<pre class="code" data-language="scala">' in html
    assert '"' + "\\" * 60 + "&lt;b&gt;" in html and not coloured(html)


@pytest.mark.parametrize("language", ["brainfuck", "cobol", "objective-c", "made-up-language"])
def test_a_language_off_the_allow_list_is_shown_escaped_with_its_label(language):
    html = markdown_to_html(fence(language, "<script>alert(1)</script> +++"))
    assert f'<pre class="code" data-language="{language}">' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; +++" in html and not coloured(html)


@pytest.mark.parametrize(
    "language",
    [
        "py",
        "Python",
        "js",
        "ts",
        "sh",
        "zsh",
        "shell",
        "console",
        "yml",
        "c++",
        "cs",
        "golang",
        "rs",
        "rb",
        "dockerfile",
        "makefile",
        "kt",
        "ps1",
        "jsx",
        "tsx",
        "postgresql",
        "c",
        "ini",
        "toml",
    ],
)
def test_common_names_of_allowed_languages_are_coloured(language):
    html = markdown_to_html(fence(language, "$ x = [1, 'a'] # note\n"))
    assert coloured(html), language
    assert f'data-language="{language.lower()}"' in html


def test_a_code_block_past_the_size_cap_is_plain():
    line = "value = compute(1, 'two')\n"
    code = line * (highlight.MAX_BLOCK_CHARS // len(line) + 1)
    assert not coloured(markdown_to_html(fence("python", code)))
    assert coloured(markdown_to_html(fence("python", code[: highlight.MAX_BLOCK_CHARS - 100])))


def work_of(code: str, language: str) -> int:
    """The work colouring this code takes, with no limit."""
    body, work = highlight.colour(code, highlight.lexer_for(language), allowance=10**12)
    assert body is not None
    return work


def test_an_answer_stops_colouring_once_its_highlighting_budget_is_spent():
    code = ("total = total + 1\n" * 1000)[: highlight.MAX_BLOCK_CHARS - 1000]
    html = markdown_to_html("\n\n".join([fence("python", code)] * 8))
    blocks = html.split('<pre class="code"')[1:]
    spendable = highlight.ANSWER_WORK // work_of(code, "python")
    assert 0 < spendable < 8
    assert [coloured(block) for block in blocks] == [True] * spendable + [False] * (8 - spendable)


def test_many_tiny_blocks_each_cost_a_minimum_share_of_the_budget():
    html = markdown_to_html("\n\n".join([fence("python", "x")] * 600))
    assert html.count('<span class="n">x</span>') == highlight.ANSWER_WORK // highlight.MIN_BLOCK_WORK


def test_a_block_whose_steps_add_up_quadratically_runs_out_of_work_and_is_shown_plain():
    # An unterminated string is lexed again from each quote: 2 s at 12,000 characters with no window.
    code = '"' + '\\"' * 6_000
    allowance = highlight.WORK_PER_CHAR * len(code)
    body, work = highlight.colour(code, highlight.lexer_for("javascript"), allowance)
    assert body is None and work > allowance
    html = markdown_to_html(fence("javascript", code))
    assert '<pre class="code" data-language="javascript">' in html and not coloured(html)
    assert coloured(markdown_to_html(fence("javascript", code[:101] + '"')))


def test_ordinary_code_takes_work_in_proportion_to_its_length():
    line = 'def f(rows):\n    return [row["n"] * 2 for row in rows if row]  # doubled\n'
    small, big = work_of(line * 20, "python"), work_of(line * 200, "python")
    assert 9 * small <= big <= 11 * small
    assert big <= highlight.WORK_PER_CHAR * len(line * 200) / 2


def test_a_markdown_fence_inside_a_markdown_block_does_not_reach_other_lexers(monkeypatch):
    def no_other_lexer(*_args, **_kwargs):
        raise AssertionError("the markdown lexer looked up another lexer")

    for name in ("get_lexer_by_name", "find_lexer_class_by_name", "guess_lexer"):
        monkeypatch.setattr(f"pygments.lexers.{name}", no_other_lexer)
    nested = fence("markdown", '# Title\n\n~~~scala\n"' + "\\" * 60 + "\n~~~")
    assert coloured(markdown_to_html(nested))


def test_an_answer_past_the_markdown_cap_is_escaped_preformatted_text():
    answer = "**bold** <b>x</b>\n" * (MAX_MARKDOWN_CHARS // 18 + 1)
    html = markdown_to_html(answer)
    assert html.startswith('<pre class="plain">**bold** &lt;b&gt;x&lt;/b&gt;\n')
    assert "<strong>" not in html
    assert "<strong>bold</strong>" in markdown_to_html(answer[:MAX_MARKDOWN_CHARS])


def test_nesting_within_the_limit_keeps_its_text():
    assert "deep" in markdown_to_html("> " * (MAX_NESTING - 1) + "deep")
    assert "[[[" in markdown_to_html("[" * 200 + "deep") and "deep" in markdown_to_html("*" * 200 + "deep")


ORDINARY_ANSWER = "\n\n".join(
    [
        "Here is the script, then its config and a query:",
        fence(
            "python",
            'def total(rows):\n    """Sum the rows."""\n    return sum(row["n"] for row in rows)\n' * 9,
        ),
        fence(
            "javascript", "const rows = items.map((item) => ({ n: item.count, name: `${item.name}` }));\n" * 9
        ),
        fence("sql", "SELECT id, question FROM exchanges WHERE status = 'done' ORDER BY id LIMIT 20;\n" * 9),
        fence("yaml", "services:\n  app:\n    image: answers\n    ports: ['8000:8000']\n" * 40),
    ]
)


def test_the_same_answer_renders_the_same_however_slow_the_clock(monkeypatch):
    expected = markdown_to_html(ORDINARY_ANSWER)
    assert expected.count('<pre class="code"') == 4 and expected.count('<span class="') > 400
    readings = iter(range(1, 10**9))

    def jumping() -> float:
        """A clock on a machine so busy that a second passes between any two readings."""
        return float(next(readings))

    for name in ("thread_time", "process_time", "perf_counter", "monotonic", "time"):
        monkeypatch.setattr(time, name, jumping)
    assert markdown_to_html(ORDINARY_ANSWER) == expected
