"""Webhooks: events signed in the Standard Webhooks format, kept in an outbox written with what they
report, and delivered to each endpoint in order, retried for 24 hours (on an injected clock), then dead."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from quart import Quart

from app.config import Config, ConfigError
from app.storage import Database, Spool, audit, conversations, exchanges, outbox, users
from app.storage.dialects import TIME_FORMAT, utc_in, utcnow
from app.storage.exchanges import Outcome
from app.webhooks import Deliverer, signing
from tests.conftest import Visitor
from tests.test_access import signed_up
from tests.webhook_receiver import FAIL, HANG, REDIRECT, Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Clock:
    """A clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def hooked(config: Config, receiver: Receiver, **more: object) -> Config:
    """The app's settings with the receiver as every event's endpoint."""
    return dataclasses.replace(
        config,
        webhook_urls=(receiver.url,),
        webhook_secret=SECRET,
        webhook_allow_private=True,
        webhook_timeout=0.5,
        webhook_retry_seconds=5.0,
        **more,
    )


@pytest.fixture
async def deliverer(app: Quart, db: Database, receiver: Receiver) -> AsyncIterator[Deliverer]:
    """A deliverer over the app's database on a still clock, sending to the receiver; it sends when told."""
    deliverer = Deliverer(db, hooked(app.config["ANSWERS"], receiver), clock=Clock(), jitter=lambda: 1.0)
    await deliverer.start(keep_delivering=False)
    yield deliverer
    await deliverer.close()


async def add(db: Database, number: int) -> str:
    """An event added at the still clock's time (the app's own events carry the real time)."""
    return await outbox.add(db, "exchange.finished", {"n": number}, at=NOW.strftime(TIME_FORMAT))


# The signature


def test_the_signature_is_the_standard_webhooks_example_vector():
    # The example of the Standard Webhooks reference libraries.
    body = '{"test": 2432232314}'
    signature = signing.sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = signing.headers(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signing.verify(SECRET, headers, body)
    assert not signing.verify(SECRET, headers, body.replace("2", "3"))


# Start-up refusals

ENV = {"SECRET_KEY": "x" * 32, "WEBHOOK_SECRET": SECRET}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:5000/hook", "this app itself"),
        ("http://localhost:5000/hook", "this app itself"),
        ("http://[::1]:5000/", "this app itself"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("http://10.1.2.3/hook", "private"),
        ("http://127.0.0.1:9999/hook", "this machine"),
    ],
)
def test_urls_at_the_app_itself_metadata_or_private_addresses_are_refused_at_start_up(
    tmp_path: Path, url, why
):
    env = ENV | {"INSTANCE_PATH": str(tmp_path), "WEBHOOK_URLS_ADMIN_ACTION": url}
    with pytest.raises(ConfigError, match=why) as refused:
        Config.from_env(env)
    assert "WEBHOOK_ALLOW_PRIVATE=true" in str(refused.value)
    # A token in the URL's path is not repeated in the message.
    allowed = Config.from_env(env | {"WEBHOOK_ALLOW_PRIVATE": "true"})
    assert allowed.webhook_routes["admin.action"] == (url,)


def test_webhooks_need_a_secret_and_a_public_url_is_taken(tmp_path: Path):
    env = {
        "SECRET_KEY": "x" * 32,
        "INSTANCE_PATH": str(tmp_path),
        "WEBHOOK_URLS": "https://siem.example.com/in?t=s3",
    }
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        Config.from_env(env)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET: must be whsec_"):
        Config.from_env(env | {"WEBHOOK_SECRET": "not-a-secret"})
    config = Config.from_env(env | ENV)
    assert config.webhook_routes["exchange.finished"] == ("https://siem.example.com/in?t=s3",)
    assert "s3" not in repr(config)


# Delivery


