"""The cycle collector, once the app serves: few passes under a burst of requests."""

from __future__ import annotations

import gc

import pytest

from app import create_app, garbage


# The collector is the process's, whatever the engine.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_serving_raises_the_collectors_thresholds_from_pythons_defaults(config):
    before = gc.get_threshold()
    try:
        gc.set_threshold(2_000, 10, 10)
        app = create_app(config)
        async with app.test_app():
            assert gc.get_threshold() == (garbage.YOUNGEST, *garbage.OLDER)
    finally:
        gc.set_threshold(*before)
