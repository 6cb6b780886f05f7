"""Strangers cannot lock a person out: failed sign-ins are limited per name and address, a name tried from
many addresses slows down instead of locking, and an address that signed in before still gets in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.config import Rate
from app.people import throttle
from tests.test_accounts import PASSWORD, TOKENS, csrf_of

throttled = pytest.mark.settings(
    sign_in="accounts", sign_up="open", login_rate=Rate(1000, 60), login_account_rate=Rate(3, 900)
)
HOME, NEW_PLACE = "192.0.2.10", "192.0.2.99"


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(throttle, "clock", clock)
    return clock


async def sign_in_from(app, address: str, name: str = "ada", password: str = PASSWORD):
    browser = app.test_client()
    scope = {"client": (address, 4000)}
    token = await csrf_of(browser, "/login")
    return await browser.post(
        "/login",
        form={"username": name, "password": password, "csrf_token": token, "next": "/"},
        scope_base=scope,
    )


def wait_of(response) -> int:
    assert response.status_code == 429
    return int(response.headers["Retry-After"])


@pytest.fixture
async def ada(app):
    """Ada's account, signed in once from home."""
    browser = app.test_client()
    token = await csrf_of(browser, "/login")
    form = {"username": "ada", "password": PASSWORD, "again": PASSWORD, "csrf_token": token}
    assert (await browser.post("/signup", form=form)).status_code == 303
    assert (await sign_in_from(app, HOME)).status_code == 303


@throttled
async def test_guesses_from_one_address_lock_that_address_out_of_that_name_only(app, ada, clock):
    for _ in range(3):
        assert (await sign_in_from(app, "203.0.113.5", password="guess")).status_code == 401
    refused = await sign_in_from(app, "203.0.113.5")
    assert wait_of(refused) == 900
    page = await refused.get_data(as_text=True)
    assert "Too many failed sign-ins to this account from your address." in page
    # Ada at home is not locked out; the guesser's address is, until its oldest guess is old enough.
    assert (await sign_in_from(app, HOME)).status_code == 303
    clock.advance(899)
    assert wait_of(await sign_in_from(app, "203.0.113.5")) == 1
    clock.advance(1)
    assert (await sign_in_from(app, "203.0.113.5")).status_code == 303


@throttled
async def test_guesses_from_many_addresses_slow_the_name_down_with_a_growing_wait(app, ada, clock):
    addresses = (f"198.51.100.{number}" for number in range(1, 200))
    for _ in range(3):
        assert (await sign_in_from(app, next(addresses), password="guess")).status_code == 401
    waits = []
    for _ in range(8):
        refused = await sign_in_from(app, next(addresses), password="guess")
        waits.append(wait_of(refused))
        assert "Sign-ins to this account are slowed down" in await refused.get_data(as_text=True)
        clock.advance(waits[-1])
        assert (await sign_in_from(app, next(addresses), password="guess")).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    # Ada at home is not slowed down; from a new place she waits her turn like anyone, then gets in.
    assert (await sign_in_from(app, HOME)).status_code == 303
    clock.advance(30)
    wait = wait_of(await sign_in_from(app, NEW_PLACE))
    assert wait == 30
    clock.advance(wait)
    assert (await sign_in_from(app, NEW_PLACE)).status_code == 303


@throttled
async def test_a_name_nobody_has_slows_down_just_the_same(app, ada, clock):
    for number in range(3):
        await sign_in_from(app, f"198.51.100.{number}", name="nobody-here", password="guess")
    unknown = await sign_in_from(app, "198.51.100.50", name="nobody-here", password="guess")
    for number in range(3):
        await sign_in_from(app, f"198.51.100.{number}", password="guess")
    known = await sign_in_from(app, "198.51.100.50", password="guess")
    assert wait_of(unknown) == wait_of(known) == 1
    unknown_page, known_page = await unknown.get_data(as_text=True), await known.get_data(as_text=True)
    assert TOKENS.sub("", unknown_page) == TOKENS.sub("", known_page)


@throttled
async def test_a_wrong_password_from_home_still_counts_against_home(app, ada, clock):
    for _ in range(3):
        assert (await sign_in_from(app, HOME, password="a typo")).status_code == 401
    assert wait_of(await sign_in_from(app, HOME)) == 900
