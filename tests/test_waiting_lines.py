"""The SQLite engine's lock: one holder at a time, first come first served, cancellation-safe."""

from __future__ import annotations

import asyncio

import pytest

from app.storage.turns import Turns


async def test_holders_take_turns_in_the_order_they_came():
    turns, order, inside = Turns(), [], []

    async def work(name: int) -> None:
        async with turns:
            inside.append(name)
            assert len(inside) == 1, "two holders at once"
            await asyncio.sleep(0)
            order.append(name)
            inside.remove(name)

    await asyncio.gather(*(work(n) for n in range(50)))
    assert order == list(range(50))
    assert not turns.locked()


async def test_a_waiter_cancelled_in_the_queue_does_not_block_the_rest():
    turns = Turns()
    await turns.__aenter__()
    cancelled = asyncio.create_task(turns.__aenter__())
    later = asyncio.create_task(turns.__aenter__())
    await asyncio.sleep(0)
    cancelled.cancel()
    await turns.__aexit__(None, None, None)
    await asyncio.wait_for(later, 1)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert turns.locked()
    await turns.__aexit__(None, None, None)
    assert not turns.locked()


async def test_a_waiter_cancelled_just_as_its_turn_came_passes_it_on():
    turns = Turns()
    await turns.__aenter__()
    unlucky = asyncio.create_task(turns.__aenter__())
    later = asyncio.create_task(turns.__aenter__())
    await asyncio.sleep(0)
    await turns.__aexit__(None, None, None)  # hands the lock to `unlucky`…
    unlucky.cancel()  # …which is cancelled before it runs
    await asyncio.wait_for(later, 1)
    assert turns.locked()
    await turns.__aexit__(None, None, None)
    assert not turns.locked()


async def test_with_several_places_no_more_than_that_many_hold_at_once():
    turns, inside, most = Turns(3), set(), 0

    async def work(name: int) -> None:
        nonlocal most
        async with turns:
            inside.add(name)
            most = max(most, len(inside))
            await asyncio.sleep(0.001)
            inside.discard(name)

    await asyncio.gather(*(work(n) for n in range(30)))
    assert most == 3
    assert not turns.locked()
