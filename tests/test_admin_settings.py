"""The admin settings page: sections saved all or nothing, audited, applied at once; 404 for the others."""

from __future__ import annotations

import asyncio
import logging
import re

import orjson
import pytest

from app import messages
from app.config import Rate
from app.settings import addresses, rotate, sealing
from app.storage import settings as stored
from tests.conftest import CSRF, STARTUP_SECONDS
from tests.fake_llm import FakeLLM
from tests.test_accounts import csrf_of, person, sign_up

accounts = pytest.mark.settings(sign_in="accounts", sign_up="invite", login_rate=Rate(100, 60))
SEEN = re.compile(r'<form id="settings-(\w+)".*?name="seen" value="([0-9a-f]*)"', re.S)


@pytest.fixture
async def admin(app):
    client = app.test_client()
    assert (await sign_up(client, "Ada")).status_code == 303
    return client


async def form_of(client, section: str) -> dict[str, str]:
    """The hidden fields a section posts (CSRF token and what it saw)."""
    page = await (await client.get("/admin/settings")).get_data(as_text=True)
    seen = dict(SEEN.findall(page))
    return {"csrf_token": CSRF.search(page).group(1), "seen": seen[section]}


async def post(client, section: str, htmx: bool = False, **fields: str):
    form = await form_of(client, section) | fields
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(f"/admin/settings/{section}", form=form, headers=headers)


async def store_row(db, name: str, value: str) -> None:
    """A row written as another program (or a damaged disk) would, not through the page."""
    await db.execute(
        "INSERT INTO settings (name, value, updated_at) VALUES (:name, :value, '2026-01-01 00:00:00')",
        {"name": name, "value": value},
    )


BEHAVIOUR = {
    "system_prompt": "Answer like a pirate.",
    "temperature_min": "0",
    "temperature_max": "2",
    "context_size": "5",
    "context_tokens": "0",
    "max_question_chars": "8000",
}


@accounts
async def test_a_saved_setting_applies_at_once_and_is_audited_with_before_and_after(app, admin, db):
    response = await post(admin, "behaviour", **BEHAVIOUR)
    assert response.status_code == 303
    assert app.config["ANSWERS"].system_prompt == "Answer like a pirate."
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert (
        "SYSTEM_PROMPT" in trail
        and "Answer like a pirate." in trail
        and "You are a helpful assistant" in trail
    )
    page = await (await admin.get("/admin/settings?saved=behaviour")).get_data(as_text=True)
    assert messages.SETTINGS_SAVED in page and "Answer like a pirate." in page


@pytest.fixture
def second_server():
    """Another model server, with its own models and a key it requires."""
    server = FakeLLM().start_in_thread()
    server.configure(models=["llama-local", "llava-local"], require_key="sk-second-server-secret")
    yield server
    server.stop_thread()


def server_form(name: str, url: str, key: str = "", was: str = "", allow: bool = True) -> dict[str, str]:
    form = {
        "servers": "1",
        "server-0-name": name,
        "server-0-url": url,
        "server-0-key": key,
        "server-0-was": was,
    }
    return form | ({"allow_private_model_servers": "true"} if allow else {})


@accounts
async def test_a_server_added_offers_its_models_and_its_key_is_sealed_and_never_shown(
    app, admin, db, second_server, caplog
):
    caplog.set_level(logging.DEBUG)
    secret = "sk-second-server-secret"
    response = await post(admin, "servers", **server_form("local", second_server.url, secret))
    assert response.status_code == 303, await response.get_data(as_text=True)
    picker = await (await admin.get("/")).get_data(as_text=True)
    assert "llama-local@local" in picker and "llava-local@local" in picker
    raw = (await stored.stored(db))["llm_servers"]
    assert secret not in raw and "v1:" in raw
    for path in ("/admin/settings", "/admin/audit", "/"):
        assert secret not in await (await admin.get(path)).get_data(as_text=True)
    assert secret not in caplog.text
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert "added local" in trail and "with a key" in trail
    # A blank key keeps the stored one; a new one is audited as changed, never shown.
    response = await post(admin, "servers", **server_form("local", second_server.url + "/", "", was="local"))
    assert app.config["ANSWERS"].llm_servers[0].api_key == secret
    response = await post(
        admin, "servers", **server_form("local", second_server.url, "sk-another", was="local")
    )
    assert app.config["ANSWERS"].llm_servers[0].api_key == "sk-another"
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert "local: key changed" in trail and "sk-another" not in trail


@accounts
async def test_testing_a_connection_lists_the_models_or_says_why_not(app, admin, second_server):
    form = await form_of(admin, "servers")
    ask = form | server_form("local", second_server.url, "sk-second-server-secret") | {"test": "0"}
    page = await (await admin.post("/admin/settings/servers/test", form=ask)).get_data(as_text=True)
    assert "llama-local" in page and "Connected" in page
    ask["server-0-key"] = "wrong"
    page = await (await admin.post("/admin/settings/servers/test", form=ask)).get_data(as_text=True)
    assert "status 401" in page and "check the key" in page
    assert app.config["ANSWERS"].llm_servers == ()


