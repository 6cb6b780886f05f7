"""The usage page: a person's own figures, everyone's for an admin, charts drawn on the server, CSV."""

from __future__ import annotations

import pytest

from tests.test_quotas import asked, people, signed_in


@pytest.mark.settings(**people, prices=(("fake-model", 2.0),))
async def test_people_see_their_own_usage_and_an_admin_sees_everyone(app, model):
    ada = await signed_in(app, "ada")  # the first account: the admin
    bob = await signed_in(app, "bob")
    for visitor, count in ((ada, 1), (bob, 2)):
        for number in range(count):
            await visitor.stream(await asked(visitor, f"question {number}"))
    model.configure(status=500)
    await bob.stream(await asked(bob, "this one fails"))
    db = app.extensions["db"]
    bob_owner = (await db.fetch_one("SELECT owner FROM users WHERE username = 'bob'"))["owner"]
    spent = await db.fetch_one(
        "SELECT SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c FROM exchanges WHERE owner = :o",
        {"o": bob_owner},
    )
    tokens = int(spent["p"]) + int(spent["c"])

    mine = await (await bob.client.get("/usage")).get_data(as_text=True)
    assert "Your usage" in mine and "Tokens by person" not in mine
    assert "<dt>Questions</dt><dd>3</dd>" in mine and "<dt>Errors</dt><dd>1</dd>" in mine
    assert f"<dt>Tokens</dt><dd>{tokens:,}</dd>" in mine
    assert f"<dt>Cost</dt><dd>{tokens / 1000 * 2:,.2f}</dd>" in mine
    main = mine.split('<main id="main">', 1)[1]
    assert 'class="chart-bar chart-error"' in main and " style=" not in main and "<script" not in main
    assert (await bob.client.get("/usage?user=ada")).status_code == 404
    assert (await bob.client.get("/usage.csv?user=ada")).status_code == 404

    everyone = await (await ada.client.get("/usage")).get_data(as_text=True)
    assert "Everyone&#39;s usage" in everyone or "Everyone's usage" in everyone
    assert "<dt>Questions</dt><dd>4</dd>" in everyone and "Tokens by person" in everyone
    assert ">bob</text>" in everyone and ">ada</text>" in everyone
    only_ada = await (await ada.client.get("/usage?name=ada")).get_data(as_text=True)
    assert "<dt>Questions</dt><dd>1</dd>" in only_ada

    download = await bob.client.get("/usage.csv?days=7")
    assert download.headers["Content-Disposition"] == 'attachment; filename="answers-usage-7d.csv"'
    text = await download.get_data(as_text=True)
    assert text.count("\n") >= 7 + 4
    assert f"fake-model,3,{spent['p']},{spent['c']},{tokens / 1000 * 2:.4f}" in text.replace("\r", "")


async def test_the_usage_page_reads_without_signing_in_when_nobody_signs_in(visitor):
    page = await visitor.open("/usage")
    assert "Your usage" in page and "<dt>Questions</dt><dd>0</dd>" in page
