"""Password checks cost an argon2 hash each: wrong current passwords are limited per account and
audited, and the checks running at once are bounded app-wide."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.config import Rate
from app.people import passwords
from tests import test_accounts
from tests.test_accounts import PASSWORD, csrf_of, person, sign_in

admin = test_accounts.admin  # the first account, which is an admin
NEW = "a much better password"


class CountingHasher:
    """argon2's hasher, counting the checks it is asked for."""

    def __init__(self, real) -> None:
        self.real = real
        self.checks = 0

    def verify(self, stored: str, password: str) -> bool:
        self.checks += 1
        return self.real.verify(stored, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


async def change(browser, current: str, new: str = NEW):
    token = await csrf_of(browser, "/account")
    return await browser.post(
        "/account/password", form={"current": current, "password": new, "again": new, "csrf_token": token}
    )


@pytest.mark.settings(
    sign_in="accounts", sign_up="invite", login_rate=Rate(1000, 60), login_account_rate=Rate(3, 900)
)
async def test_wrong_current_passwords_are_limited_per_account_and_audited(app, admin, db, monkeypatch):
    bob = await person(app, admin, "bob")
    phone = app.test_client()
    await sign_in(phone, "bob")
    for browser in (bob, phone, bob):
        wrong = await change(browser, "a guess at bob's password")
        assert wrong.status_code == 422
        assert "Your current password is not right." in await wrong.get_data(as_text=True)
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    # The next one is refused before any check, from any of the account's browsers, even when right.
    for browser in (bob, phone):
        refused = await change(browser, PASSWORD)
        assert refused.status_code == 429
        page = await refused.get_data(as_text=True)
        assert "Too many wrong current passwords for this account." in page
    assert hasher.checks == 0
    assert (await sign_in(app.test_client(), "bob")).status_code == 303
    rows = await db.fetch_all(
        "SELECT subject, address, actor_id FROM audit WHERE action = 'password change failed'"
    )
    bob_id = (await db.fetch_one("SELECT id FROM users WHERE username = 'bob'"))["id"]
    assert len(rows) == 3 and all(row["subject"] == "bob" and row["actor_id"] == bob_id for row in rows)
    assert all(row["address"] for row in rows)
    trail = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert trail.count("password change failed") == 3


def test_argon2_checks_at_once_are_sized_from_the_cores():
    assert [passwords.checks_at_once(cores) for cores in (None, 1, 2, 3, 8, 64)] == [1, 1, 1, 1, 4, 32]
    assert passwords.CHECKS_AT_ONCE == passwords.checks_at_once(passwords.CORES)


async def test_argon2_checks_beyond_the_bound_wait_their_turn(monkeypatch):
    bound = passwords.CHECKS_AT_ONCE
    running, peak, threads = 0, 0, set()
    lock, started, gate = threading.Lock(), threading.Semaphore(0), threading.Event()

    class Hasher:
        def verify(self, stored: str, password: str) -> bool:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
                threads.add(threading.current_thread().name)
            started.release()
            gate.wait(30)
            with lock:
                running -= 1
            return True

    monkeypatch.setattr(passwords, "_hasher", Hasher())
    checks = [asyncio.create_task(passwords.verify("stored", "guess")) for _ in range(3 * bound + 2)]
    for _ in range(bound):
        assert await asyncio.to_thread(started.acquire, True, 30)
    # The bound's worth are running; every other check waits for one of their threads.
    assert not started.acquire(blocking=False)
    gate.set()
    assert await asyncio.gather(*checks) == [True] * len(checks)
    assert peak == bound
    assert all(name.startswith("argon2") for name in threads)


async def test_the_stand_in_for_a_missing_account_is_hashed_once_on_its_first_check(monkeypatch):
    """Starting a process hashes nothing: the stand-in is made when a missing name is first checked."""

    class Hasher(CountingHasher):
        hashes = 0

        def hash(self, password: str) -> str:
            self.hashes += 1
            return super().hash(password)

    hasher = Hasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_STAND_IN", None)
    assert [await passwords.verify(None, "a guess") for _ in range(3)] == [False] * 3
    assert (hasher.hashes, hasher.checks) == (1, 3)
