"""Two app instances over a real three-node Galera cluster behind HAProxy, with and without failures.

Twenty visitors ask three questions each: the page and the questions go to instance A,
the answers stream from instance B. In the control nothing fails; then a database node is
crashed under the load, and then an app instance. Every scenario checks what the visitors
saw, what each node stores, and that the nodes agree, and reports its figures.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster import figures
from tests.cluster.apps import ANSWER, Instances, ModelServer, start_instances
from tests.cluster.galera import Account, Cluster, Node, Rejoin
from tests.cluster.load import Chat, Load, words
from tests.cluster.processes import wait_for

VISITORS, CHATS = 20, 3
# The app's sweeper marks an answer nobody writes any more as interrupted after this long.
LEASE_SECONDS = 3
LIVE = ("pending", "streaming", "stopping")


@dataclass
class Deployment:
    """The cluster, the app's database on it, and the two instances using it."""

    cluster: Cluster
    account: Account
    apps: Instances
    model: ModelServer

    def load(self, **options: object) -> Load:
        return Load(self.apps.urls, visitors=VISITORS, chats=CHATS, **options)  # type: ignore[arg-type]


@pytest.fixture
def deployment(galera: Cluster, model_server: ModelServer, tmp_path: Path) -> Iterator[Deployment]:
    """A fresh database on the cluster and two instances over it, both reaching it through HAProxy."""
    model_server.reset()
    account = galera.create_database(f"answers_{secrets.token_hex(4)}")
    env = {
        "DATABASE_URL": galera.url(account),
        "SECRET_KEY": "shared-secret-key-of-both-instances",
        "LOG_LEVEL": "WARNING",
        # All the load comes from 127.0.0.1: per-address caps would refuse it.
        "ASK_RATE_LIMIT": "100000/minute",
        "MAX_STREAMS_PER_CLIENT": "100000",
        "ANSWER_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    with start_instances(tmp_path, model_server, env) as apps:
        yield Deployment(galera, account, apps, model_server)


@dataclass
class Stored:
    """The exchanges as each node holds them, read on each node itself, not through HAProxy."""

    rows: list[tuple[int, str, str, str]]
    per_node: dict[str, str]
    asked: list[str]  # the questions of rows stored by /ask (a Retry's version has no form key)

    @classmethod
    def read(cls, cluster: Cluster, database: str) -> Stored:
        per_node: dict[str, str] = {}
        rows: list[tuple[int, str, str, str]] = []
        asked: list[str] = []
        for node in cluster.nodes:
            # Causal reads: each node first applies every write committed anywhere before.
            found = node.query(
                f"SELECT id, question, status, COALESCE(answer, ''), ask_key IS NOT NULL"
                f" FROM `{database}`.exchanges ORDER BY id",
                causal=True,
            )
            digest = hashlib.sha256(repr([(row[0], row[2], row[3]) for row in found]).encode()).hexdigest()
            per_node[node.name] = f"{len(found)} rows, {digest[:12]}"
            rows = rows or [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in found]
            asked = asked or [str(r[1]) for r in found if r[4]]
        return cls(rows, per_node, asked)

    @property
    def whole(self) -> int:
        """Questions whose newest version is stored done and whole."""
        newest = {question: (status, answer) for _, question, status, answer in self.rows}
        return sum(status == "done" and words(answer) == ANSWER for status, answer in newest.values())

    @property
    def stuck(self) -> list[tuple[int, str, int]]:
        """(id, status, characters saved) of every answer still pending or streaming."""
        return [(id_, status, len(answer)) for id_, _, status, answer in self.rows if status in LIVE]

    @property
    def duplicates(self) -> int:
        """Questions /ask stored more than once (a Retry's new version is not one)."""
        return len(self.asked) - len(set(self.asked))

    @property
    def nodes_agree(self) -> bool:
        return len(set(self.per_node.values())) == 1

    def by_id(self) -> dict[int, tuple[str, str]]:
        return {id_: (status, answer) for id_, _, status, answer in self.rows}


@dataclass
class Tally:
    """What a scenario's visitors saw and what the cluster stored, as figures."""

    scenario: str
    chats: list[Chat]
    stored: Stored
    seconds: float

    @property
    def answered(self) -> int:
        return sum(chat.answered(ANSWER) for chat in self.chats)

    @property
    def ended(self) -> int:
        return sum(chat.done for chat in self.chats)

    def line(self) -> str:
        total = len(self.chats)
        return (
            f"{self.scenario}: chats answered {self.answered}/{total} (ended {self.ended}) / "
            f"stored whole {self.stored.whole}/{total} / stuck {len(self.stored.stuck)} / "
            f"duplicates {self.stored.duplicates} / "
            f"nodes agree {'yes' if self.stored.nodes_agree else 'NO'} / "
            f"{self.seconds:.1f} s (reconnects {sum(c.reconnects for c in self.chats)}, "
            f"questions resent {sum(c.resends for c in self.chats)}, "
            f"answers shown from the local spool {sum(c.spooled for c in self.chats)})"
        )

    def problems(self, limit: int = 6) -> str:
        """The commonest problems the visitors met, counted."""
        seen: dict[str, int] = {}
        for chat in self.chats:
            for problem in chat.problems:
                seen[problem] = seen.get(problem, 0) + 1
        common = sorted(seen.items(), key=lambda item: -item[1])[:limit]
        return "; ".join(f"{text}×{count}" for text, count in common) or "none"

    def report(self, deployment: Deployment, *extra: str) -> None:
        """Print the figures now and record them for the run's summary."""
        lines = [
            self.line(),
            *(f"  {line}" for line in extra),
            f"  visitors' problems: {self.problems()}",
            f"  {deployment.apps.log_findings().summary()}",
            f"  stuck rows (id, status, chars): {self.stored.stuck[:10] or 'none'}",
            f"  nodes: {self.stored.per_node}",
        ]
        print("\n".join(lines))
        figures.report(self.scenario, *lines)


def assert_nothing_lost(chats: list[Chat], stored: Stored) -> None:
    """Every chat answered whole to its visitor and stored once, done and whole, alike on every node."""
    unanswered = [
        (chat.exchange_id, chat.status, chat.problems) for chat in chats if not chat.answered(ANSWER)
    ]
    assert unanswered == []
    assert len(stored.rows) == VISITORS * CHATS and stored.duplicates == 0
    assert stored.whole == VISITORS * CHATS
    assert stored.stuck == []
    assert stored.nodes_agree, stored.per_node


def settle(deployment: Deployment) -> str:
    """Wait for the app's sweeper to end the answers nobody writes any more; say how long it took.

    Two lease periods are enough; a minute is waited, so that a busy machine makes it slower, not wrong.
    """
    started = time.monotonic()
    while Stored.read(deployment.cluster, deployment.account.database).stuck:
        if time.monotonic() - started > 60:
            return "the sweeper left answers live for a minute"
        time.sleep(0.1)
    return f"every live answer ended {time.monotonic() - started:.1f} s after the visitors were done"


def busiest_node(deployment: Deployment) -> tuple[Node, dict[str, int]]:
    """The node holding most of the app's sessions through HAProxy."""
    sessions = deployment.cluster.sessions_per_node(deployment.account.user)
    name = max(sessions, key=lambda node: sessions[node])
    return deployment.cluster.node_named(name), sessions


def test_control_every_chat_is_answered_and_stored_once(deployment: Deployment) -> None:
    load = deployment.load().start()
    chats = load.join()
    stored = Stored.read(deployment.cluster, deployment.account.database)
    tally = Tally("control", chats, stored, load.seconds)
    tally.report(deployment)

    assert_nothing_lost(chats, stored)


def test_node_kill_loses_nothing(deployment: Deployment) -> None:
    load = deployment.load().start()
    assert load.first_answer.wait(timeout=60), "no answer ever finished"
    victim, sessions = busiest_node(deployment)
    deployment.cluster.kill(victim)
    deployment.cluster.wait_evicted(victim)
    evicted = time.monotonic() - victim.killed_at
    deployment.cluster.restart(victim)
    rejoin = deployment.cluster.wait_rejoined(victim)
    chats = load.join()
    settled = settle(deployment)
    stored = Stored.read(deployment.cluster, deployment.account.database)
    tally = Tally("node kill", chats, stored, load.seconds)
    tally.report(deployment, describe_kill(victim, sessions, evicted, rejoin), settled)

    assert_nothing_lost(chats, stored)


def describe_kill(victim: Node, sessions: dict[str, int], evicted: float, rejoin: Rejoin) -> str:
    return (
        f"killed {victim.name} (app sessions per node {sessions}); "
        f"evicted by the others after {evicted:.1f} s, "
        f"Synced again by {rejoin.transfer} {rejoin.seconds:.1f} s after the kill"
    )


def test_app_kill_ends_every_chat(deployment: Deployment) -> None:
    # Slower answers (3.2 s): the crash must land mid-answer, after the text so far was saved once.
    deployment.model.configure(delay=0.08)
    load = deployment.load(retry_unfinished=True).start()
    saved = wait_for_saved_text(deployment, at_least=VISITORS // 2)
    deployment.apps.kill_b()
    chats = load.join()
    settled = settle(deployment)
    stored = Stored.read(deployment.cluster, deployment.account.database)
    tally = Tally("app kill", chats, stored, load.seconds)
    interrupted = [chat for chat in chats if chat.status == "interrupted"]
    retried = [chat.retry for chat in chats if chat.retry is not None]
    retried_whole = sum(retry.answered(ANSWER) for retry in retried)
    tally.report(
        deployment,
        f"killed instance B with {saved} answers streaming on it, text saved; "
        f"interrupted answers shown {len(interrupted)}, Retry pressed {len(retried)}, "
        f"Retry answered whole {retried_whole}; Retry problems: "
        f"{'; '.join(sorted({p for r in retried for p in r.problems})[:4]) or 'none'}",
        settled,
    )

    unended = [(chat.exchange_id, chat.problems) for chat in chats if not chat.done]
    assert unended == []
    assert stored.stuck == []
    rows = stored.by_id()
    for chat in interrupted:
        status, text = rows[chat.exchange_id]  # type: ignore[index]
        # The Retry may have replaced it since; otherwise the stored text is the part written
        # before the crash.
        assert status != "interrupted" or ANSWER.startswith(words(text)), (chat.exchange_id, text)
        assert ANSWER.startswith(chat.answer), (chat.exchange_id, chat.answer)
    assert interrupted and any(chat.answer for chat in interrupted), "no interrupted answer kept its text"
    assert retried and retried_whole == len(retried)
    assert stored.duplicates == 0
    assert stored.nodes_agree, stored.per_node


def wait_for_saved_text(deployment: Deployment, at_least: int) -> int:
    """Wait until that many answers are streaming with some text saved; return how many there are."""
    node = deployment.cluster.running_node()
    sql = (
        f"SELECT COUNT(*) FROM `{deployment.account.database}`.exchanges"
        " WHERE status = 'streaming' AND answer <> ''"
    )
    count = 0

    def enough() -> bool:
        nonlocal count
        count = int(node.query(sql, causal=True)[0][0])
        return count >= at_least

    wait_for(f"{at_least} answers with saved text", enough, timeout=60, interval=0.05)
    return count


def test_a_file_stored_through_one_instance_is_served_by_the_other_and_kept_on_every_node(
    deployment: Deployment,
) -> None:
    import httpx2

    from tests import samples
    from tests.conftest import CSRF

    first, second = deployment.apps.a, deployment.apps.b
    data = secrets.token_bytes(700_000).hex().encode()  # 1.4 MB of text: three chunks
    with httpx2.Client(timeout=30) as browser:
        token = CSRF.search(browser.get(f"{first.url}/").text).group(1)
        form = {"question": "Read this log", "conversation_id": "", "csrf_token": token}
        body, kind = samples.multipart(form, [("big.log", data)])
        asked = browser.post(
            f"{first.url}/ask",
            content=body,
            headers={"Content-Type": kind, "HX-Request": "true", "X-CSRF-Token": token},
        )
        assert asked.status_code == 200, asked.text
        address = re.search(r'href="(/files/\d+)"', asked.text).group(1)
        served = browser.get(f"{second.url}{address}")
        assert served.status_code == 200 and served.content == data
    database = deployment.account.database
    kept = {
        node.name: node.query(
            f"SELECT COUNT(*), SUM(LENGTH(data)), MD5(GROUP_CONCAT(MD5(data) ORDER BY seq))"
            f" FROM `{database}`.attachment_chunks",
            causal=True,
        )[0]
        for node in deployment.cluster.nodes
    }
    print(f"galera figures: a file of {len(data):,} bytes in chunks, per node {kept}")
    assert len(set(kept.values())) == 1
    assert next(iter(kept.values()))[:2] == (3, len(data))
