"""A long question is never cut: the page sets no silent limit, the server says how far over it is."""

from __future__ import annotations

import re

import pytest

PASTE = ("A pasted log line. " * 600)[:10_006] + "!"


async def test_the_composer_cuts_nothing_and_knows_the_limit(visitor):
    page = await visitor.open()
    composer = re.search(r'<textarea id="question"[^>]*>', page).group(0)
    assert "maxlength" not in composer
    assert 'data-limit="8000"' in composer


async def test_the_edit_box_cuts_nothing_either(visitor, model):
    response = await visitor.ask("a question to edit")
    body = await response.get_data(as_text=True)
    edit = re.search(r'<textarea id="edit-\d+"[^>]*>', body).group(0)
    assert "maxlength" not in edit and 'data-limit="8000"' in edit


async def test_a_paste_past_the_limit_is_refused_whole_with_its_length(visitor, db):
    response = await visitor.ask(PASTE)
    body = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "10,007 characters long; the limit is 8,000" in body
    assert await db.fetch_all("SELECT id FROM exchanges") == []


async def test_without_javascript_the_whole_paste_comes_back(visitor):
    response = await visitor.ask(PASTE, htmx=False)
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert f">{PASTE}</textarea>" in page


@pytest.mark.settings(max_question_chars=20)
async def test_a_line_break_counts_as_one_character_as_in_the_page(visitor, config, db):
    # Browsers send a textarea's line breaks as CRLF; the page counts each as one.
    response = await visitor.ask("one\r\ntwo\r\nthree\r\nfour\r\n5")
    assert response.status_code == 200, await response.get_data(as_text=True)
    [row] = await db.fetch_all("SELECT question FROM exchanges")
    assert row["question"] == "one\ntwo\nthree\nfour\n5"
