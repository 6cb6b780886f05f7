"""Signing in with OpenID Connect against a real provider on this machine (oidc-provider-mock), no mocks."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from app import create_app, messages
from app.storage import conversations, exchanges


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID provider serving on a free port; its issuer URL."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


class KeylessProvider(BaseHTTPRequestHandler):
    """An OpenID provider whose key set names no keys, and whose tokens are therefore never good."""

    def do_GET(self) -> None:
        issuer = f"http://localhost:{self.server.server_address[1]}"
        if self.path == "/.well-known/openid-configuration":
            self._send(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                }
            )
        else:
            self._send({"no": "keys"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send({"id_token": "e30.e30.c2lnbmF0dXJl", "token_type": "Bearer"})

    def _send(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def keyless_provider() -> Iterator[str]:
    """A provider on a free port whose key set is missing its keys; its issuer URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeylessProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(config, provider):
    return replace(
        config,
        sign_in="oidc",
        oidc_issuer=provider,
        oidc_client_id="gpt-answers",
        oidc_client_secret="a-client-secret",
        admin_emails=frozenset({"boss@example.com"}),
    )


async def sign_in_at_provider(client, subject: str, next_: str = "/"):
    """Follow the flow as a browser would: to the provider, pick the person, back to the app's callback."""
    start = await client.get(f"/login/oidc?next={next_}")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    answer = await asyncio.to_thread(requests.post, authorize, data={"sub": subject}, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/login/oidc/callback"
    return await client.get(f"{back.path}?{back.query}")


def claims_at_provider(provider: str, subject: str, **claims: object) -> None:
    """Set what the provider says of a person (it says only `email` unless told more)."""
    response = requests.put(f"{provider}/users/{subject}", json=claims, timeout=10)
    assert response.status_code == 204, response.text


async def role_of(db, subject: str) -> str | None:
    row = await db.fetch_one("SELECT role FROM users WHERE kind = 'oidc' AND subject = :s", {"s": subject})
    return row["role"] if row else None


async def test_admin_emails_make_an_admin_only_of_an_address_the_provider_verified(app, db, provider):
    await sign_in_at_provider(app.test_client(), "first@example.com")
    unverified = {
        "missing": {},
        "false": {"email_verified": False},
        "the string false": {"email_verified": "false"},
        "zero": {"email_verified": 0},
        "the string true": {"email_verified": "true"},
        "one": {"email_verified": 1},
    }
    for subject, said in unverified.items():
        claims_at_provider(provider, subject, email="boss@example.com", **said)
        browser = app.test_client()
        assert (await sign_in_at_provider(browser, subject)).status_code == 303
        assert (await browser.get("/admin/users")).status_code == 404, subject
        assert await role_of(db, subject) == "user", subject
        # An address nobody vouched for is not kept, nor shown as the person's name.
        row = await db.fetch_one("SELECT email, username FROM users WHERE subject = :s", {"s": subject})
        assert row["email"] is None and "boss@example.com" not in row["username"], subject
    claims_at_provider(provider, "the real boss", email="boss@example.com", email_verified=True)
    boss = app.test_client()
    await sign_in_at_provider(boss, "the real boss")
    assert (await boss.get("/admin/users")).status_code == 200
    assert await role_of(db, "the real boss") == "admin"


@pytest.mark.parametrize(
    ("said", "signs_in"),
    [
        ({"aud": ["gpt-answers", "another-client"], "azp": "another-client"}, False),
        ({"aud": ["gpt-answers", "another-client"]}, False),
        ({"azp": "another-client"}, False),
        ({"aud": ["gpt-answers", "another-client"], "azp": "gpt-answers"}, True),
        ({"aud": "gpt-answers", "azp": "gpt-answers"}, True),
    ],
)
async def test_a_token_issued_to_another_client_is_refused(app, client, provider, said, signs_in):
    subject = f"azp-{len(said)}-{signs_in}-{said.get('azp', 'none')}-{len(said.get('aud', ''))}"
    claims_at_provider(provider, subject, email=f"{subject}@example.com", **said)
    done = await sign_in_at_provider(client, subject)
    assert done.status_code == (303 if signs_in else 400)
    assert ((await client.get("/")).status_code == 200) is signs_in


async def test_a_person_signs_in_through_the_provider_and_sees_their_own_chats(app, client, provider):
    assert (await client.get("/")).status_code == 302
    done = await sign_in_at_provider(client, "alice@example.com", "/list")
    assert done.status_code == 303 and done.headers["Location"] == "/list"
    page = await (await client.get("/list")).get_data(as_text=True)
    assert "alice@example.com" in page and "Everyone&#39;s history" not in page
    # The first person in is the admin; the next is not, unless ADMIN_EMAILS names them.
    other = app.test_client()
    await sign_in_at_provider(other, "bob@example.com")
    assert (await other.get("/admin/users")).status_code == 404
    boss = app.test_client()
    claims_at_provider(provider, "boss@example.com", email="boss@example.com", email_verified=True)
    await sign_in_at_provider(boss, "boss@example.com")
    people = await (await boss.get("/admin/users")).get_data(as_text=True)
    assert "bob@example.com" in people and "alice@example.com" in people
    assert "Invite someone" not in people


async def test_a_callback_with_another_state_is_refused(app, client):
    start = await client.get("/login/oidc")
    authorize = start.headers["Location"]
    answer = await asyncio.to_thread(
        requests.post, authorize, data={"sub": "eve@example.com"}, allow_redirects=False
    )
    back = urlsplit(answer.headers["Location"])
    forged = back.query.replace("state=", "state=x")
    refused = await client.get(f"{back.path}?{forged}")
    assert refused.status_code == 400
    assert "did not go through" in await refused.get_data(as_text=True)
    assert (await client.get("/")).status_code == 302
    # The attempt is spent: the real state no longer works either.
    assert (await client.get(f"{back.path}?{back.query}")).status_code == 400


async def test_a_code_from_another_browsers_attempt_is_refused(app):
    victim, attacker = app.test_client(), app.test_client()
    start = await attacker.get("/login/oidc")
    answer = await asyncio.to_thread(
        requests.post, start.headers["Location"], data={"sub": "mallory@example.com"}, allow_redirects=False
    )
    back = urlsplit(answer.headers["Location"])
    await victim.get("/login/oidc")
    assert (await victim.get(f"{back.path}?{back.query}")).status_code == 400


async def test_the_password_forms_do_not_exist_with_oidc(client):
    for path in ("/signup", "/link/x"):
        assert (await client.get(path)).status_code == 404
    assert "Sign in with your organisation" in await (await client.get("/login")).get_data(as_text=True)


async def test_a_provider_whose_key_set_has_no_keys_gets_a_refused_sign_in_not_an_error_page(
    config, keyless_provider
):
    app = create_app(replace(config, oidc_issuer=keyless_provider))
    async with app.test_app():
        client = app.test_client()
        start = await client.get("/login/oidc")
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        back = await client.get(f"/login/oidc/callback?state={state}&code=a-code")
        assert back.status_code == 400
        assert messages.SIGN_IN_AGAIN in await back.get_data(as_text=True)
        assert (await client.get("/")).status_code == 302


async def test_names_are_kept_in_normal_form_and_filters_name_people_by_id(app, db, provider):
    admin = app.test_client()
    await sign_in_at_provider(admin, "first@example.com")
    claims_at_provider(provider, "sub-a", preferred_username="Ｃａｓｅｙ")
    claims_at_provider(provider, "sub-b", preferred_username="casey")
    for subject in ("sub-a", "sub-b"):
        assert (await sign_in_at_provider(app.test_client(), subject)).status_code == 303
    people = await db.fetch_all("SELECT id, owner, username FROM users WHERE kind = 'oidc' ORDER BY id")
    casey_a, casey_b = people[1], people[2]
    assert casey_a["username"] == "casey" and casey_b["username"].startswith("casey-")
    for person in (casey_a, casey_b):
        chat = await conversations.create(db, person["owner"], f"chat of {person['username']}")
        await exchanges.create(db, chat, person["owner"], f"asked by {person['username']}")
    listed = await (await admin.get("/admin/users")).get_data(as_text=True)
    for person, other in ((casey_a, casey_b), (casey_b, casey_a)):
        assert f'href="/list?user={person["id"]}"' in listed
        rows = await (await admin.get(f"/list?user={person['id']}")).get_data(as_text=True)
        assert f"asked by {person['username']}<" in rows and f"asked by {other['username']}<" not in rows
        assert f'href="/list?user={person["id"]}"' in rows
        spent = await (await admin.get(f"/usage?user={person['id']}")).get_data(as_text=True)
        assert "<dt>Questions</dt><dd>1</dd>" in spent and f"Usage of {person['username']}" in spent
    # A name typed in the filter is the one account with that name, in its normal form.
    typed = await (await admin.get("/list?name=CASEY")).get_data(as_text=True)
    assert "asked by casey<" in typed and f"asked by {casey_b['username']}<" not in typed
    # An address that names nobody by id shows nobody's rows, not everyone's.
    for nobody in ("/list?user=casey", "/list?user=999999"):
        assert "asked by" not in await (await admin.get(nobody)).get_data(as_text=True)


async def groups_of(db, subject: str) -> dict[str, bool]:
    rows = await db.fetch_all(
        "SELECT user_groups.name, group_members.claimed FROM group_members"
        " JOIN user_groups ON user_groups.id = group_members.group_id"
        " JOIN users ON users.id = group_members.user_id WHERE users.subject = :s",
        {"s": subject},
    )
    return {row["name"]: bool(row["claimed"]) for row in rows}


@pytest.mark.settings(oidc_groups_claim="groups")
async def test_the_groups_claim_sets_memberships_at_each_sign_in_and_leaves_an_admins_alone(
    app, db, provider
):
    await sign_in_at_provider(app.test_client(), "first-admin")
    claims_at_provider(provider, "gil", groups=["Engineering", "Sales"])
    await sign_in_at_provider(app.test_client(), "gil")
    assert await groups_of(db, "gil") == {"Engineering": True, "Sales": True}
    # An admin adds Gil to a group by hand: the provider's claim never takes that one away.
    sales = (await db.fetch_one("SELECT id FROM user_groups WHERE name = 'Sales'"))["id"]
    await db.execute("UPDATE group_members SET claimed = 0 WHERE group_id = :g", {"g": sales})
    claims_at_provider(provider, "gil", groups=["Engineering", "Research"])
    await sign_in_at_provider(app.test_client(), "gil")
    assert await groups_of(db, "gil") == {"Engineering": True, "Research": True, "Sales": False}
    claims_at_provider(provider, "gil", groups=[])
    await sign_in_at_provider(app.test_client(), "gil")
    assert await groups_of(db, "gil") == {"Sales": False}


@pytest.mark.settings(oidc_groups_claim="groups", oidc_group_names=(("0b5c-11", "Engineering"),))
async def test_group_ids_from_the_provider_are_named_through_the_mapping(app, db, provider):
    claims_at_provider(provider, "hal", groups=["0b5c-11", "7f3e-99"])
    await sign_in_at_provider(app.test_client(), "hal")
    # An id the mapping does not name is left out, not made a group named by an id.
    assert await groups_of(db, "hal") == {"Engineering": True}
    assert [row["name"] for row in await db.fetch_all("SELECT name FROM user_groups")] == ["Engineering"]
    # Too many groups for the token (Entra ID's overage): the memberships stay as they were.
    claims_at_provider(provider, "hal", _claim_names={"groups": "src1"})
    await sign_in_at_provider(app.test_client(), "hal")
    assert await groups_of(db, "hal") == {"Engineering": True}


def test_the_pkce_challenge_is_rfc_7636s_own_example():
    """The S256 challenge of the RFC's example verifier is the RFC's example challenge (Appendix B)."""
    from app.people.oidc import code_challenge

    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
