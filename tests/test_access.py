"""Every route declares who may reach it, and each request is held to what its route declares."""

from __future__ import annotations

import re

import pytest
from quart import Quart
from werkzeug.routing import Rule

from app.config import Rate
from app.people.access import Access, access_of, admin_only, asks_model, public, signed_in_only
from tests.conftest import CSRF

PASSWORD = "correct horse battery"
accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60))
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# A value for each placeholder of a route that reaches its view (what the view then finds is its own affair).
VALUES = {"filename": "app.css", "fmt": "csv", "action": "disable"}


def url_of(rule: Rule) -> str:
    def value(match: re.Match[str]) -> str:
        return VALUES.get(match.group(2), "1" if match.group(1) else "x")

    return PLACEHOLDER.sub(value, rule.rule)


def routes(app: Quart, access: Access) -> list[tuple[str, str]]:
    """Each method and address of the routes declaring an access."""
    return [
        (method, url_of(rule))
        for rule in app.url_map.iter_rules()
        if access_of(app.view_functions[rule.endpoint]) is access
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


async def send(client, method: str, path: str, token: str):
    """A request as htmx sends it: an unsafe one carries the CSRF token."""
    return await client.open(path, method=method, headers={"HX-Request": "true", "X-CSRF-Token": token})


def sent_to_sign_in(response) -> bool:
    return response.status_code == 401 and response.headers.get("HX-Redirect") == "/login"


async def token_of(client, path: str = "/login") -> str:
    return CSRF.search(await (await client.get(path)).get_data(as_text=True)).group(1)


async def signed_up(client, name: str, path: str = "/signup") -> str:
    """Make an account, signed in as it; return the session's new CSRF token."""
    form = {"username": name, "password": PASSWORD, "again": PASSWORD, "csrf_token": await token_of(client)}
    assert (await client.post(path, form=form)).status_code == 303
    return await token_of(client, "/")


def test_every_route_declares_one_access(app):
    undeclared = [
        rule.rule for rule in app.url_map.iter_rules() if access_of(app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []
    declared = {access_of(view) for view in app.view_functions.values()}
    assert declared == set(Access)


def test_a_view_cannot_declare_two_accesses():
    def view():
        async def page() -> str:
            return ""

        return page

    with pytest.raises(TypeError, match="already declares public access"):
        signed_in_only(public(view()))
    with pytest.raises(TypeError, match="already declares admin access"):
        public(asks_model(admin_only(view())))


@accounts
async def test_before_signing_in_only_public_routes_answer(app, client, db):
    token = await token_of(client)
    for access in (Access.SIGNED_IN, Access.ADMIN):
        for method, path in routes(app, access):
            assert sent_to_sign_in(await send(client, method, path, token)), (method, path)
    for method, path in routes(app, Access.PUBLIC):
        assert not sent_to_sign_in(await send(client, method, path, token)), (method, path)
    assert await db.fetch_all("SELECT id FROM exchanges") == []


@accounts
async def test_admin_routes_are_not_found_by_anyone_but_an_admin(app):
    admin, person = app.test_client(), app.test_client()
    admin_token = await signed_up(admin, "ada")
    made = await admin.post("/admin/users/invite", form={"csrf_token": admin_token})
    page = await (await admin.get(made.headers["Location"])).get_data(as_text=True)
    token = await signed_up(person, "bob", "/link/" + page.split("/link/", 1)[1].split("<", 1)[0])
    for method, path in routes(app, Access.ADMIN):
        assert (await send(person, method, path, token)).status_code == 404, (method, path)
    for path in ("/admin/users", "/admin/audit", "/admin/links"):
        assert (await admin.get(path)).status_code == 200
    assert (await person.get("/")).status_code == 200


async def test_without_accounts_admin_routes_are_not_found_and_the_rest_answer(app, client):
    token = await token_of(client, "/")
    for method, path in routes(app, Access.ADMIN):
        assert (await send(client, method, path, token)).status_code == 404, (method, path)
    assert (await client.get("/usage")).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/static/app.css"])
async def test_probes_and_files_are_handed_no_cookie(client, path):
    response = await client.get(path)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert "Set-Cookie" in (await client.get("/login")).headers


@accounts
async def test_api_routes_answer_only_a_key_never_a_session(app, db):
    admin = app.test_client()
    token = await signed_up(admin, "ada")
    api = routes(app, Access.API_KEY)
    assert ("GET", "/v1/models") in api and ("POST", "/v1/chat/completions") in api
    for client in (app.test_client(), admin):
        for method, path in api:
            response = await send(client, method, path, token)
            assert response.status_code == 401, (method, path)
            assert (await response.get_json())["error"]["code"] == "invalid_api_key"
            assert "Set-Cookie" not in response.headers
    assert await db.fetch_all("SELECT id FROM exchanges") == []
