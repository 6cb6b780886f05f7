"""Nothing stuck, nothing lost: leases, the sweeper, claims settled by token, retries on a new connection.

The tests sweep by hand: the app's own sweeper does not run beside them, and the length of a
pass is read from a clock held still (a slow pass on a busy machine would count as a stall).
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

import pymysql
import pytest

from app.answers.sweeping import Sweeper
from app.storage import CommitUnknown, DatabaseUnavailable, conversations, exchanges
from app.storage.dialects import utc_in
from app.storage.mysql import is_unavailable
from tests.conftest import Visitor, parse_events
from tests.mysql_server import connect
from tests.waiting import PATIENCE, until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
LEASE = 1.0

pytestmark = pytest.mark.settings(answer_lease_seconds=LEASE)


@pytest.fixture(autouse=True)
def no_background_sweeping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's sweeper sweeps only when a test says (set before the app starts)."""

    async def idle(self: Sweeper) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(Sweeper, "keep_sweeping", idle)


@pytest.fixture
def sweeper(app) -> Sweeper:
    """The app's sweeper, its passes never taken for a stall."""
    sweeper = app.extensions["answers"].sweeper
    sweeper.clock = lambda: 0.0
    return sweeper


async def owner_of(visitor: Visitor) -> str:
    async with visitor.client.session_transaction() as session:
        return session["owner"]


async def stored_question(
    visitor: Visitor, db, question: str = "asked of a process that died", claim_within: float = LEASE
) -> tuple[str, int]:
    owner = await owner_of(visitor)
    conversation_id = await conversations.create(db, owner, "a chat")
    created = await exchanges.create(db, conversation_id, owner, question, claim_within=claim_within)
    return owner, created["id"]


async def sweep_twice(sweeper: Sweeper) -> None:
    """Sweep as the app does: a lease counts once it lapsed before the previous sweep."""
    await sweeper.sweep()
    await sweeper.sweep()


async def read_until(connection, marker: bytes) -> bytes:
    """An event stream's bytes, read until `marker` arrives."""
    received = b""
    while marker not in received:
        received += await asyncio.wait_for(connection.receive(), PATIENCE)
    return received


async def row(db, exchange_id: int) -> dict:
    return await db.fetch_one("SELECT * FROM exchanges WHERE id = :id", {"id": exchange_id})


async def test_an_answer_whose_process_died_is_finished_as_interrupted_and_can_be_retried(
    visitor, sweeper, db, model
):
    owner, exchange_id = await stored_question(visitor, db)
    assert await exchanges.claim(db, exchange_id, "a-process-that-died", utc_in(LEASE))
    assert await exchanges.renew(db, exchange_id, "a-process-that-died", utc_in(-0.1), "The first words")
    await sweep_twice(sweeper)
    swept = await row(db, exchange_id)
    assert (swept["status"], swept["answer"]) == ("interrupted", "The first words")
    events = await visitor.stream(exchange_id)
    final = dict(events)["final"]
    assert "The first words" in final and "interrupted" in final and ">Retry</button>" in final
    retried = await visitor.client.post(
        f"/answers/{exchange_id}/regenerate", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    )
    assert retried.status_code == 200
    # Retried as a new version beside the interrupted one.
    again = int(
        re.search(r'sse-connect="/answers/(\d+)/stream', await retried.get_data(as_text=True)).group(1)
    )
    assert "Hello! This is the fake model answering." in dict(await visitor.stream(again))["final"]
    assert (await row(db, exchange_id))["status"] == "interrupted"


async def test_a_stop_asked_of_a_process_that_died_ends_as_stopped(visitor, sweeper, db):
    owner, exchange_id = await stored_question(visitor, db)
    assert await exchanges.claim(db, exchange_id, "a-process-that-died", utc_in(-0.1))
    await exchanges.request_stop(db, exchange_id, owner)
    await sweep_twice(sweeper)
    assert (await row(db, exchange_id))["status"] == "stopped"


async def test_a_stream_following_an_answer_elsewhere_ends_when_its_process_dies(visitor, sweeper, db):
    owner, exchange_id = await stored_question(visitor, db)
    assert await exchanges.claim(db, exchange_id, "a-process-about-to-die", utc_in(LEASE))
    # Its last renewal: the lease it took then lapses with nobody renewing it.
    await exchanges.renew(db, exchange_id, "a-process-about-to-die", utc_in(-0.1), "So far")
    async with visitor.client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = await read_until(connection, b"So far")
        await sweep_twice(sweeper)
        received += await read_until(connection, b"event: done")
    final = dict(parse_events(received.decode()))["final"]
    assert "So far" in final and "interrupted" in final