@accounts
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest", "metadata"),
        ("http://metadata.google.internal/v1", "metadata"),
        ("http://[fd00:ec2::254]/v1", "metadata"),
        ("http://100.100.100.200/v1", "metadata"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://127.0.0.1:9/v1", "private network"),
        ("http://10.1.2.3/v1", "private network"),
        ("http://localhost:9/v1", "private network"),
        ("not a url", "not a server address"),
    ],
)
async def test_server_addresses_that_point_inside_are_refused(app, admin, db, url, words):
    response = await post(
        admin, "servers", htmx=True, **server_form("inside", url, allow="private" not in words)
    )
    page = await response.get_data(as_text=True)
    assert words in page and 'aria-describedby="server-0-url-error"' in page
    assert "llm_servers" not in await stored.stored(db)


async def test_a_name_is_checked_at_every_address_it_resolves_to():
    async def two(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "169.254.169.254"]

    with pytest.raises(addresses.Refused, match="metadata"):
        await addresses.check("https://llm.example.org/v1", True, two)

    async def mapped(host: str, port: int) -> list[str]:
        return ["::ffff:10.0.0.1"]

    with pytest.raises(addresses.Refused, match="private"):
        await addresses.check("https://llm.example.org/v1", False, mapped)
    await addresses.check("https://llm.example.org/v1", True, mapped)


@accounts
async def test_bad_values_are_refused_beside_their_field_and_nothing_is_saved(app, admin, db):
    people = {
        "sign_up": "invite",
        "admin_emails": "",
        "ask_rate": "-3",
        "max_streams_per_client": "4",
        "tokens_per_day": "-1",
    }
    response = await post(admin, "people", **people)
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-describedby="setting-ask_rate-error"' in page
    assert 'id="setting-tokens_per_day-error"' in page and "zero or a positive whole number" in page
    retention = {"retention_days": "-5", "audit_retention_days": "365"}
    page = await (await post(admin, "retention", **retention)).get_data(as_text=True)
    assert "keep forever" in page
    upside_down = BEHAVIOUR | {
        "temperature_min": "1.5",
        "temperature_max": "0.5",
        "system_prompt": "Changed.",
    }
    page = await (await post(admin, "behaviour", htmx=True, **upside_down)).get_data(as_text=True)
    assert "must not be above TEMPERATURE_MAX" in page and 'id="setting-temperature_min-error"' in page
    assert await stored.stored(db) == {}
    assert app.config["ANSWERS"].system_prompt != "Changed."
    # 0 days is valid: it keeps everything, as it always did.
    assert (await post(admin, "retention", retention_days="0", audit_retention_days="30")).status_code == 303


@accounts
async def test_two_forms_posted_at_once_keep_one_consistent_version(app, admin, db):
    form = await form_of(admin, "behaviour")
    first = form | BEHAVIOUR | {"system_prompt": "First.", "context_size": "3"}
    second = form | BEHAVIOUR | {"system_prompt": "Second.", "context_size": "7"}
    responses = await asyncio.gather(
        admin.post("/admin/settings/behaviour", form=first, headers={"HX-Request": "true"}),
        admin.post("/admin/settings/behaviour", form=second, headers={"HX-Request": "true"}),
    )
    pages = [await response.get_data(as_text=True) for response in responses]
    assert sum(messages.SETTINGS_SAVED in page for page in pages) == 1
    assert sum(messages.SETTINGS_CONFLICT in page for page in pages) == 1
    rows = await stored.stored(db)
    assert (rows["system_prompt"], rows["context_size"]) in (("First.", "3"), ("Second.", "7"))


@accounts
async def test_another_instance_applies_a_change_when_it_reads_the_version(app, admin, config):
    from app import create_app

    other = create_app(config)
    async with other.test_app_class(other, startup_timeout=STARTUP_SECONDS):
        await post(admin, "behaviour", **BEHAVIOUR | {"system_prompt": "Seen everywhere."})
        assert other.config["ANSWERS"].system_prompt != "Seen everywhere."
        await other.extensions["settings"].refresh()
        assert other.config["ANSWERS"].system_prompt == "Seen everywhere."


@pytest.mark.settings(
    sign_in="accounts",
    system_prompt="From the environment.",
    pinned=frozenset({"system_prompt"}),
    login_rate=Rate(100, 60),
)
async def test_a_setting_the_environment_sets_is_shown_read_only_and_kept(app, admin, db):
    page = await (await admin.get("/admin/settings")).get_data(as_text=True)
    assert "Set by the environment (SYSTEM_PROMPT)." in page
    assert re.search(r'<textarea id="setting-system_prompt"[^>]* readonly', page)
    await post(admin, "behaviour", **BEHAVIOUR | {"system_prompt": "From the page.", "context_size": "2"})
    assert app.config["ANSWERS"].system_prompt == "From the environment."
    assert app.config["ANSWERS"].context_size == 2
    assert "system_prompt" not in await stored.stored(db)