async def test_events_reach_the_endpoint_signed_in_order_once(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    ids = [await add(db, number) for number in range(5)]
    assert await deliverer.deliver() == 5
    assert receiver.taken_ids() == ids
    first = receiver.received[0]
    assert signing.verify(SECRET, first.headers, first.body)
    assert first.headers["webhook-timestamp"] == str(int(deliverer.clock().timestamp()))
    event = json.loads(first.body)
    assert event["type"] == "exchange.finished" and event["data"] == {"n": 0}
    assert await deliverer.deliver() == 0
    assert len(receiver.received) == 5


async def test_a_failing_event_holds_its_line_and_is_retried_later_and_later(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    clock = deliverer.clock
    assert isinstance(clock, Clock)
    ids = [await add(db, number) for number in range(3)]
    receiver.then(FAIL, FAIL)
    assert await deliverer.deliver() == 0
    assert receiver.taken_ids() == []
    # Not yet due: nothing is sent, and the events behind it wait.
    clock.advance(seconds=4)
    assert await deliverer.deliver() == 0
    assert len(receiver.received) == 1
    clock.advance(seconds=1)
    assert await deliverer.deliver() == 0
    assert len(receiver.received) == 2
    # Twice as long after the second failure (jitter held at its longest).
    clock.advance(seconds=9)
    assert await deliverer.deliver() == 0
    clock.advance(seconds=1)
    assert await deliverer.deliver() == 3
    assert receiver.taken_ids() == ids
    assert {request.headers["webhook-id"] for request in receiver.received[:3]} == {ids[0]}


async def test_an_event_failing_for_24_hours_is_dead_shown_to_admins_and_sent_again(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    clock = deliverer.clock
    assert isinstance(clock, Clock)
    dead, after = await add(db, 1), await add(db, 2)
    receiver.then(*[FAIL] * 100)
    tries = 0
    while not await db.fetch_one("SELECT 1 AS dead FROM webhook_outbox WHERE state = 'dead'"):
        await deliverer.deliver()
        clock.advance(hours=1)
        tries += 1
        assert tries < 40
    # Backing off from 5 s to an hour at most, for 24 hours; then the line moves on.
    sent = [request.headers["webhook-id"] for request in receiver.received]
    assert 20 < sent.count(dead) < 40 and sent[-1] == after
    rows = await outbox.waiting(db, 10)
    assert [(row["event_id"], row["state"]) for row in rows] == [(dead, "dead"), (after, "pending")]
    assert rows[0]["last_error"] == "HTTP 500"
    receiver.answers.clear()
    # The event behind the dead one has its own 24 hours; the dead one goes out again when asked.
    clock.advance(seconds=10)
    await deliverer.deliver()
    assert receiver.taken_ids() == [after]
    assert await outbox.send_again(db, clock(), row_id=rows[0]["id"]) == 1
    await deliverer.deliver()
    assert receiver.taken_ids() == [after, dead]


async def test_a_redirect_is_not_followed(db: Database, deliverer: Deliverer, receiver: Receiver):
    await add(db, 1)
    receiver.then(REDIRECT)
    assert await deliverer.deliver() == 0
    assert [request.path for request in receiver.received] == ["/hook"]
    row = await db.fetch_one("SELECT state, last_error FROM webhook_outbox")
    assert row == {"state": "pending", "last_error": "HTTP 302: redirects are not followed"}


async def test_a_receiver_that_hangs_costs_one_timeout(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    await add(db, 1)
    receiver.then(HANG)
    assert await deliverer.deliver() == 0
    row = await db.fetch_one("SELECT state, attempts, last_error FROM webhook_outbox")
    assert row == {"state": "pending", "attempts": 1, "last_error": "no reply within 0.5 s"}
    deliverer.clock.advance(seconds=5)  # type: ignore[attr-defined]
    assert await deliverer.deliver() == 1


async def test_a_lease_left_by_a_dead_instance_is_taken_over_once_it_lapses(
    app: Quart, db: Database, deliverer: Deliverer, receiver: Receiver
):
    clock = deliverer.clock
    assert isinstance(clock, Clock)
    event = await add(db, 1)
    # Another instance took the endpoint's lease, then died (kill -9) without sending or giving it back.
    dead = Deliverer(db, deliverer.config, clock=clock)
    endpoint = next(iter(deliverer.endpoints))
    assert await outbox.claim(db, endpoint, dead.owner, clock(), clock() + dead.lease)
    assert await deliverer.deliver() == 0
    assert receiver.received == []
    clock.advance(seconds=dead.lease.total_seconds() + 1)
    assert await deliverer.deliver() == 1
    assert receiver.taken_ids() == [event]
    # Had the dead instance been sending, its late report changes nothing.
    assert not await outbox.mark_sent(db, 1, dead.owner, clock())


async def test_one_event_is_never_sent_twice_at_once(db: Database, deliverer: Deliverer, receiver: Receiver):
    await add(db, 1)
    other = Deliverer(db, deliverer.config, clock=deliverer.clock)
    await other.start(keep_delivering=False)
    try:
        receiver.then(HANG)
        sent = await asyncio.gather(deliverer.deliver(), other.deliver())
        assert sent == [0, 0]
        assert len(receiver.received) == 1
    finally:
        await other.close()


# Events written with what they report


async def test_a_finished_answer_adds_its_event_in_the_same_write(
    app: Quart, db: Database, visitor: Visitor, deliverer: Deliverer, receiver: Receiver
):
    asked = await visitor.ask("What is an outbox?", htmx=False)
    assert asked.status_code == 303
    await deliverer.deliver()
    [event] = [json.loads(request.body) for request in receiver.received]
    assert event["type"] == "exchange.finished"
    data = event["data"]
    exchange = await db.fetch_one("SELECT id, conversation_id, owner, answer FROM exchanges")
    assert data["exchange_id"] == exchange["id"] and data["conversation_id"] == exchange["conversation_id"]
    assert data["question"] == "What is an outbox?" and data["answer"] == exchange["answer"]
    assert data["status"] == "done" and data["source"] == "web" and data["model"] == "fake-model"
    assert data["person"]["owner"] == exchange["owner"]
    assert data["tokens"]["prompt"] > 0 and data["asked_at"].endswith("Z") and data["answered_at"]


async def test_a_spooled_outcome_brings_its_event_when_replayed_once(
    app: Quart, db: Database, deliverer: Deliverer, receiver: Receiver, tmp_path: Path
):
    conversation_id = await conversations.create(db, "o", "t")
    exchange_id = (await exchanges.create(db, conversation_id, "o", "kept?"))["id"]
    row = await db.fetch_one(f"SELECT {exchanges.SELECT} FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert row is not None
    event = exchanges.finished_event(row)
    spool = Spool(tmp_path / "another-spool", db, retry_for=0)
    # The database is away when the answer ends: the outcome and its event wait in the spool.
    params = {
        "id": exchange_id,
        "token": None,
        **dataclasses.asdict(Outcome("yes", "done", "m")),
        "event": event,
    }
    record = {"kind": "finish", "key": f"finish:{exchange_id}", "params": params}
    spool._append(json.dumps(record))
    assert await spool.replay() == 1
    # A replay cut short after its write landed applies the record again: still one event.
    spool._append(json.dumps(record))
    assert await spool.replay() == 1
    await deliverer.deliver()
    [sent] = [json.loads(request.body) for request in receiver.received]
    assert sent["data"]["answer"] == "yes" and sent["data"]["exchange_id"] == exchange_id
    assert receiver.taken_ids() == [event["event_id"]]


async def test_what_an_admin_writes_to_the_audit_trail_is_an_event(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    admin = await users.create_account(db, "root", "hash", "admin")
    person = await users.create_account(db, "pat", "hash", "user")
    await audit.record(db, "disabled", actor_id=admin["id"], subject="pat", address="10.0.0.1")
    await audit.record(db, audit.SIGNED_IN, actor_id=person["id"], subject="pat")
    await audit.record(db, audit.SIGN_IN_FAILED, subject="nobody")
    await deliverer.deliver()
    [event] = [json.loads(request.body) for request in receiver.received]
    assert event["type"] == "admin.action"
    assert event["data"] | {"at": None} == {
        "action": "disabled",
        "admin": {"id": admin["id"], "name": "root"},
        "subject": "pat",
        "address": "10.0.0.1",
        "detail": "",
        "at": None,
    }


async def test_feedback_given_changed_and_removed_are_events_in_order(
    db: Database, visitor: Visitor, deliverer: Deliverer, receiver: Receiver
):
    assert (await visitor.ask("Was this any good?", htmx=False)).status_code == 303
    exchange = await db.fetch_one("SELECT id, owner FROM exchanges")
    address = f"/answers/{exchange['id']}/feedback"
    for form in ({"rating": "up"}, {"rating": "down", "comment": "It <b>missed</b> the point."}):
        given = await visitor.client.post(address, form=form | {"csrf_token": visitor.csrf})
        assert given.status_code == 303
    removed = await visitor.client.post(f"{address}/delete", form={"csrf_token": visitor.csrf})
    assert removed.status_code == 303
    await deliverer.deliver()
    sent = [json.loads(request.body) for request in receiver.received]
    given_events = [event["data"] for event in sent if event["type"] == "feedback.given"]
    assert [(data["rating"], data["comment"]) for data in given_events] == [
        ("up", None),
        ("down", "It <b>missed</b> the point."),
        (None, None),
    ]
    assert {data["exchange_id"] for data in given_events} == {exchange["id"]}
    assert {data["person"]["owner"] for data in given_events} == {exchange["owner"]}
    assert all(data["model"] == "fake-model" and data["at"].endswith("Z") for data in given_events)


async def test_an_answer_swept_then_stored_by_its_run_is_reported_again_with_its_stored_end(
    db: Database, deliverer: Deliverer, receiver: Receiver
):
    conversation_id = await conversations.create(db, "someone", "a chat")
    exchange = await exchanges.create(db, conversation_id, "someone", "asked of a paused process")
    assert await exchanges.claim(db, exchange["id"], "a-paused-run", utc_in(-1))
    # Its lease lapsed while its process was paused: the sweeper takes it for dead...
    assert [ended["id"] for ended in await exchanges.sweep(db, utcnow())] == [exchange["id"]]
    # ...and the process, alive after all, then stores the answer's real end.
    outcome = Outcome(answer="All of it.", status="done", model="fake-model")
    event = exchanges.finished_event(exchange)
    await exchanges.finish(db, exchange["id"], outcome, token="a-paused-run", event=event)
    await deliverer.deliver()
    sent = [json.loads(request.body) for request in receiver.received]
    finished = [(event["data"]["exchange_id"], event["data"]["status"]) for event in sent]
    assert finished == [(exchange["id"], "interrupted"), (exchange["id"], "done")]
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 2
    assert (await exchanges.get(db, exchange["id"], "someone"))["answer"] == "All of it."


async def test_without_webhooks_nothing_is_added(db: Database):
    await outbox.add(db, "exchange.finished", {"n": 1})
    assert await db.fetch_all("SELECT id FROM webhook_outbox") == []


# The admins' page


@pytest.mark.settings(sign_in="accounts", sign_up="open")
async def test_admins_see_dead_and_waiting_events_and_send_a_dead_one_again(
    app: Quart, db: Database, deliverer: Deliverer, receiver: Receiver
):
    admin, person = app.test_client(), app.test_client()
    admin_token = await signed_up(admin, "ada")
    person_token = await signed_up(person, "pat")
    endpoint = next(iter(deliverer.endpoints))
    dead, waiting = await add(db, 1), await add(db, 2)
    await db.execute(
        "UPDATE webhook_outbox SET state = 'dead', last_error = 'HTTP 500' WHERE event_id = :e", {"e": dead}
    )
    # The page's deliverer is the app's own, which has no endpoint: these show by their digest.
    page = await (await admin.get("/admin/events")).get_data(as_text=True)
    assert dead in page and waiting in page and "HTTP 500" in page and "Send again" in page
    # Waiting: the event added here, and the admin's sign-up, an admin action of its own.
    assert "0 sent · 2 waiting · 1 dead" in " ".join(page.split())
    row_id = (await db.fetch_one("SELECT id FROM webhook_outbox WHERE event_id = :e", {"e": dead}))["id"]
    assert (await person.get("/admin/events")).status_code == 404
    refused = await person.post(f"/admin/events/{row_id}/again", form={"csrf_token": person_token})
    assert refused.status_code == 404
    assert (await admin.post(f"/admin/events/{row_id}/again", form={})).status_code in (400, 403)
    again = await admin.post(f"/admin/events/{row_id}/again", form={"csrf_token": admin_token})
    assert again.status_code == 303 and again.headers["Location"] == "/admin/events"
    assert (
        await admin.post(f"/admin/events/{row_id}/again", form={"csrf_token": admin_token})
    ).status_code == 404
    deliverer.clock.advance(seconds=1)  # type: ignore[attr-defined]
    await deliverer.deliver()
    assert [sent for sent in receiver.taken_ids() if sent in (dead, waiting)] == [dead, waiting]
    # Sending again is an admin action: audited, and so an event of its own.
    assert await db.fetch_one("SELECT subject FROM audit WHERE action = 'sent an event again'") == {
        "subject": dead
    }
    actions = [json.loads(request.body)["data"].get("action") for request in receiver.received]
    assert actions.count("sent an event again") == 1 and "signed up" in actions
    assert endpoint in deliverer.endpoints
