"""Choosing the model: from LLM_MODELS or the servers, several servers, hidden ones refused, remembered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from app.config import Config, ConfigError, Server
from app.model.catalog import Catalog
from app.storage import conversations, exchanges
from tests.conftest import Visitor
from tests.fake_llm import FakeLLM

OPTION = re.compile(r'<option value="([^"]+)"( selected)?>([^<]+)</option>')


def server_of(fake: FakeLLM) -> str:
    return urlsplit(fake.url).netloc


def options(page: str) -> list[tuple[str, bool, str]]:
    return [(key, bool(selected), label) for key, selected, label in OPTION.findall(page)]


async def exchange_id_of(response) -> int:
    return int(re.search(r"/answers/(\d+)/stream", await response.get_data(as_text=True)).group(1))


@pytest.fixture
def second_server() -> Iterator[FakeLLM]:
    """Another model server, as a local Ollama beside OpenAI would be."""
    server = FakeLLM().start_in_thread()
    server.configure(models=["llama-local"], answer="The local model answering.")
    yield server
    server.stop_thread()


async def test_the_picker_lists_what_the_server_offers(client, model):
    model.configure(models=["fake-model", "second-model"])
    page = await Visitor(client).open("/")
    here = server_of(model)
    assert options(page) == [
        (f"fake-model@{here}", True, "fake-model"),
        (f"second-model@{here}", False, "second-model"),
    ]
    # The list is cached: a change on the server shows later, not on every page.
    model.configure(models=["fake-model", "second-model", "third-model"])
    assert len(options(await Visitor(client).open("/"))) == 2


async def test_with_one_model_there_is_no_picker(visitor):
    page = await visitor.open("/")
    assert '<select id="model-picker"' not in page and "Model: </span>fake-model" in page


async def test_the_chosen_model_answers_and_is_stored_with_the_server(client, model, db):
    model.configure(models=["fake-model", "second-model"], answer_by_model={"second-model": "Second here."})
    visitor = Visitor(client)
    await visitor.open("/")
    here = server_of(model)
    response = await visitor.client.post(
        "/ask",
        form={
            "question": "Who answers?",
            "conversation_id": "",
            "csrf_token": visitor.csrf,
            "model": f"second-model@{here}",
        },
        headers={"HX-Request": "true"},
    )
    exchange_id = await exchange_id_of(response)
    events = await visitor.stream(exchange_id)
    assert "Second here." in events[-2][1] and "second-model" in events[-2][1]
    assert model.requests[-1]["model"] == "second-model"
    async with client.session_transaction() as session:
        stored = await exchanges.get(db, exchange_id, session["owner"])
    assert (stored["model"], stored["server"], stored["answer"]) == ("second-model", here, "Second here.")
    # The conversation remembers it: opened again, the picker offers it first.
    page = await visitor.open(f"/c/{stored['conversation_id']}")
    assert (f"second-model@{here}", True, "second-model") in options(page)
    # A follow-up without a choice (no JavaScript, an old form) keeps the conversation's model.
    await visitor.client.post(
        "/ask",
        form={
            "question": "And again?",
            "conversation_id": str(stored["conversation_id"]),
            "csrf_token": visitor.csrf,
        },
    )
    assert model.requests[-1]["model"] == "second-model"


async def test_regenerate_can_use_another_model(client, model, db):
    model.configure(models=["fake-model", "second-model"], answer_by_model={"second-model": "Second here."})
    visitor = Visitor(client)
    await visitor.open("/")
    exchange_id = await exchange_id_of(await visitor.ask("Answer twice?"))
    await visitor.stream(exchange_id)
    here = server_of(model)
    again = await client.post(
        f"/answers/{exchange_id}/regenerate",
        form={"model": f"second-model@{here}"},
        headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf},
    )
    assert again.status_code == 200
    # The new answer is a version beside the first, which stays as it was.
    version_id = await exchange_id_of(again)
    await visitor.stream(version_id)
    async with client.session_transaction() as session:
        first = await exchanges.get(db, exchange_id, session["owner"])
        stored = await exchanges.get(db, version_id, session["owner"])
        chat = await conversations.get(db, stored["conversation_id"], session["owner"])
    assert version_id != exchange_id and first["model"] == "fake-model"
    assert (stored["model"], stored["answer"]) == ("second-model", "Second here.")
    assert (chat["model"], chat["server"]) == ("second-model", here)


@pytest.mark.settings(llm_models=("alpha", "beta", "gamma"), llm_hidden_models=("beta",))
async def test_llm_models_fixes_the_list_and_hidden_models_are_neither_listed_nor_accepted(client, model, db):
    visitor = Visitor(client)
    page = await visitor.open("/")
    here = server_of(model)
    assert [key for key, _, _ in options(page)] == [f"alpha@{here}", f"gamma@{here}"]
    for refused in (f"beta@{here}", "alpha@elsewhere", "nonsense"):
        response = await visitor.client.post(
            "/ask",
            form={"question": "Hidden?", "conversation_id": "", "csrf_token": visitor.csrf, "model": refused},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422
        assert "That model is not available here" in await response.get_data(as_text=True)
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM exchanges") == {"n": 0}


async def test_several_servers_each_answer_their_own_models(tmp_path, model, second_server, config):
    from app import create_app

    config = Config(**{**config.__dict__, "llm_servers": (Server("local", second_server.url),)})
    app = create_app(config)
    async with app.test_app():
        visitor = Visitor(app.test_client())
        page = await visitor.open("/")
        assert ("llama-local@local", False, "llama-local · local") in options(page)
        response = await visitor.client.post(
            "/ask",
            form={
                "question": "Local?",
                "conversation_id": "",
                "csrf_token": visitor.csrf,
                "model": "llama-local@local",
            },
            headers={"HX-Request": "true"},
        )
        events = await visitor.stream(await exchange_id_of(response))
        assert "The local model answering." in events[-2][1]
        assert second_server.requests[-1]["model"] == "llama-local"


def settings_for(fake: FakeLLM, **changes) -> Config:
    """Settings naming the fake model server, as the app's own would."""
    settings = {"secret_key": "s" * 20, "openai_api_key": "test-key", "llm_base_url": fake.url}
    return Config(**settings | {"llm_model": "fake-model"} | changes)