@accounts
async def test_a_damaged_row_leaves_the_environments_value_with_a_message(app, admin, db, caplog):
    await post(admin, "behaviour", **BEHAVIOUR | {"context_size": "3"})
    await db.execute("UPDATE settings SET value = 'three' WHERE name = 'context_size'")
    elsewhere = sealing.seal("k", "another-key-1234567")
    await store_row(
        db, "llm_servers", f'[{{"name": "x", "url": "http://x.example/v1", "key": "{elsewhere}"}}]'
    )
    await db.execute("UPDATE locks SET taken = taken + 1 WHERE name = 'settings'")
    with caplog.at_level(logging.ERROR):
        await app.extensions["settings"].refresh()
    assert app.config["ANSWERS"].context_size == 5 and app.config["ANSWERS"].llm_servers == ()
    page = await (await admin.get("/admin/settings")).get_data(as_text=True)
    for variable in ("CONTEXT_SIZE", "LLM_SERVERS"):
        assert messages.setting_damaged(variable) in page.replace("&#39;", "'")
        assert variable in caplog.text
    assert (await admin.get("/")).status_code == 200


@accounts
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/settings"),
        ("POST", "/admin/settings/behaviour"),
        ("POST", "/admin/settings/servers"),
        ("POST", "/admin/settings/servers/test"),
    ],
)
async def test_everyone_but_an_admin_finds_no_settings_route(app, admin, db, method, path):
    bob = await person(app, admin, "bob")
    token = await csrf_of(bob, "/")
    form = {"csrf_token": token, "seen": "", **BEHAVIOUR, "test": "0", "server-0-url": "http://10.0.0.1/"}
    response = await (bob.get(path) if method == "GET" else bob.post(path, form=form))
    assert response.status_code == 404
    assert await stored.stored(db) == {}


@accounts
async def test_a_settings_form_needs_the_csrf_token(app, admin, db):
    form = await form_of(admin, "behaviour") | BEHAVIOUR | {"csrf_token": "forged"}
    response = await admin.post("/admin/settings/behaviour", form=form)
    assert response.status_code in (400, 403)
    assert await stored.stored(db) == {}


async def test_the_key_rotation_seals_stored_keys_under_the_new_secret(db):
    old, new = "the-old-secret-key-1234", "the-new-secret-key-5678"
    listed = f'[{{"name": "x", "url": "http://x.example/v1", "key": "{sealing.seal("sk-kept", old)}"}}]'
    await store_row(db, "llm_servers", listed)
    assert await rotate(db, old, new) == 1
    assert await rotate(db, old, new) == 0
    lines = await db.fetch_all("SELECT action, detail FROM audit WHERE subject = 'SECRET_KEY' ORDER BY id")
    assert [line["detail"] for line in lines] == ["1 keys", "0 keys"]
    raw = (await stored.stored(db))["llm_servers"]
    assert "sk-kept" not in raw
    assert sealing.unseal(orjson.loads(raw)[0]["key"], new) == "sk-kept"
    with pytest.raises(sealing.Unsealable):
        sealing.unseal(orjson.loads(raw)[0]["key"], old)


def test_the_rotation_command_reads_the_former_key_from_the_variable_it_names(config, monkeypatch, capsys):
    from app.__main__ import command
    from app.storage import open_database

    if not config.database_url.startswith("sqlite"):
        pytest.skip("the command's work is the same on both engines; the test above runs it on each")
    old = "the-old-secret-key-1234"
    listed = f'[{{"name": "x", "url": "http://x.example/v1", "key": "{sealing.seal("sk-kept", old)}"}}]'

    async def setup_and_read(value: str | None = None) -> str:
        db = open_database(config.database_url)
        await db.open()
        try:
            if value is not None:
                await store_row(db, "llm_servers", value)
            return (await stored.stored(db))["llm_servers"]
        finally:
            await db.close()

    asyncio.run(setup_and_read(listed))
    assert command(config, ["settings", "rotate-key", "--old-secret-env", "OLD_SECRET_KEY"]) == 2
    monkeypatch.setenv("OLD_SECRET_KEY", old)
    assert command(config, ["settings", "rotate-key", "--old-secret-env", "OLD_SECRET_KEY"]) == 0
    assert "1 stored key sealed again" in capsys.readouterr().out
    key = orjson.loads(asyncio.run(setup_and_read()))[0]["key"]
    assert sealing.unseal(key, config.secret_key) == "sk-kept"
