"""Exported cells that a spreadsheet would run as formulas are kept as text."""

from __future__ import annotations

import pytest

from app.rendering.export import safe_cell


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "\tplain",
        "\rplain",
        " =1+1",
        '   =HYPERLINK("http://evil")',
        "\n=1",
        "\u00a0=1",
        "\u3000=1",
        "\u2003+1",
        "\u200b=1",
        "\ufeff=1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        " ＝1",
        '\u3000＝HYPERLINK("x")',
        "﹦1",
    ],
)
def test_formula_like_cells_get_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["plain", "  plain", "a=1", "1-2", "", "email@example.com", 3, None, "日本語"]
)
def test_other_cells_stay_as_they_are(value):
    assert safe_cell(value) == value
