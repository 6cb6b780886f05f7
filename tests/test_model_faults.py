"""Model faults from the fake model: each one ends in a visible error bubble, stored as `error`."""

from __future__ import annotations

import re
import time

import pytest

from app import messages
from tests import figures
from tests.waiting import until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
TIMEOUT = 1.5
OPERATOR_DETAILS = re.compile(r"https?://|127\.0\.0\.1|OPENAI_API_KEY|LLM_[A-Z_]+|[A-Z]+_[A-Z_]+=")

FAULTS = {
    "429 from the model": ({"status": 429}, "busy or out of quota (429)"),
    "500 from the model": ({"status": 500}, "The model server failed (500)"),
    "503 from the model": ({"status": 503}, "The model server failed (503)"),
    "401 from the model": ({"status": 401}, "did not accept the key this app uses (401)"),
    "404 from the model": ({"status": 404}, "is not available on its server (404)"),
    "hang before any response": ({"hang": True}, f"did not answer within {TIMEOUT:g} s"),
    "first token later than the timeout": (
        {"first_token_delay": TIMEOUT + 2},
        f"did not answer within {TIMEOUT:g} s",
    ),
    "drop mid-stream": ({"drop_after": 3}, "The connection to the model dropped"),
    "drop before the first token": ({"drop_after": 0}, "The connection to the model dropped"),
    "malformed chunk": ({"malformed_after": 2}, "cannot read"),
    "error event mid-stream": ({"error_event_after": 2}, "fake mid-stream error"),
    "drop after the last token, before the end": (
        {"tokens": 5, "drop_after": 5},
        "The connection to the model dropped",
    ),
}


# A short model timeout, so that waiting for one costs little.
pytestmark = pytest.mark.settings(llm_timeout=TIMEOUT)


async def settled(app, model) -> None:
    """Wait until the model answers no request any more and no answer holds a place."""
    await until(
        lambda: not model.stats["responding"] and not app.extensions["answers"].places.taken,
        "the model's requests and the answers' places let go",
    )


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_each_model_fault_ends_in_a_stored_error_bubble(fault, app, visitor, model, db):
    behaviour, expected = FAULTS[fault]
    model.configure(answer="one two three four five six seven", **behaviour)
    figures.add("faults", injected=1)
    response = await visitor.ask(f"what if: {fault}")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    started = time.monotonic()
    events = await visitor.stream(exchange_id)
    elapsed = time.monotonic() - started
    final = dict(events)["final"]
    assert 'class="answer-error"' in final and expected in final, final
    # Plain words for the person who asked: no addresses or settings of the operator's.
    [message] = re.findall(r'<p class="answer-error">(.*?)</p>', final, re.S)
    assert not OPERATOR_DETAILS.search(message), message
    assert [name for name, _ in events][-1] == "done"
    row = await db.fetch_one("SELECT status, error FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert row["status"] == "error" and expected in row["error"]
    await settled(app, model)
    assert db.connections_in_use == 0
    figures.add("faults", handled=1)
    figures.at_least("faults", "slowest_ms", round(elapsed * 1000))


async def test_faults_in_the_middle_of_a_conversation_leave_the_next_question_working(
    app, visitor, model, db
):
    model.configure(drop_after=2)
    figures.add("faults", injected=1)
    response = await visitor.ask("first, dropped")
    first = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    await visitor.stream(first)
    model.reset()
    response = await visitor.ask("second, fine", 1)
    second = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    final = dict(await visitor.stream(second))["final"]
    assert "Hello! This is the fake model answering." in final and "answer-error" not in final
    statuses = [row["status"] for row in await db.fetch_all("SELECT status FROM exchanges ORDER BY id")]
    assert statuses == ["error", "done"]
    await settled(app, model)
    figures.add("faults", handled=1)


class BrokenModel:
    """A model whose stream fails in a way no model server reports: a defect, not a model error."""

    name = "broken"

    def warm(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def stream(self, messages, usage, pace=None, model=None, temperature=None):
        yield "A first word, then "
        raise RuntimeError("a defect in this app")


async def test_an_unexpected_failure_mid_answer_is_stored_as_an_error_the_person_reads(app, visitor, db):
    catalog = app.extensions["answers"].catalog
    catalog.models[catalog.default.server] = BrokenModel()
    response = await visitor.ask("what if the app itself fails?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    final = dict(await visitor.stream(exchange_id))["final"]
    assert f'<p class="answer-error">{messages.UNEXPECTED_IN_ANSWER}</p>' in final, final
    assert "A first word" in final
    row = await db.fetch_one("SELECT status, error FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert (row["status"], row["error"]) == ("error", messages.UNEXPECTED_IN_ANSWER)