async def test_a_question_nobody_claimed_is_answered_by_the_sweeper(visitor, sweeper, db, model):
    owner, exchange_id = await stored_question(
        visitor, db, "asked while the stream could not start", claim_within=-LEASE
    )
    await sweep_twice(sweeper)

    async def answered() -> dict | None:
        found = await row(db, exchange_id)
        return found if found["status"] == "done" else None

    answer = (await until(answered, "the question answered"))["answer"]
    assert answer == "Hello! This is the fake model answering."
    assert model.requests[-1]["messages"][-1]["content"] == "asked while the stream could not start"


async def test_a_lease_that_lapsed_while_nobody_could_reach_the_database_is_not_swept(
    visitor, sweeper, db, outage
):
    # A Galera node's death stalls every instance for longer than a short lease: no process
    # could renew meanwhile, so a live answer must not be taken for lost once it is back.
    owner, exchange_id = await stored_question(visitor, db)
    await sweeper.sweep()
    # The lease lapses as the last calm pass began: by the next pass it would count.
    assert await exchanges.claim(db, exchange_id, "a-live-process", sweeper.reached)
    outage.down = True
    with pytest.raises(DatabaseUnavailable):
        await sweeper.sweep()
    outage.down = False
    # Two calm passes give a live process time to renew on a new connection.
    for _ in range(2):
        await sweeper.sweep()
        assert (await row(db, exchange_id))["status"] == "streaming"
    # Still not renewed after them: now its process is taken for gone.
    await sweeper.sweep()
    assert (await row(db, exchange_id))["status"] == "interrupted"


class Stall:
    """A clock by which the sweeper's next pass lasts as long as a Galera eviction (and raises nothing)."""

    def __init__(self, seconds: float) -> None:
        self.readings = iter([0.0, seconds])

    def __call__(self) -> float:
        return next(self.readings, 0.0)


async def test_a_lease_that_lapsed_while_the_database_stalled_is_not_swept(visitor, sweeper, db):
    # A dying Galera node stalls its peers without an error: the sweeper's pass and the
    # writers' renewals wait alike, and the writers whose connection went down with the node
    # renew on a new one only once it is over. The pass after the stall must not race them.
    owner, exchange_id = await stored_question(visitor, db)
    await sweeper.sweep()
    # The lease lapses during the stall: as the last calm pass began, not before it.
    assert await exchanges.claim(db, exchange_id, "a-live-process", sweeper.reached)
    sweeper.clock = Stall(seconds=30)
    await sweeper.sweep()
    for _ in range(2):
        await sweeper.sweep()
        assert (await row(db, exchange_id))["status"] == "streaming"
    await sweeper.sweep()
    assert (await row(db, exchange_id))["status"] == "interrupted"


async def test_a_running_answer_renews_its_lease_and_is_not_swept(visitor, sweeper, db, model):
    model.configure(tokens=60, delay=0.05)
    response = await visitor.ask("a long answer")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    streaming = asyncio.create_task(visitor.stream(exchange_id))
    # Three seconds of answer against a lease of one: swept in between unless it is renewed.
    for _ in range(4):
        await asyncio.sleep(LEASE / 2)
        await sweeper.sweep()
    events = await streaming
    assert "w59" in dict(events)["final"]
    assert (await row(db, exchange_id))["status"] == "done"


class LostCommitReply:
    """A database whose next transaction's commit reply is lost, after the commit landed or before."""

    def __init__(self, db, landed: bool) -> None:
        self.db = db
        self.landed = landed
        self.armed = True

    def __getattr__(self, name: str):
        return getattr(self.db, name)

    @asynccontextmanager
    async def transaction(self, fresh: bool = False):
        if not self.armed:
            async with self.db.transaction(fresh) as tx:
                yield tx
            return
        self.armed = False
        if not self.landed:
            async with self.db.transaction(fresh) as tx:
                yield tx
                raise _RolledBack
        async with self.db.transaction(fresh) as tx:
            yield tx
        raise CommitUnknown("the commit's reply was lost")

    async def transact(self, work, *, idempotent: bool = False):
        try:
            return await type(self.db).transact(self, work, idempotent=idempotent)
        except _RolledBack:
            raise CommitUnknown("the commit's reply was lost") from None


class _RolledBack(Exception):
    pass


