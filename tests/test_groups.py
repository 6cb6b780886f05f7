"""Groups: models kept for groups (the union of a person's groups), per-group quotas, the admin pages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from app import messages
from app.config import Rate
from app.people import api_keys
from app.people.quotas import Limits, most_generous
from tests.conftest import CSRF, Visitor
from tests.test_accounts import csrf_of, invite, person, sign_up

accounts = pytest.mark.settings(
    sign_in="accounts",
    sign_up="invite",
    login_rate=Rate(1000, 60),
    llm_models=("fake-model", "big-model", "secret-model"),
)
EXCHANGE = re.compile(r"/answers/(\d+)/stream")
GROUP_LINK = re.compile(r'href="/admin/groups/(\d+)"')


@pytest.fixture
async def admin(app):
    client = app.test_client()
    assert (await sign_up(client, "Ada")).status_code == 303
    return client


def key_of(model, name: str) -> str:
    return f"{name}@{urlsplit(model.url).netloc}"


async def make_group(admin, name: str) -> int:
    token = await csrf_of(admin, "/admin/groups")
    response = await admin.post("/admin/groups", form={"name": name, "csrf_token": token})
    assert response.status_code == 303, await response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def post(admin, path: str, form: dict | None = None, htmx: bool = False):
    token = await csrf_of(admin, "/admin/groups")
    headers = {"HX-Request": "true"} if htmx else {}
    sent = MultiDict([("csrf_token", token)])
    for name, value in (form or {}).items():
        for one in value if isinstance(value, list) else [value]:
            sent.add(name, one)
    return await admin.post(path, form=sent, headers=headers)


async def user_id(db, name: str) -> int:
    return (await db.fetch_one("SELECT id FROM users WHERE username = :name", {"name": name}))["id"]


async def join(admin, db, group_id: int, name: str) -> None:
    response = await post(
        admin, f"/admin/groups/{group_id}/members", {"user_id": str(await user_id(db, name))}
    )
    assert response.status_code == 303


async def keep(admin, model_key: str, *group_ids: int) -> None:
    response = await post(
        admin, f"/admin/models/{model_key}/groups", {"group": [str(group) for group in group_ids]}
    )
    assert response.status_code == 303, await response.get_data(as_text=True)


async def picker(client) -> set[str]:
    page = await (await client.get("/")).get_data(as_text=True)
    return set(re.findall(r'<option value="([^"]+@[^"]+)"', page))


async def ask(client, model_key: str, question: str = "Which model?"):
    visitor = Visitor(client)
    await visitor.open("/")
    return await client.post(
        "/ask",
        form={"question": question, "conversation_id": "", "csrf_token": visitor.csrf, "model": model_key},
        headers={"HX-Request": "true"},
    )


async def count(db, table: str) -> int:
    return (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]


@accounts
async def test_a_persons_models_are_the_open_ones_and_those_of_every_group_they_are_in(app, admin, db, model):
    bea, cy, dee = [await person(app, admin, name) for name in ("bea", "cyd", "dee")]
    engineering, sales = await make_group(admin, "Engineering"), await make_group(admin, "Sales")
    await join(admin, db, engineering, "bea")
    await join(admin, db, sales, "cyd")
    await join(admin, db, engineering, "cyd")
    big, secret, open_ = (key_of(model, name) for name in ("big-model", "secret-model", "fake-model"))
    await keep(admin, big, engineering)
    await keep(admin, secret, sales)
    assert await picker(bea) == {open_, big}
    assert await picker(cy) == {open_, big, secret}
    # One model left: the composer names no other.
    page = await (await dee.get("/")).get_data(as_text=True)
    assert await picker(dee) <= {open_} and "big-model" not in page and "secret-model" not in page
    # A forged form naming a model kept for another group is refused, and nothing is stored.
    stored = await count(db, "exchanges")
    refused = await ask(bea, secret)
    assert refused.status_code == 422
    assert messages.MODEL_UNAVAILABLE in await refused.get_data(as_text=True)
    assert await count(db, "exchanges") == stored
    assert (await ask(cy, secret)).status_code == 200
    assert await count(db, "exchanges") == stored + 1
    # Ticking no group opens the model to everyone again.
    await keep(admin, secret)
    assert await picker(dee) == {open_, secret}


@accounts
async def test_removal_from_a_group_takes_effect_on_the_next_request(app, admin, db, model):
    bea = await person(app, admin, "bea")
    team = await make_group(admin, "Team")
    await join(admin, db, team, "bea")
    big = key_of(model, "big-model")
    await keep(admin, big, team)
    answered = await ask(bea, big, "First question")
    assert answered.status_code == 200
    exchange = int(EXCHANGE.search(await answered.get_data(as_text=True)).group(1))
    await Visitor(bea).stream(exchange)
    removed = await post(admin, f"/admin/groups/{team}/members/{await user_id(db, 'bea')}/remove")
    assert removed.status_code == 303
    assert big not in await picker(bea)
    stored = await count(db, "exchanges")
    assert (await ask(bea, big)).status_code == 422
    # Regenerate and Edit without a model would ask the model that answered: refused, under the composer.
    token = await csrf_of(bea, "/")
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}
    for path, form in (
        (f"/answers/{exchange}/regenerate", {"model": ""}),
        (f"/answers/{exchange}/edit", {"model": "", "question": "Edited"}),
        (f"/answers/{exchange}/regenerate", {"model": big}),
    ):
        response = await bea.post(path, form=form, headers=htmx)
        assert response.status_code == 422, path
        assert response.headers["HX-Retarget"] == "#composer-error"
    plain = await bea.post(f"/answers/{exchange}/regenerate", form={"csrf_token": token})
    assert plain.status_code == 422
    assert "kept for groups you are not in" in await plain.get_data(as_text=True)
    assert await count(db, "exchanges") == stored


@accounts
async def test_the_api_lists_only_a_persons_models_and_refuses_others_with_403(app, admin, db, model):
    await person(app, admin, "bea")
    team = await make_group(admin, "Team")
    await keep(admin, key_of(model, "big-model"), team)
    bea = await db.fetch_one("SELECT * FROM users WHERE username = 'bea'")
    key = await api_keys.make(db, bea, "laptop", None)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    listed = await (await api.get("/v1/models", headers=bearer)).get_json()
    assert {entry["id"] for entry in listed["data"]} == {"fake-model", "secret-model"}
    body = {"model": "big-model", "messages": [{"role": "user", "content": "Hi"}]}
    refused = await api.post("/v1/chat/completions", json=body, headers=bearer)
    assert refused.status_code == 403
    error = (await refused.get_json())["error"]
    assert error["type"] == "permission_error" and error["param"] == "model"
    assert await count(db, "exchanges") == 0
    await join(admin, db, team, "bea")
    listed = await (await api.get("/v1/models", headers=bearer)).get_json()
    assert "big-model" in {entry["id"] for entry in listed["data"]}
    assert (await api.post("/v1/chat/completions", json=body, headers=bearer)).status_code == 200


def test_a_person_in_several_groups_gets_the_most_generous_quotas():
    base = Limits(Rate(20, 60), 4, 1000)

    def found(groups_in: int, **columns: tuple[int, int | None]) -> dict:
        row = {"groups_in": groups_in}
        for column in ("questions_per_minute", "answers_at_once", "tokens_per_day"):
            given, highest = columns.get(column, (0, None))
            row |= {f"{column}_set": given, column: highest}
        return row

    assert most_generous(base, None) == base
    assert most_generous(base, found(0)) == base
    # Every group sets each: the best of them, even below the default.
    assert most_generous(
        base, found(2, questions_per_minute=(2, 5), answers_at_once=(2, 2), tokens_per_day=(2, 50))
    ) == Limits(Rate(5, 60), 2, 50)
    # One group leaves them blank: the default counts among them.
    assert most_generous(
        base, found(2, questions_per_minute=(1, 5), answers_at_once=(1, 9), tokens_per_day=(1, 50))
    ) == Limits(Rate(20, 60), 9, 1000)
    # No limit on tokens is the most generous of all.
    assert most_generous(Limits(Rate(20, 60), 4, 0), found(2, tokens_per_day=(1, 50))).tokens_per_day == 0


@pytest.mark.settings(
    sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60), tokens_per_day=1, ask_rate=Rate(1, 60)
)
async def test_a_groups_quotas_apply_to_its_members_only(app, admin, db, model):
    bea, cy = await person(app, admin, "bea"), await person(app, admin, "cyd")
    team = await make_group(admin, "Generous")
    await join(admin, db, team, "bea")
    saved = await post(
        admin,
        f"/admin/groups/{team}/quotas",
        {"questions_per_minute": "50", "answers_at_once": "", "tokens_per_day": "1,000,000"},
    )
    assert saved.status_code == 303
    for client in (bea, cy):
        response = await ask(client, "", "The first question of the day")
        assert response.status_code == 200
        await Visitor(client).stream(int(EXCHANGE.search(await response.get_data(as_text=True)).group(1)))
    # Cy has the defaults: one question a minute and one token a day, both spent.
    refused = await ask(cy, "", "Again")
    assert refused.status_code == 429
    # Bea's group gives her fifty questions a minute and a million tokens a day.
    assert (await ask(bea, "", "Again")).status_code == 200
    # Out of the group, the defaults are hers again on her next question.
    await post(admin, f"/admin/groups/{team}/members/{await user_id(db, 'bea')}/remove")
    assert (await ask(bea, "", "Once more")).status_code == 429


@accounts
async def test_group_names_are_checked_and_said_beside_the_field(app, admin, db):
    await make_group(admin, "Engineering")
    for name, said in (
        ("", messages.GROUP_NAME_MISSING),
        ("x" * 65, messages.group_name_too_long(64)),
        ("  engineering ", messages.group_name_taken("engineering")),
    ):
        for htmx in (False, True):
            response = await post(admin, "/admin/groups", {"name": name}, htmx=htmx)
            text = await response.get_data(as_text=True)
            assert response.status_code == 422 and str(escape(said)) in text, (name, htmx)
            assert 'id="group-name-error"' in text and 'aria-invalid="true"' in text
            assert ("<html" in text) is not htmx
    assert await count(db, "user_groups") == 1
    sales = await make_group(admin, "Sales")
    renamed = await post(admin, f"/admin/groups/{sales}/rename", {"name": "ENGINEERING"})
    assert renamed.status_code == 422
    assert (await post(admin, f"/admin/groups/{sales}/rename", {"name": "Sales EMEA"})).status_code == 303
    assert "Sales EMEA" in await (await admin.get("/admin/groups")).get_data(as_text=True)
    bad = await post(admin, f"/admin/groups/{sales}/quotas", {"answers_at_once": "-3"})
    assert bad.status_code == 422 and messages.QUOTA_NOT_A_NUMBER in await bad.get_data(as_text=True)


@accounts
async def test_a_group_that_alone_keeps_a_model_is_not_deleted_and_deleting_asks_first(app, admin, db, model):
    team = await make_group(admin, "Team")
    await keep(admin, key_of(model, "big-model"), team)
    refused = await post(admin, f"/admin/groups/{team}/delete", {"confirmed": "yes"})
    assert refused.status_code == 422 and "open it to everyone" in await refused.get_data(as_text=True)
    await keep(admin, key_of(model, "big-model"))
    asked = await post(admin, f"/admin/groups/{team}/delete")
    assert asked.status_code == 200 and "Delete the group Team?" in await asked.get_data(as_text=True)
    assert await count(db, "user_groups") == 1
    done = await post(admin, f"/admin/groups/{team}/delete", {"confirmed": "yes"})
    assert done.status_code == 303 and await count(db, "user_groups") == 0


@accounts
async def test_only_admins_reach_the_group_pages_and_every_form_needs_its_token(app, admin, db, model):
    bea = await person(app, admin, "bea")
    team = await make_group(admin, "Team")
    routes = [
        ("GET", "/admin/groups"),
        ("POST", "/admin/groups"),
        ("GET", f"/admin/groups/{team}"),
        ("POST", f"/admin/groups/{team}/rename"),
        ("POST", f"/admin/groups/{team}/quotas"),
        ("POST", f"/admin/groups/{team}/members"),
        ("POST", f"/admin/groups/{team}/members/1/remove"),
        ("POST", f"/admin/groups/{team}/models"),
        ("POST", f"/admin/groups/{team}/delete"),
        ("POST", f"/admin/models/{key_of(model, 'big-model')}/groups"),
    ]
    token = await csrf_of(bea, "/")
    for method, path in routes:
        response = await bea.open(path, method=method, form={"csrf_token": token, "name": "Mine"})
        assert response.status_code == 404, path
        if method == "POST":
            forged = await admin.post(path, form={"name": "Forged", "confirmed": "yes"})
            assert forged.status_code in (400, 403), path
    assert [row["name"] for row in await db.fetch_all("SELECT name FROM user_groups")] == ["Team"]


@accounts
async def test_the_group_pages_show_members_models_and_usage(app, admin, db, model):
    bea = await person(app, admin, "bea")
    team = await make_group(admin, "Team")
    await join(admin, db, team, "bea")
    response = await ask(bea, "", "Counted for the team")
    await Visitor(bea).stream(int(EXCHANGE.search(await response.get_data(as_text=True)).group(1)))
    ticked = await post(
        admin, f"/admin/groups/{team}/models", {"model": key_of(model, "big-model")}, htmx=True
    )
    text = await ticked.get_data(as_text=True)
    assert ticked.status_code == 200 and 'id="group-models"' in text and "<html" not in text
    assert "this group alone" in text
    page = await (await admin.get(f"/admin/groups/{team}")).get_data(as_text=True)
    assert "bea" in page and 'class="questions">1<' in page
    listing = await (await admin.get("/admin/groups")).get_data(as_text=True)
    assert GROUP_LINK.search(listing) and '<td class="questions">1</td>' in listing
    assert CSRF.search(listing)


@accounts
async def test_an_invitation_is_listed_to_copy_and_its_new_account_joins_its_group(app, admin, db):
    team = await make_group(admin, "Team")
    token = await csrf_of(admin, "/admin/links")
    made = await admin.post("/admin/users/invite", form={"csrf_token": token, "group": str(team)})
    assert made.status_code == 303
    links = await count(db, "invitations")
    # Reloading the list makes nothing; the invitation stays there to copy, with its group and maker.
    for _ in range(2):
        page = await (await admin.get("/admin/links")).get_data(as_text=True)
    assert await count(db, "invitations") == links == 1
    link = (
        "/link/"
        + page.split('class="admin-link-url" id="link-url-', 1)[1].split("/link/", 1)[1].split("<", 1)[0]
    )
    assert "Invitation to Team" in page and 'data-copy="link-url-' in page and "ada" in page
    newcomer = app.test_client()
    assert (await sign_up(newcomer, "newcomer", path=link)).status_code == 303
    members = await db.fetch_all("SELECT user_id FROM group_members WHERE group_id = :g", {"g": team})
    assert [row["user_id"] for row in members] == [await user_id(db, "newcomer")]
    assert "link-url-" not in await (await admin.get("/admin/links")).get_data(as_text=True)
    # A reset link is never shown again.
    await invite(admin, f"/admin/users/{await user_id(db, 'newcomer')}/reset")
    assert "link-url-" not in await (await admin.get("/admin/links")).get_data(as_text=True)
