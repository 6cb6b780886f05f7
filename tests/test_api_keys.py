"""Personal API keys: made on the account page or by a command, shown once, kept as a digest, revoked."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import httpx2
import pytest

from app.people import api_keys
from tests.api_server import Served
from tests.conftest import CSRF
from tests.test_accounts import sign_up

KEY = re.compile(r'<output class="new-key-value">(ga-[A-Za-z0-9_-]+)</output>')


async def page_token(client, path: str = "/account") -> tuple[str, str]:
    page = await (await client.get(path)).get_data(as_text=True)
    return page, CSRF.search(page).group(1)


async def make_key(client, name: str = "laptop") -> str:
    _, token = await page_token(client)
    response = await client.post("/account/keys", form={"name": name, "csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return KEY.search(await response.get_data(as_text=True)).group(1)


async def models(served: Served, key: str, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.get(f"{served.api}/models", headers={"Authorization": f"Bearer {key}", **headers})


async def signed_up(served: Served, name: str):
    client = served.app.test_client()
    assert (await sign_up(client, name)).status_code == 303
    return client


async def test_a_key_made_on_the_account_page_is_shown_once_and_kept_as_a_digest(served: Served):
    ada = await signed_up(served, "ada")
    key = await make_key(ada, "my laptop")
    assert key.startswith("ga-") and len(key) == 46
    page, _ = await page_token(ada)
    assert key not in page and key[:10] in page and "my laptop" in page
    row = await served.db.fetch_one("SELECT * FROM api_keys")
    assert key not in str(row) and row["digest"] == api_keys.digest(key) and row["shown"] == key[:10]
    assert (row["uses"], row["last_used_at"]) == (0, None)
    for _ in range(2):
        assert (await models(served, key)).status_code == 200
    row = await served.db.fetch_one("SELECT uses, last_used_at FROM api_keys")
    assert row["uses"] == 2 and row["last_used_at"] is not None
    trail = await (await ada.get("/admin/audit")).get_data(as_text=True)
    assert "API key made" in trail and "my laptop" in trail


async def test_an_empty_name_is_refused_with_a_sentence(served: Served):
    ada = await signed_up(served, "ada")
    _, token = await page_token(ada)
    response = await ada.post("/account/keys", form={"name": "   ", "csrf_token": token})
    assert response.status_code == 422 and "Give the key a name" in await response.get_data(as_text=True)
    assert await served.db.fetch_all("SELECT id FROM api_keys") == []


async def test_a_revoked_key_gets_401_and_the_revocation_is_audited(served: Served):
    ada = await signed_up(served, "ada")
    key = await make_key(ada)
    key_id = (await served.db.fetch_one("SELECT id FROM api_keys"))["id"]
    _, token = await page_token(ada)
    assert (await ada.post(f"/account/keys/{key_id}/revoke", form={"csrf_token": token})).status_code == 303
    refused = await models(served, key)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    page, _ = await page_token(ada)
    assert "revoked" in page
    assert "API key revoked" in await (await ada.get("/admin/audit")).get_data(as_text=True)


async def test_an_admin_lists_and_revokes_anyones_keys(served: Served):
    admin = await signed_up(served, "ada")
    bob_key = await served.key("bob", "bob's script")
    key_id = (await served.db.fetch_one("SELECT id FROM api_keys"))["id"]
    listing, token = await page_token(admin, "/admin/keys")
    assert "bob&#39;s script" in listing and bob_key[:10] in listing and bob_key not in listing
    assert (await admin.post(f"/admin/keys/{key_id}/revoke", form={"csrf_token": token})).status_code == 303
    assert (await models(served, bob_key)).status_code == 401
    assert "API key revoked" in await (await admin.get("/admin/audit")).get_data(as_text=True)


async def test_someone_else_cannot_revoke_a_key_from_their_account_page(served: Served):
    await signed_up(served, "ada")
    bob_key = await served.key("bob")
    carol = await signed_up(served, "carol")
    key_id = (await served.db.fetch_one("SELECT id FROM api_keys"))["id"]
    _, token = await page_token(carol)
    response = await carol.post(f"/account/keys/{key_id}/revoke", form={"csrf_token": token})
    assert response.status_code == 404
    assert (await models(served, bob_key)).status_code == 200


async def test_a_key_works_only_while_its_person_is_enabled(served: Served):
    admin = await signed_up(served, "ada")
    key = await served.key("bob")
    bob_id = (await served.db.fetch_one("SELECT id FROM users WHERE username = 'bob'"))["id"]
    _, token = await page_token(admin, "/admin/users")
    await admin.post(f"/admin/users/{bob_id}/disable", form={"csrf_token": token})
    assert (await models(served, key)).status_code == 401
    await admin.post(f"/admin/users/{bob_id}/enable", form={"csrf_token": token})
    assert (await models(served, key)).status_code == 200


async def test_a_browser_session_does_not_reach_the_api_and_a_key_does_not_reach_the_pages(served: Served):
    ada = await signed_up(served, "ada")
    key = await make_key(ada)
    _, token = await page_token(ada, "/")
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        response = await ada.open(path, method=method, headers={"X-CSRF-Token": token}, json={})
        assert response.status_code == 401, path
        assert (await response.get_json())["error"]["message"].startswith("Send your API key")
        assert "Set-Cookie" not in response.headers
    stranger = served.app.test_client()
    for path in ("/", "/list", "/account"):
        response = await stranger.get(path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


async def test_missing_malformed_or_unknown_keys_get_401_in_openais_shape(served: Served):
    async with httpx2.AsyncClient() as http:
        missing = await http.get(f"{served.api}/models")
        basic = await http.get(f"{served.api}/models", headers={"Authorization": "Basic YWRhOnNlY3JldA=="})
    for response in (
        missing,
        basic,
        await models(served, "nonsense"),
        await models(served, "ga-" + "x" * 43),
    ):
        assert response.status_code == 401
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "invalid_api_key",
            None,
        )
        assert "Set-Cookie" not in response.headers


async def test_an_unknown_and_a_revoked_key_run_the_same_queries_and_get_the_same_answer(served: Served):
    revoked = await served.key()
    key_id = (await served.db.fetch_one("SELECT id FROM api_keys"))["id"]
    await api_keys.revoke(served.db, key_id, key_id, None)
    unknown = "ga-" + "A" * 43
    db = served.db
    seen: list[str] = []
    fetch_one, execute = db.fetch_one, db.execute

    async def recorded_fetch_one(sql, params=None):
        seen.append(sql)
        return await fetch_one(sql, params)

    async def recorded_execute(sql, params=None):
        seen.append(sql)
        return await execute(sql, params)

    db.fetch_one, db.execute = recorded_fetch_one, recorded_execute
    try:
        answers = []
        queries = []
        for key in (unknown, revoked):
            seen.clear()
            response = await models(served, key)
            answers.append((response.status_code, response.content))
            queries.append(list(seen))
    finally:
        db.fetch_one, db.execute = fetch_one, execute
    assert answers[0] == answers[1] and answers[0][0] == 401
    assert queries[0] == queries[1] and len(queries[0]) == 1


async def test_a_key_in_the_address_is_refused_without_being_looked_up(served: Served):
    key = await served.key()
    async with httpx2.AsyncClient() as http:
        for query in (f"api_key={key}", f"key={key}", f"anything={key}", "token=x"):
            response = await http.get(
                f"{served.api}/models?{query}", headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == 401
            assert "refused in the address" in response.json()["error"]["message"]
            assert key not in response.text
    assert (await served.db.fetch_one("SELECT uses FROM api_keys"))["uses"] == 0


async def test_keys_never_appear_in_logs_metrics_or_error_answers(served: Served, caplog):
    caplog.set_level(logging.DEBUG)
    key = await served.key()
    wrong = "ga-" + "B" * 43
    bodies = []
    async with httpx2.AsyncClient() as http:
        for sent in (key, wrong):
            headers = {"Authorization": f"Bearer {sent}"}
            bodies.append((await http.get(f"{served.api}/models", headers=headers)).text)
            bodies.append((await http.get(f"{served.api}/nowhere", headers=headers)).text)
            bodies.append(
                (await http.post(f"{served.api}/chat/completions", headers=headers, content=b"{")).text
            )
            bodies.append((await http.get(f"{served.api}/models?api_key={sent}")).text)
        bodies.append((await http.get(f"{served.url}/metrics")).text)
    everything = caplog.text + "".join(bodies)
    for sent in (key, wrong):
        assert sent not in everything and sent[3:] not in everything


@pytest.mark.settings(sign_in="none")
async def test_without_accounts_the_api_says_it_needs_them(config, tmp_path):
    from dataclasses import replace

    from tests.api_server import serving

    async for served in serving(replace(config, sign_in="none")):
        response = await models(served, "ga-" + "C" * 43)
        assert (
            response.status_code == 401 and "needs people to sign in" in response.json()["error"]["message"]
        )


def test_the_operator_command_prints_a_key_for_a_person(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'answers.db'}",
        "INSTANCE_PATH": str(tmp_path),
    }
    command = [sys.executable, "-m", "app", "keys", "create", "--user", "ada", "--name", "nightly job"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no account named 'ada'" in missing.stderr

    import asyncio

    from app.people.passwords import hash_password
    from app.storage import open_database, users

    async def make_ada() -> None:
        db = open_database(env["DATABASE_URL"])
        await db.open()
        await users.create_account(db, "ada", await hash_password("correct horse battery"), "user")
        await db.close()

    asyncio.run(make_ada())
    made = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert re.fullmatch(r"ga-[A-Za-z0-9_-]{43}", key)

    async def stored() -> list:
        db = open_database(env["DATABASE_URL"])
        await db.open()
        try:
            return [
                await db.fetch_one("SELECT name, digest FROM api_keys"),
                await db.fetch_one("SELECT action, detail, address FROM audit WHERE action = 'API key made'"),
            ]
        finally:
            await db.close()

    row, line = asyncio.run(stored())
    assert row == {"name": "nightly job", "digest": api_keys.digest(key)}
    assert line == {"action": "API key made", "detail": "nightly job", "address": "command line"}