@pytest.mark.parametrize("landed", [True, False])
async def test_a_claim_whose_commit_reply_was_lost_is_settled_by_reading_who_holds_it(
    visitor, app, db, landed
):
    owner, exchange_id = await stored_question(visitor, db)
    answers = app.extensions["answers"]
    answers.db = LostCommitReply(db, landed)
    claimed = await answers.claim(await exchanges.get(db, exchange_id, owner))
    answers.db = db
    stored = await row(db, exchange_id)
    if landed:
        assert claimed is not None and stored["lease_owner"] == claimed[1] and stored["status"] == "streaming"
    else:
        # Not answered on a guess: it stays pending, and the sweeper or the next stream answers it.
        assert claimed is None and stored["status"] == "pending"


async def test_a_stored_answer_is_shown_even_when_its_last_read_fails(visitor, app, db, outage):
    response = await visitor.ask("answered, then the database went away")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)
    outage.down = True
    shown = await app.extensions["answers"].following.outcome(await owner_of(visitor), exchange_id)
    assert shown["answer"] == "Hello! This is the fake model answering." and shown["status"] == "done"
    with pytest.raises(DatabaseUnavailable):
        await app.extensions["answers"].following.outcome("someone else", exchange_id)


async def test_a_stream_following_an_answer_elsewhere_rides_out_a_database_outage(visitor, db, outage):
    # A Galera node's death stalls reads for several seconds, longer than a lease: the
    # stream waits, and shows the answer once it is stored, never "the database is away".
    owner, exchange_id = await stored_question(visitor, db)
    assert await exchanges.claim(db, exchange_id, "another-process", utc_in(60))
    await exchanges.renew(db, exchange_id, "another-process", utc_in(60), "So far")
    async with visitor.client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = await read_until(connection, b"So far")
        outage.down = True
        await asyncio.sleep(2 * LEASE)
        outage.down = False
        outcome = exchanges.Outcome(answer="So far, and the rest.", status="done", model="elsewhere")
        await exchanges.finish(db, exchange_id, outcome, "another-process")
        received += await read_until(connection, b"event: done")
    final = dict(parse_events(received.decode()))["final"]
    assert "So far, and the rest." in final and "not answering" not in final


async def test_a_follow_up_whose_versions_cannot_be_read_at_its_end_waits_for_the_database(
    visitor, db, monkeypatch
):
    # A Galera node dying just as a follow-up's answer ends: its versions, read last, wait for the
    # database like every other read, rather than show a stored answer as one it could not give.
    first = int(EXCHANGE_ID.search(await (await visitor.ask("first")).get_data(as_text=True)).group(1))
    await visitor.stream(first)
    response = await visitor.ask("and then?", conversation_id=1)
    second = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    read_versions = exchanges.versions
    failures = iter([DatabaseUnavailable("the node holding the session died")])

    async def versions_after_a_failure(*args, **kwargs):
        if (failure := next(failures, None)) is not None:
            raise failure
        return await read_versions(*args, **kwargs)

    monkeypatch.setattr(exchanges, "versions", versions_after_a_failure)
    final = dict(await visitor.stream(second))["final"]
    assert "Hello! This is the fake model answering." in final and "not answering" not in final
    assert next(failures, None) is None


@pytest.mark.parametrize("code", [1047, 1180, 1205, 1213, 2006, 2013, 1053, 1927])
def test_cluster_and_connection_errors_are_taken_for_an_unavailable_database(code):
    assert is_unavailable(pymysql.err.OperationalError(code, "from the server"))


def test_query_errors_are_not_taken_for_an_unavailable_database():
    assert not is_unavailable(pymysql.err.ProgrammingError(1064, "You have an error in your SQL syntax"))
    assert not is_unavailable(pymysql.err.IntegrityError(1062, "Duplicate entry"))


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
async def test_a_statement_whose_connection_died_is_run_again_on_a_new_one(db, mysql):
    victim = (await db.fetch_one("SELECT CONNECTION_ID() AS id"))["id"]
    killer = connect(mysql.url)
    with killer.cursor() as cursor:
        cursor.execute(f"KILL CONNECTION {int(victim)}")
    killer.close()
    again = await db.fetch_one("SELECT CONNECTION_ID() AS id")
    assert again is not None and again["id"] != victim


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
async def test_a_question_asked_on_a_dead_connection_is_stored_once(visitor, db, mysql):
    victim = (await db.fetch_one("SELECT CONNECTION_ID() AS id"))["id"]
    killer = connect(mysql.url)
    with killer.cursor() as cursor:
        cursor.execute(f"KILL CONNECTION {int(victim)}")
    killer.close()
    response = await visitor.ask("asked just as the node died")
    assert response.status_code == 200
    assert len(await db.fetch_all("SELECT id FROM exchanges")) == 1