async def listed(config: Config) -> list[str]:
    """What a new catalog offers, as `model@server` keys."""
    catalog = Catalog(config)
    try:
        return [choice.key for choice in await catalog.choices()]
    finally:
        await catalog.close()


async def test_the_list_of_models_is_asked_with_the_key_the_answers_use(model):
    model.configure(models=["fake-model", "second-model"], require_key="test-key")
    here = server_of(model)
    assert await listed(settings_for(model)) == [f"fake-model@{here}", f"second-model@{here}"]


async def test_a_server_that_is_down_offers_only_its_configured_model(model, caplog):
    model.configure(models=["fake-model", "second-model"])
    here = server_of(model)
    down = Server("gone", "http://127.0.0.1:9/v1")
    assert await listed(settings_for(model, llm_servers=(down,))) == [
        f"fake-model@{here}",
        f"second-model@{here}",
    ]
    assert await listed(settings_for(model, llm_base_url=down.base_url)) == ["fake-model@127.0.0.1:9"]
    # The operator reads what happened, not the timeout the SDK reports a refused connection as.
    assert (
        "at http://127.0.0.1:9/v1 could not list its models (LLM_BASE_URL): ConnectionRefusedError"
        in caplog.text
    )


@pytest.mark.parametrize(
    ("behaviour", "logged"),
    [
        ({"models_status": 500}, "answered 500: fake error with status 500"),
        ({"models_status": 404}, "answered 404: fake error with status 404 (check LLM_MODEL or LLM_MODELS)"),
        ({"require_key": "another-key"}, "answered 401: Incorrect API key provided. (check OPENAI_API_KEY"),
    ],
)
async def test_a_server_that_errors_offers_its_configured_model_and_tells_the_operator_why(
    model, caplog, behaviour, logged
):
    model.configure(models=["fake-model", "second-model"], **behaviour)
    assert await listed(settings_for(model)) == [f"fake-model@{server_of(model)}"]
    [line] = [record.getMessage() for record in caplog.records if "the list of models" in record.getMessage()]
    assert line.startswith(f"the list of models at {model.url} {logged}")


def test_model_settings_are_read_and_checked():
    config = Config.from_env(
        {
            "SECRET_KEY": "s" * 20,
            "LLM_MODELS": "gpt-4o-mini, llama3.2:1b@ollama",
            "LLM_SERVERS": "ollama=http://127.0.0.1:11434/v1",
            "LLM_API_KEY_OLLAMA": "local-key",
            "LLM_HIDDEN_MODELS": "gpt-4o",
        }
    )
    assert config.llm_models == ("gpt-4o-mini", "llama3.2:1b@ollama")
    assert config.llm_servers == (Server("ollama", "http://127.0.0.1:11434/v1", "local-key"),)
    assert config.llm_hidden_models == ("gpt-4o",)
    with pytest.raises(ConfigError, match="LLM_SERVERS"):
        Config.from_env({"SECRET_KEY": "s" * 20, "LLM_SERVERS": "ollama"})
    with pytest.raises(ConfigError, match="LLM_MODELS"):
        Catalog(Config(secret_key="s" * 20, llm_models=("x@nowhere",)))
